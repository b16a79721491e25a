"""CLI commands of this domain (filled in by its issue)."""

from agentrxiv.cli.main import app  # noqa: F401
