"""The AgentRxiv preprint server: storage, search, the JSON / arXiv / Atom APIs, web pages and
authentication. Its HTTP client lives in ``agentrxiv.client``."""
