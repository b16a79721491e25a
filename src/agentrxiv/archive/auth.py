"""Write tokens: random bearer tokens stored only as SHA-256 hashes, tied to a lab, which
belongs to an owner (a person or organisation account; see ``archive.owners``).

A lab token may publish papers, add versions to its own lab's papers and review any paper;
an admin token may also withdraw papers and version anyone's. A verifier token (created only
by the operator, ``token create --verifier``) is the archive's own verifier: its
verifications have standing ``archive`` (``archive.standing``). Reads need no token, but a
campaign lab's token carries an access scope that the server applies to reads made with it
(``archive.scope``)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.tables import ApiToken, Lab, Owner, utcnow
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
    owner_id: int = 0
    owner_name: str = ""
    scope_campaign: str | None = None  # set on campaign lab tokens (archive.scope)
    scope_mode: str | None = None  # none | own | shared
    is_verifier: bool = False  # the archive's own verifier (standing ``archive``)


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


def get_or_create_owner(session: Session, name: str) -> Owner:
    """The owner account called ``name``, created if new."""
    name = name.strip()
    check_lab_name(name)  # the same rules: owners show up in listings and pages
    owner = session.scalar(select(Owner).where(Owner.name == name))
    if owner is None:
        owner = Owner(name=name)
        session.add(owner)
        session.flush()
    return owner


def get_or_create_lab(session: Session, name: str, owner: str | None = None) -> Lab:
    """The lab called ``name``, created if new under ``owner`` (default: an owner of the
    lab's own name). An existing lab of another owner is a configuration error."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigError("a lab name must have 1 to 200 characters")
    check_lab_name(name)
    lab = session.scalar(select(Lab).where(Lab.name == name))
    if lab is None:
        lab = Lab(name=name, owner_id=get_or_create_owner(session, owner or name).id)
        session.add(lab)
        session.flush()
    elif lab.owner_id is None:
        lab.owner_id = get_or_create_owner(session, owner or name).id
        session.flush()
    elif owner is not None and lab.owner is not None and lab.owner.name != owner.strip():
        raise ConfigError(
            f"lab {name} belongs to owner {lab.owner.name}, not {owner}",
            hint="omit --owner, or name the lab's owner",
        )
    return lab


def create_token(
    session: Session,
    lab: str,
    admin: bool = False,
    *,
    human: bool = False,
    expires_days: float | None = None,
    owner: str | None = None,
    scope: tuple[str, str] | None = None,
    verifier: bool = False,
) -> str:
    """Create a token for ``lab`` (created if new, under ``owner``); returns the only copy
    of the secret.

    ``human``: the token may post reviews with ``reviewer_kind: human``. ``expires_days``:
    the token stops working that many days from now (default: never). ``scope``:
    ``(campaign id, mode)`` the server applies to the token's reads. ``verifier``: the
    archive's own verifier (its verifications have standing ``archive``); only the operator
    may create one, so nothing reachable over HTTP passes it."""
    if expires_days is not None and not 0 < expires_days <= 100_000:
        raise ConfigError("--expires-days must be a positive number of days")
    row = get_or_create_lab(session, lab, owner)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=expires_days) if expires_days is not None else None
    session.add(
        ApiToken(
            lab_id=row.id,
            token_hash=hash_token(token),
            is_admin=admin,
            is_human=human,
            expires_at=expires,
            scope_campaign=scope[0] if scope else None,
            scope_mode=scope[1] if scope else None,
            is_verifier=verifier,
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
    owner = lab.owner if lab else None
    return Principal(
        lab_id=lab.id if lab else 0,
        lab_name=lab.name if lab else "",
        is_admin=row.is_admin,
        token_id=row.id,
        is_human=row.is_human,
        owner_id=owner.id if owner else 0,
        owner_name=owner.name if owner else "",
        scope_campaign=row.scope_campaign,
        scope_mode=row.scope_mode,
        is_verifier=row.is_verifier,
    )


@dataclass(frozen=True)
class TokenInfo:
    """What ``token list`` shows of a token (never the secret, only its hash's start)."""

    id: int
    lab: str
    owner: str
    kind: str  # admin | verifier | human | lab
    scope: str  # "-" or "<campaign>:<mode>"
    fingerprint: str
    created_at: datetime
    expires_at: datetime | None
    status: str  # active | revoked | expired


def _info(row: ApiToken, now: datetime) -> TokenInfo:
    kind = "admin" if row.is_admin else "verifier" if row.is_verifier else "lab"
    kind = "human" if kind == "lab" and row.is_human else kind
    expired = row.expires_at is not None and _aware(row.expires_at) <= now
    status = "revoked" if row.revoked else ("expired" if expired else "active")
    return TokenInfo(
        id=row.id,
        lab=row.lab.name if row.lab else "",
        owner=row.lab.owner.name if row.lab and row.lab.owner else "",
        kind=kind,
        scope=f"{row.scope_campaign}:{row.scope_mode}" if row.scope_campaign else "-",
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
