"""The format of paper ids (``YYMM.NNNNN``) and of references to a version
(``YYMM.NNNNNvN``). Pure text rules, shared by the schemas, the client-facing API and the
database code; allocating new ids is ``archive.ids``."""

from __future__ import annotations

import re

from agentrxiv.errors import NotFoundError

PAPER_ID_RE = re.compile(r"^\d{4}\.\d{5}$")
PAPER_REF_RE = re.compile(r"^(?P<id>\d{4}\.\d{5})(?:v(?P<version>[1-9]\d{0,5}))?$")


def is_paper_id(value: str) -> bool:
    """Whether ``value`` looks like ``YYMM.NNNNN``."""
    return bool(PAPER_ID_RE.match(value))


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``2611.00042`` or ``2611.00042v2`` -> (id, version or None); 404 for anything else."""
    match = PAPER_REF_RE.match(ref.strip())
    if not match:
        raise NotFoundError(f"no paper {ref!r}: paper ids look like YYMM.NNNNN (e.g. 2611.00042)")
    version = match.group("version")
    return match.group("id"), int(version) if version else None
