"""FastAPI dependencies shared by every route module: the database, a read session, the
settings, the bearer-token principal (``CurrentLab``) or an admin (``AdminDep``), and the
access scope of a read's token (``ReadScope``)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from agentrxiv.archive.auth import Principal, authenticate
from agentrxiv.archive.db import Database
from agentrxiv.archive.scope import Scope, scope_of
from agentrxiv.config import Settings
from agentrxiv.errors import AuthError, ForbiddenError

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A write token from `agentrxiv token create LAB`; reads need none.",
)


def get_database(request: Request) -> Database:
    """The app's database (engine and session factories)."""
    return request.app.state.db


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session(db: DatabaseDep) -> Iterator[Session]:
    """A read session for one request (writes go through ``Database.write``)."""
    with db.read() as session:
        yield session


def _released_when_the_endpoint_returns(dependency: Any) -> Any:
    """``Depends(dependency)`` whose exit code runs as soon as the endpoint returns, before
    the response is serialised and sent (FastAPI >= 0.121, ``scope="function"``).

    Endpoints return finished Pydantic models or responses, so the session is not needed
    after that; giving its connection back at once keeps a request that waits for a thread
    to serialise its response from holding a pooled connection meanwhile."""
    if "scope" in inspect.signature(Depends).parameters:
        return Depends(dependency, scope="function")
    return Depends(dependency)


SessionDep = Annotated[Session, _released_when_the_endpoint_returns(get_session)]


def current_lab(
    db: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The lab behind the request's bearer token; 401 when missing or invalid."""
    with db.read() as session:
        return authenticate(session, credentials.credentials if credentials else None)


CurrentLab = Annotated[Principal, Depends(current_lab)]


def require_admin(principal: CurrentLab) -> Principal:
    """An admin principal; 403 for lab tokens."""
    if not principal.is_admin:
        raise ForbiddenError("this needs an admin token")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


def optional_lab(
    db: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal | None:
    """The lab behind a read's bearer token, if it sent a valid one. Reads need no token, so
    an unknown, revoked or expired one reads as no token (the next write gets the 401)."""
    if credentials is None:
        return None
    try:
        with db.read() as session:
            return authenticate(session, credentials.credentials)
    except AuthError:
        return None


OptionalLab = Annotated[Principal | None, Depends(optional_lab)]


def read_scope(principal: OptionalLab) -> Scope | None:
    """The access scope the server applies to this read (``None``: the whole archive)."""
    return scope_of(principal)


ReadScope = Annotated[Scope | None, Depends(read_scope)]


def client_address(request: Request) -> str:
    """The client's address, the key of anonymous read limits (the peer the server sees;
    behind a reverse proxy, run uvicorn with --forwarded-allow-ips so it is the real one)."""
    return request.client.host if request.client else "unknown"
