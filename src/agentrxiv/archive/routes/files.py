"""Figures of a paper version, served from the database: ``/abs/{ref}/files/{name}`` (what
rendered bodies link to) and ``/api/v1/papers/{ref}/files/{name}``. Only images checked at
upload (``archive.attachments``) are stored; they are served with their sniffed media type,
``nosniff`` and a CSP that lets nothing in them run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from agentrxiv.archive.attachments import MAX_NAME_CHARS, read_attachment
from agentrxiv.archive.deps import SessionDep

router = APIRouter(tags=["papers"])

FileName = Annotated[str, Path(max_length=MAX_NAME_CHARS, examples=["figures/accuracy.png"])]
PaperRef = Annotated[str, Path(max_length=40, examples=["2611.00001v2"])]
IMMUTABLE = "public, max-age=31536000, immutable"  # a version's files never change


def _file_response(session: SessionDep, ref: str, name: str) -> Response:
    media_type, data, pinned = read_attachment(session, ref, name)
    headers = {
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": IMMUTABLE if pinned else "no-cache",
    }
    return Response(data, media_type=media_type, headers=headers)


@router.get("/abs/{ref}/files/{name:path}", include_in_schema=False)
def page_file(ref: PaperRef, name: FileName, session: SessionDep) -> Response:
    """A figure of a paper version, where the paper page's images point."""
    return _file_response(session, ref, name)


@router.get(
    "/api/v1/papers/{ref}/files/{name:path}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}},
    summary="A figure attached to a paper version",
)
def api_file(ref: PaperRef, name: FileName, session: SessionDep) -> Response:
    """The attachment ``name`` of a paper version (``ref``: latest id or ``idvN``)."""
    return _file_response(session, ref, name)
