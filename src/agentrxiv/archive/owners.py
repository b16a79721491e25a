"""Owners over HTTP: minting tokens for an owner's own labs, reserved names, and charging
writes and costly reads to the owner's (or the client address's) limits.

Every lab belongs to one owner (a person or organisation account). An owner's token may
mint tokens for the owner's existing labs or create a new lab under the owner; it may not
touch another owner's lab (admins excepted). Campaign-scoped tokens may mint nothing, so a
campaign lab cannot step outside its scope."""

from __future__ import annotations

from sqlalchemy import select

from agentrxiv.archive.auth import Principal, check_lab_name, create_token
from agentrxiv.archive.db import Database
from agentrxiv.archive.limits import (
    WriteKind,
    WriteLimits,
    consume,
    count_use,
    precheck,
    subject_of,
)
from agentrxiv.archive.schemas import LabToken
from agentrxiv.archive.tables import ApiToken, Lab
from agentrxiv.errors import ArchiveError, ForbiddenError

# Names a lab, owner or campaign may not take over HTTP: they read as the server's own roles.
# (The operator may still create them with the CLI, e.g. a site-wide verifier lab.)
RESERVED_NAMES = frozenset(
    {
        "admin",
        "administrator",
        "agentrxiv",
        "anonymous",
        "api",
        "archive",
        "moderator",
        "operator",
        "root",
        "server",
        "staff",
        "system",
        "verifier",
    }
)


def check_not_reserved(name: str, what: str = "lab") -> None:
    """422 when ``name`` is one of the server's reserved names (any letter case)."""
    if name.strip().lower() in RESERVED_NAMES:
        raise ArchiveError(
            f"{what} name {name!r} is reserved",
            status=422,
            hint=f"reserved names: {', '.join(sorted(RESERVED_NAMES))}",
        )


def refuse_scoped(principal: Principal, action: str) -> None:
    """403 for a campaign-scoped token: it writes papers for its lab, nothing more."""
    if principal.scope_campaign and not principal.is_admin:
        raise ForbiddenError(
            f"a campaign lab token may not {action}",
            hint="use the campaign owner's token",
        )


def charge(db: Database, principal: Principal, kind: WriteKind, limits: WriteLimits) -> None:
    """Count one write of ``kind`` against the owner's limits, in its own transaction (for
    writes whose code counts nothing itself); 429 when over."""
    with db.read() as session:
        precheck(session, principal, kind, limits)
    with db.write() as session:
        consume(session, principal, kind, limits)


def charge_costly_read(
    db: Database, principal: Principal | None, address: str, limits: WriteLimits
) -> None:
    """Count a semantic/hybrid search or novelty check: per owner with a token, per client
    address without one; admins are exempt. 429 when over."""
    if principal is not None and (principal.is_admin or not principal.token_id):
        return
    if limits.costly_reads_per_minute <= 0:
        return
    if principal is not None:
        subject = subject_of(principal)
        who = f"owner {principal.owner_name}" if principal.owner_name else "this token"
    else:
        subject, who = f"client:{address[:100]}", f"client {address[:100]}"
    with db.write() as session:
        count_use(session, subject, "costly_read", limits, who)


def _inherited_scope(session: object, lab: Lab) -> tuple[str, str] | None:
    """The scope of a campaign lab's tokens, which every new token of it keeps."""
    row = session.scalar(  # type: ignore[attr-defined]
        select(ApiToken)
        .where(ApiToken.lab_id == lab.id, ApiToken.scope_campaign.is_not(None))
        .limit(1)
    )
    return (row.scope_campaign, row.scope_mode or "none") if row else None


def mint_for_lab(db: Database, principal: Principal, lab: str, limits: WriteLimits) -> LabToken:
    """A new token for ``lab``: an existing lab of the caller's owner, or a new lab created
    under that owner. Another owner's lab: 403 (admins excepted)."""
    refuse_scoped(principal, "mint tokens")
    name = lab.strip()
    check_lab_name(name)
    with db.read() as session:
        precheck(session, principal, "token", limits)
    with db.write() as session:
        existing = session.scalar(select(Lab).where(Lab.name == name))
        if existing is None:
            check_not_reserved(name)
            owner = principal.owner_name or principal.lab_name
            token = create_token(session, name, owner=owner)
            scope = None
        else:
            if not principal.is_admin and (
                not principal.owner_id or existing.owner_id != principal.owner_id
            ):
                raise ForbiddenError(
                    f"lab {name} belongs to another owner",
                    hint="an owner's token mints tokens only for the owner's own labs",
                )
            scope = _inherited_scope(session, existing)
            owner = existing.owner.name if existing.owner else ""
            token = create_token(session, name, scope=scope)
        consume(session, principal, "token", limits)
    return LabToken(campaign_id=scope[0] if scope else None, lab=name, token=token, owner=owner)
