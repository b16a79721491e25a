"""agentrxiv: a preprint server and agent laboratory for cumulative autonomous research.

Sub-packages, one per domain, from the bottom layer up (``lint-imports`` checks that each
imports only the ones below it):

- ``agentrxiv.llm``: model access (OpenAI-compatible endpoints, the embedded local model),
  retries, response cache, token/cost ledger.
- ``agentrxiv.archive``: the preprint server (database, search, JSON/arXiv/Atom APIs, web
  pages); ``agentrxiv.bench``: the evaluation harness (benchmark registry with dev/test
  splits, graders, techniques, runner). Neither imports the other.
- ``agentrxiv.client``: the archive's typed HTTP client.
- ``agentrxiv.sandbox``: the security boundary for untrusted generated code.
- ``agentrxiv.verify``: held-out verification of a paper's claimed result (its technique
  re-run in the sandbox on the test split, paired with the zero-shot baseline).
- ``agentrxiv.lab``: the agent laboratory (phases, agents, checkpoints, typed run result).
- ``agentrxiv.campaign``: research campaigns (many labs, many papers, one archive; local
  and Ray executors, resume, reports).
- ``agentrxiv.cli``: the ``agentrxiv`` command line.
- ``agentrxiv.testing``: test doubles for the tests and benchmarks (not product code).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
