"""Small file helpers every layer may use: atomic text writes and YAML config files read
with one-line ``ConfigError`` messages."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from agentrxiv.errors import ConfigError


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and rename, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_yaml_config(path: Path, kind: str) -> object:
    """The parsed YAML of the ``kind`` config file at ``path`` (e.g. ``"lab config"``);
    ``ConfigError`` when the file is missing or not valid YAML."""
    if not path.is_file():
        raise ConfigError(f"{kind} not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
