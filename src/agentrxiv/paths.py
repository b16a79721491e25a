"""Where agentrxiv keeps its data: ``$AGENTRXIV_HOME`` (default ``~/.agentrxiv``)."""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    """The data directory, created on first use."""
    raw = os.environ.get("AGENTRXIV_HOME") or str(Path.home() / ".agentrxiv")
    path = Path(raw).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    """SQLite database file under the data directory."""
    return f"sqlite:///{home_dir() / 'archive.sqlite'}"
