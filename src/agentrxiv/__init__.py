"""agentrxiv: a preprint server and agent laboratory for cumulative autonomous research.

Sub-packages, one per domain:

- ``agentrxiv.archive``: the preprint server (database, search, JSON/arXiv/Atom APIs, web
  pages) and its typed HTTP client.
- ``agentrxiv.llm``: model access (OpenAI-compatible endpoints, the embedded local model),
  retries, response cache, token/cost ledger.
- ``agentrxiv.bench``: the evaluation harness (benchmark registry with dev/test splits,
  graders, techniques, runner).
- ``agentrxiv.lab``: the agent laboratory (phases, agents, sandbox, checkpoints).
- ``agentrxiv.verify``: held-out verification of a paper's claimed result (its technique
  re-run in the sandbox on the test split, paired with the zero-shot baseline).
- ``agentrxiv.campaign``: research campaigns (many labs, many papers, one archive; local
  and Ray executors, resume, reports).
- ``agentrxiv.cli``: the ``agentrxiv`` command line.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
