"""A submission made ready to store: text the databases can hold, a decoded and checked
PDF, the flattened author text, and the search embedding. All of it runs before the write
transaction opens, so nothing slow holds the database lock.

The search index is reached through ``agentrxiv.archive.search.index`` (``prepare_embedding``
here, ``index_version`` inside the transaction)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from agentrxiv.archive.attachments import decode_attachment
from agentrxiv.archive.schemas import Author, PaperCreate
from agentrxiv.archive.search import index as search_index
from agentrxiv.archive.tables import PaperVersion
from agentrxiv.errors import ArchiveError


def prepare_embedding(text_fields: dict[str, str]) -> bytes | None:
    """Embed a version's text before the write transaction (None when embedding is off)."""
    return search_index.prepare_embedding(text_fields)


def index_version(session: Session, version: PaperVersion, replaced: PaperVersion | None) -> None:
    """Add ``version`` to the search index (inside the write transaction)."""
    search_index.index_version(session, version, replaced)


@dataclass
class PreparedVersion:
    """A validated submission with everything computed outside the transaction."""

    data: PaperCreate
    pdf: bytes | None
    authors_text: str
    embedding: bytes | None
    # (name, media type, bytes) of each checked figure (``archive.attachments``).
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


def decode_pdf(pdf_base64: str | None) -> bytes | None:
    """Decode and check an uploaded PDF (422 when it is not base64 or not a PDF)."""
    if pdf_base64 is None:
        return None
    try:
        pdf = base64.b64decode(pdf_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ArchiveError("pdf_base64 is not valid base64", status=422) from exc
    if not pdf.startswith(b"%PDF"):
        raise ArchiveError("pdf_base64 does not decode to a PDF (no %PDF header)", status=422)
    return pdf


def decode_attachments(data: PaperCreate) -> list[tuple[str, str, bytes]]:
    """Check each attachment (images only, size-limited, unique names); 413/422 otherwise."""
    decoded: dict[str, tuple[str, str, bytes]] = {}
    for item in data.attachments:
        if item.name in decoded:
            raise ArchiveError(f"attachment {item.name} is sent twice", status=422)
        media_type, content = decode_attachment(item.name, item.content_base64)
        decoded[item.name] = (item.name, media_type, content)
    return list(decoded.values())


def authors_text(authors: Iterable[Author]) -> str:
    """Author names, labs and models flattened for keyword search."""
    words: list[str] = []
    for author in authors:
        words.extend([author.name, author.lab, *author.models])
    return " ".join(w for w in words if w)


def check_storable_text(value: Any, where: str = "request") -> None:
    """422 for text a database cannot store: NUL characters or lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ArchiveError(f"{where} contains a NUL character", status=422)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ArchiveError(f"{where} is not valid Unicode text", status=422) from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable_text(key, where)
            check_storable_text(item, f"{where}.{key}" if where != "request" else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_storable_text(item, f"{where}.{index}")


def prepare(data: PaperCreate, embed: bool = True) -> PreparedVersion:
    """Validate the PDF and compute search text and embedding before any lock is taken."""
    check_storable_text(data.model_dump())
    pdf = decode_pdf(data.pdf_base64)
    attachments = decode_attachments(data)
    names = authors_text(data.authors)
    fields = {
        "title": data.title,
        "abstract": data.abstract,
        "authors": names,
        "categories": " ".join(data.categories),
        "body": data.body,
    }
    embedding = prepare_embedding(fields) if embed else None
    return PreparedVersion(
        data=data, pdf=pdf, authors_text=names, embedding=embedding, attachments=attachments
    )
