"""Write tokens: random bearer tokens stored only as SHA-256 hashes, tied to a lab.

A lab token may publish papers, add versions to its own lab's papers and review any paper;
an admin token may also withdraw papers and version anyone's. Reads need no token."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.tables import ApiToken, Lab, utcnow
from agentrxiv.errors import ArchiveError, AuthError, ConfigError

TOKEN_PREFIX = "arx_"
# Unreserved URL characters only, so a lab page link needs no escaping.
LAB_NAME_RE = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")


@dataclass(frozen=True)
class Principal:
    """Who is writing: the lab behind a valid token."""

    lab_id: int
    lab_name: str
    is_admin: bool
    token_id: int = 0  # 0: not a stored token (tests, in-process tools); limits skip it
    is_human: bool = False


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_lab_name(name: str) -> None:
    """422 unless ``name`` fits in a URL path segment as it is (``/labs/<name>``)."""
    if not LAB_NAME_RE.match(name) or name in (".", ".."):
        raise ArchiveError(
            f"invalid lab name {name[:80]!r}: use 1-200 letters, digits, '.', '-', '_' or '~' "
            "(the name is a URL path segment, /labs/<name>)",
            status=422,
        )


def get_or_create_lab(session: Session, name: str) -> Lab:
    """The lab called ``name``, created if new."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigError("a lab name must have 1 to 200 characters")
    check_lab_name(name)
    lab = session.scalar(select(Lab).where(Lab.name == name))
    if lab is None:
        lab = Lab(name=name)
        session.add(lab)
        session.flush()
    return lab


def create_token(
    session: Session,
    lab: str,
    admin: bool = False,
    *,
    human: bool = False,
    expires_days: float | None = None,
) -> str:
    """Create a token for ``lab`` (created if new); returns the only copy of the secret.

    ``human``: the token may post reviews with ``reviewer_kind: human``. ``expires_days``:
    the token stops working that many days from now (default: never)."""
    if expires_days is not None and not 0 < expires_days <= 100_000:
        raise ConfigError("--expires-days must be a positive number of days")
    owner = get_or_create_lab(session, lab)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=expires_days) if expires_days is not None else None
    session.add(
        ApiToken(
            lab_id=owner.id,
            token_hash=hash_token(token),
            is_admin=admin,
            is_human=human,
            expires_at=expires,
        )
    )
    session.flush()
    return token


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value: datetime | None) -> str:
    return _aware(value).strftime("%Y-%m-%d %H:%M UTC") if value else "an unknown date"


def authenticate(session: Session, token: str | None) -> Principal:
    """The principal behind ``token``; 401 when it is missing, unknown, revoked or expired."""
    if not token:
        raise AuthError(
            "missing bearer token", hint="send 'Authorization: Bearer <token>'; see 'token create'"
        )
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        raise AuthError("invalid or revoked token: no such token on this server")
    if row.revoked:
        raise AuthError(
            f"this token was revoked on {_day(row.revoked_at)}",
            hint="ask the server's operator for a new one ('agentrxiv token create')",
        )
    if row.expires_at is not None and _aware(row.expires_at) <= utcnow():
        raise AuthError(
            f"this token expired on {_day(row.expires_at)}",
            hint="ask the server's operator for a new one ('agentrxiv token create')",
        )
    lab = row.lab
    return Principal(
        lab_id=lab.id if lab else 0,
        lab_name=lab.name if lab else "",
        is_admin=row.is_admin,
        token_id=row.id,
        is_human=row.is_human,
    )


@dataclass(frozen=True)
class TokenInfo:
    """What ``token list`` shows of a token (never the secret, only its hash's start)."""

    id: int
    lab: str
    kind: str  # admin | human | lab
    fingerprint: str
    created_at: datetime
    expires_at: datetime | None
    status: str  # active | revoked | expired


def _info(row: ApiToken, now: datetime) -> TokenInfo:
    kind = "admin" if row.is_admin else ("human" if row.is_human else "lab")
    expired = row.expires_at is not None and _aware(row.expires_at) <= now
    status = "revoked" if row.revoked else ("expired" if expired else "active")
    return TokenInfo(
        id=row.id,
        lab=row.lab.name if row.lab else "",
        kind=kind,
        fingerprint=row.token_hash[:12],
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at) if row.expires_at else None,
        status=status,
    )


def list_tokens(session: Session, lab: str | None = None) -> list[TokenInfo]:
    """Every token (of ``lab`` if given), oldest first."""
    query = select(ApiToken).order_by(ApiToken.id)
    if lab is not None:
        query = query.join(Lab, ApiToken.lab_id == Lab.id).where(Lab.name == lab)
    now = utcnow()
    return [_info(row, now) for row in session.scalars(query)]


def revoke_token(session: Session, ref: str) -> TokenInfo:
    """Revoke a token named by its id (from ``token list``) or by the secret itself."""
    ref = ref.strip()
    if ref.startswith(TOKEN_PREFIX):
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(ref)))
    elif ref.isdigit():
        row = session.get(ApiToken, int(ref))
    else:
        raise ConfigError(f"name a token by its id from 'token list' or by the token, not {ref!r}")
    if row is None:
        raise ConfigError(f"no token {ref if ref.isdigit() else '(the one given)'} on this server")
    if not row.revoked:
        row.revoked, row.revoked_at = True, utcnow()
        session.flush()
    return _info(row, utcnow())
