"""HTTP routes, one module per family: papers (JSON API), search, arxiv (arXiv API),
feeds (Atom, BibTeX), pages (HTML)."""
