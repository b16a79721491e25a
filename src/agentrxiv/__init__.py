"""agentrxiv: a preprint server and agent laboratory for cumulative autonomous research.

Sub-packages, one per domain:

- ``agentrxiv.archive``: the preprint server (database, search, JSON/arXiv/Atom APIs, web
  pages) and its typed HTTP client.
- ``agentrxiv.llm``: model access (OpenAI-compatible endpoints, the embedded local model),
  retries, response cache, token/cost ledger.
- ``agentrxiv.bench``: the MATH-500 evaluation harness (loader, grader, techniques, runner).
- ``agentrxiv.lab``: the agent laboratory (phases, agents, sandbox, checkpoints).
- ``agentrxiv.cli``: the ``agentrxiv`` command line.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
