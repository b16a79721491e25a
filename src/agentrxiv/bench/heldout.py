"""The secret that keeps generated benchmarks' test splits held out.

A generated benchmark (``arith``) draws its dev split and few-shot examples from the public
seed, and its test split from the seed *and* this secret: anyone may regenerate dev, but
only a process holding the secret can produce the test problems or their answers. The
secret is ``$AGENTRXIV_HOME/heldout.key`` (32 random bytes, hex), created with mode 0600 on
first use by the verifier (or server) that needs the test split.

The lab's sandbox never sees it: ``$AGENTRXIV_HOME`` is never mounted there and the
environment is rebuilt from an allow-list. A sandboxed program that asks for the test split
gets one drawn from a key of its own (a fresh file under its own home), disjoint from the
real one except by chance. See docs/verify.md for the threat model."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from agentrxiv.errors import ConfigError
from agentrxiv.paths import home_dir

SECRET_FILE = "heldout.key"
SECRET_BYTES = 32


def secret_path() -> Path:
    """Where this process's held-out secret lives."""
    return home_dir() / SECRET_FILE


def heldout_secret() -> str:
    """The held-out secret, created (mode 0600, never overwritten) on first use."""
    path = secret_path()
    if not path.exists():
        _create_once(path)
    try:
        value = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the held-out secret {path}: {exc}") from exc
    if len(value) < 2 * SECRET_BYTES:
        raise ConfigError(
            f"the held-out secret {path} is damaged (shorter than {2 * SECRET_BYTES} hex digits)",
            hint="restore it from a backup; a new one would change every test split",
        )
    return value


def _create_once(path: Path) -> None:
    """Write a new secret to a private file, then hard-link it into place: the link appears
    complete or not at all, and never replaces a secret another process linked first, so
    concurrent first uses (two verifier threads) all read the same full secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError:
        pass  # another process or thread created it first: theirs is the secret
    except OSError as exc:
        raise ConfigError(f"cannot create the held-out secret {path}: {exc}") from exc
    finally:
        draft.unlink(missing_ok=True)
