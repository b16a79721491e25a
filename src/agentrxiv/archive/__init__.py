"""The AgentRxiv preprint server: storage, search, the JSON / arXiv / Atom APIs, web pages,
authentication, and the typed HTTP client that labs use to publish and retrieve papers."""
