"""Settings: command-line flags override ``AGENTRXIV_*`` environment variables, which
override the defaults below. ``get_settings()`` is cached; tests clear it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentrxiv.paths import default_db_url, home_dir


class Settings(BaseSettings):
    """Every setting, with its default and help text (documented in docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="AGENTRXIV_", extra="ignore")

    home: Path = Field(default_factory=home_dir, description="Data directory.")
    db: str = Field(default="", description="Database URL; default SQLite under home.")
    host: str = Field(default="127.0.0.1", description="Address the server binds to.")
    port: int = Field(default=8000, description="Port the server listens on.")
    base_url: str = Field(
        default="", description="Public URL of the server (links in feeds); default from host/port."
    )
    max_body_bytes: int = Field(
        default=20 * 1024 * 1024, description="Largest request body the server accepts (413 above)."
    )
    server: str = Field(default="http://127.0.0.1:8000", description="Server URL for clients.")
    token: str = Field(default="", description="Write token for clients.")
    embedding_model: str = Field(
        default="", description="Sentence-transformers model path; default the packaged MiniLM."
    )
    embed_on_write: bool = Field(
        default=True, description="Embed papers when stored (semantic search needs it)."
    )

    def database_url(self) -> str:
        """The database URL to use: the explicit one or SQLite under home."""
        return self.db or default_db_url()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
