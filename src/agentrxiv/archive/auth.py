"""Write tokens: random bearer tokens stored only as SHA-256 hashes, tied to a lab.

A lab token may publish papers, add versions to its own lab's papers and review any paper;
an admin token may also withdraw papers and version anyone's. Reads need no token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.tables import ApiToken, Lab
from agentrxiv.errors import AuthError, ConfigError

TOKEN_PREFIX = "arx_"


@dataclass(frozen=True)
class Principal:
    """Who is writing: the lab behind a valid token."""

    lab_id: int
    lab_name: str
    is_admin: bool


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def get_or_create_lab(session: Session, name: str) -> Lab:
    """The lab called ``name``, created if new."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigError("a lab name must have 1 to 200 characters")
    lab = session.scalar(select(Lab).where(Lab.name == name))
    if lab is None:
        lab = Lab(name=name)
        session.add(lab)
        session.flush()
    return lab


def create_token(session: Session, lab: str, admin: bool = False) -> str:
    """Create a token for ``lab`` (created if new); returns the only copy of the secret."""
    owner = get_or_create_lab(session, lab)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(lab_id=owner.id, token_hash=hash_token(token), is_admin=admin))
    session.flush()
    return token


def authenticate(session: Session, token: str | None) -> Principal:
    """The principal behind ``token``; 401 when it is missing, unknown or revoked."""
    if not token:
        raise AuthError(
            "missing bearer token", hint="send 'Authorization: Bearer <token>'; see 'token create'"
        )
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked:
        raise AuthError("invalid or revoked token")
    lab = row.lab
    return Principal(
        lab_id=lab.id if lab else 0, lab_name=lab.name if lab else "", is_admin=row.is_admin
    )
