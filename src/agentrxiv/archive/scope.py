"""Access scopes of campaign lab tokens, applied by the server to every read made with one.

A campaign lab's token carries its campaign and the campaign's access mode (fixed when the
campaign is created). Under ``none`` and ``own`` the token reads only its own lab's papers;
under ``shared`` only its campaign's. Reads without a token or with an unscoped token see the
whole (public) archive: a scope isolates an experiment, it does not make papers secret."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.tables import Lab, Paper
from agentrxiv.errors import ArchiveError, ForbiddenError, NotFoundError

ACCESS_MODES = ("none", "own", "shared")


@dataclass(frozen=True)
class Scope:
    """What a token may read: papers of ``lab`` (none/own) or of ``campaign`` (shared)."""

    campaign: str
    mode: str
    lab: str
    lab_id: int

    @property
    def lab_only(self) -> bool:
        """Whether only the token's own lab's papers are in scope."""
        return self.mode != "shared"

    def describe(self) -> str:
        """For error messages."""
        where = f"lab {self.lab}" if self.lab_only else f"campaign {self.campaign}"
        return f"this token reads only {where} (campaign {self.campaign}, mode {self.mode})"


def scope_of(principal: Principal | None) -> Scope | None:
    """The scope of a request's token; ``None`` for no token or an unscoped one."""
    if principal is None or not principal.scope_campaign:
        return None
    mode = principal.scope_mode if principal.scope_mode in ACCESS_MODES else "none"
    return Scope(principal.scope_campaign, mode, principal.lab_name, principal.lab_id)


def campaign_mode(config: dict[str, Any] | None) -> str:
    """A campaign's access mode from its stored config (``shared`` when it names none)."""
    mode = (config or {}).get("mode", "shared")
    if mode not in ACCESS_MODES:
        raise ArchiveError(
            f"unknown campaign access mode {mode!r}; use one of {', '.join(ACCESS_MODES)}",
            status=422,
        )
    return str(mode)


def conditions(scope: Scope | None) -> list[ColumnElement[bool]]:
    """SQL conditions on ``Paper`` that keep a query inside ``scope``."""
    if scope is None:
        return []
    if scope.lab_only:
        return [Paper.lab_id == scope.lab_id]
    return [Paper.campaign_id == scope.campaign]


def narrowed(scope: Scope | None, *, campaign: str | None, lab: str | None) -> dict[str, Any]:
    """Request filters ``campaign``/``lab`` narrowed to ``scope``; 403 if they ask outside it."""
    if scope is None:
        return {"campaign": campaign, "lab": lab}
    if scope.lab_only:
        if lab not in (None, scope.lab):
            raise ForbiddenError(f"lab {lab} is outside this token's scope", hint=scope.describe())
        return {"campaign": campaign, "lab": scope.lab}
    if campaign not in (None, scope.campaign):
        raise ForbiddenError(
            f"campaign {campaign} is outside this token's scope", hint=scope.describe()
        )
    return {"campaign": scope.campaign, "lab": lab}


def narrow_filters(filters: Any, scope: Scope | None) -> Any:
    """A frozen dataclass of filters (``campaign``, ``lab`` fields) narrowed to ``scope``."""
    if scope is None:
        return filters
    return replace(filters, **narrowed(scope, campaign=filters.campaign, lab=filters.lab))


def in_scope(paper: Paper, scope: Scope | None) -> bool:
    """Whether ``paper`` may be read with ``scope``."""
    if scope is None:
        return True
    if scope.lab_only:
        return paper.lab_id == scope.lab_id
    return paper.campaign_id == scope.campaign


def check_paper(session: Session, paper_id: str, scope: Scope | None) -> None:
    """404 (as if it did not exist) for a paper outside ``scope``."""
    if scope is None:
        return
    paper = session.get(Paper, paper_id)
    if paper is not None and not in_scope(paper, scope):
        raise NotFoundError(f"no paper {paper_id} within this token's scope", hint=scope.describe())


def paper_ids_in(session: Session, scope: Scope) -> set[str]:
    """Every paper id inside ``scope`` (for the novelty check's candidate set)."""
    query = select(Paper.id).join(Lab, Lab.id == Paper.lab_id).where(*conditions(scope))
    return set(session.scalars(query))
