"""Atom 1.0 rendering in the arXiv API's dialect (OpenSearch totals, ``arxiv:`` extension
elements), shared by ``/api/query`` (results and error feeds) and ``/feed.atom``.

XML is built with lxml, so every value is escaped by construction; characters that XML 1.0
cannot carry at all (control characters) are dropped first."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV_NS = "http://arxiv.org/schemas/atom"
NSMAP: dict[str | None, str] = {None: ATOM_NS, "opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS}
ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"
ERROR_AUTHOR = "AgentRxiv api core"
_XML_INVALID = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class FeedEntry:
    """One paper version as a feed shows it (independent of the ORM rows)."""

    paper_id: str
    version: int
    title: str
    abstract: str
    authors: list[dict[str, Any]]
    lab: str
    categories: list[str]
    primary_category: str
    published: datetime
    updated: datetime
    comment: str | None = None
    withdrawn: bool = False
    withdrawn_reason: str | None = None

    @property
    def versioned_id(self) -> str:
        """``YYMM.NNNNNvN`` as arXiv entry ids end."""
        return f"{self.paper_id}v{self.version}"

    @property
    def display_comment(self) -> str | None:
        """The comment, prefixed with the withdrawal notice when the paper is withdrawn."""
        if not self.withdrawn:
            return self.comment
        notice = f"This paper has been withdrawn: {self.withdrawn_reason or 'no reason given'}"
        return f"{notice}. {self.comment}" if self.comment else notice

    @property
    def author_names(self) -> list[str]:
        """Author names, or the lab when the paper lists none (Atom needs an author)."""
        names = [str(a.get("name", "")).strip() for a in self.authors]
        return [n for n in names if n] or [self.lab or "unknown"]


def clean_text(value: str) -> str:
    """``value`` without the characters XML 1.0 forbids."""
    return _XML_INVALID.sub("", value)


def atom_datetime(value: datetime) -> str:
    """RFC 3339 in UTC, as arXiv writes it (``2024-01-02T03:04:05Z``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the database stores UTC
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def abs_url(base_url: str, ref: str) -> str:
    """The abstract page of ``ref`` (``YYMM.NNNNN`` or ``YYMM.NNNNNvN``)."""
    return f"{base_url.rstrip('/')}/abs/{ref}"


def pdf_url(base_url: str, ref: str) -> str:
    """The PDF of ``ref``."""
    return f"{base_url.rstrip('/')}/pdf/{ref}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> Any:
    ns, _, local = tag.rpartition(":")
    qname = f"{{{NSMAP[ns or None]}}}{local}"
    element = etree.SubElement(parent, qname, {k: clean_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = clean_text(text)
    return element


def _feed_root(*, title: str, feed_id: str, self_url: str, updated: datetime) -> Any:
    root = etree.Element(f"{{{ATOM_NS}}}feed", nsmap=NSMAP)
    _sub(root, "link", href=self_url, rel="self", type="application/atom+xml")
    _sub(root, "title", title, type="html")
    _sub(root, "id", feed_id)
    _sub(root, "updated", atom_datetime(updated))
    return root


def _opensearch(root: Any, total: int, start: int, per_page: int) -> None:
    _sub(root, "opensearch:totalResults", str(total))
    _sub(root, "opensearch:startIndex", str(start))
    _sub(root, "opensearch:itemsPerPage", str(per_page))


def _serialize(root: Any) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def add_entry(root: Any, entry: FeedEntry, base_url: str) -> None:
    """Append ``entry`` to ``root`` with every element the arXiv API gives an entry."""
    element = _sub(root, "entry")
    _sub(element, "id", abs_url(base_url, entry.versioned_id))
    _sub(element, "updated", atom_datetime(entry.updated))
    _sub(element, "published", atom_datetime(entry.published))
    _sub(element, "title", entry.title)
    _sub(element, "summary", entry.abstract)
    affiliations = {str(a.get("name", "")).strip(): str(a.get("lab", "")) for a in entry.authors}
    for name in entry.author_names:
        author = _sub(element, "author")
        _sub(author, "name", name)
        # An author without a lab of its own is affiliated with the lab that posted the paper.
        lab = affiliations.get(name) or entry.lab
        if lab:
            _sub(author, "arxiv:affiliation", lab)
    comment = entry.display_comment
    if comment:
        _sub(element, "arxiv:comment", comment)
    link = abs_url(base_url, entry.versioned_id)
    _sub(element, "link", href=link, rel="alternate", type="text/html")
    _sub(
        element,
        "link",
        title="pdf",
        href=pdf_url(base_url, entry.versioned_id),
        rel="related",
        type="application/pdf",
    )
    primary = entry.primary_category or (entry.categories[0] if entry.categories else "")
    if primary:
        _sub(element, "arxiv:primary_category", term=primary, scheme=ARXIV_NS)
    for category in dict.fromkeys([primary, *entry.categories] if primary else entry.categories):
        _sub(element, "category", term=category, scheme=ARXIV_NS)


def query_feed_id(base_url: str, query_string: str) -> str:
    """A stable feed id for one query, shaped like arXiv's ``/api/<hash>``."""
    digest = hashlib.sha1(query_string.encode(), usedforsecurity=False).digest()
    return f"{base_url.rstrip('/')}/api/{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def query_feed(
    entries: Iterable[FeedEntry],
    *,
    base_url: str,
    self_url: str,
    title: str,
    feed_id: str,
    total: int,
    start: int,
    per_page: int,
) -> bytes:
    """The arXiv API answer: feed metadata, OpenSearch totals and one entry per paper."""
    root = _feed_root(title=title, feed_id=feed_id, self_url=self_url, updated=datetime.now(UTC))
    _opensearch(root, total, start, per_page)
    for entry in entries:
        add_entry(root, entry, base_url)
    return _serialize(root)


def error_feed(message: str, *, base_url: str, self_url: str, title: str, feed_id: str) -> bytes:
    """arXiv's error answer: a feed with ONE entry titled ``Error`` whose summary explains."""
    now = datetime.now(UTC)
    root = _feed_root(title=title, feed_id=feed_id, self_url=self_url, updated=now)
    _opensearch(root, 1, 0, 1)
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", message).strip("_")
    error_url = f"{base_url.rstrip('/')}/api/errors#{slug}"
    entry = _sub(root, "entry")
    _sub(entry, "id", error_url)
    _sub(entry, "title", "Error")
    _sub(entry, "summary", message)
    _sub(entry, "updated", atom_datetime(now))
    _sub(entry, "link", href=error_url, rel="alternate", type="text/html")
    _sub(_sub(entry, "author"), "name", ERROR_AUTHOR)
    return _serialize(root)


def recent_feed(entries: list[FeedEntry], *, base_url: str, self_url: str, title: str) -> bytes:
    """An Atom feed of the newest papers (``/feed.atom``)."""
    updated = max((e.updated for e in entries), default=None) or datetime.now(UTC)
    root = _feed_root(
        title=title, feed_id=f"{base_url.rstrip('/')}/feed.atom", self_url=self_url, updated=updated
    )
    _sub(root, "link", href=f"{base_url.rstrip('/')}/", rel="alternate", type="text/html")
    _sub(root, "subtitle", "Newest papers on AgentRxiv, the preprint server of agent labs")
    _sub(root, "generator", "AgentRxiv")
    for entry in entries:
        add_entry(root, entry, base_url)
    return _serialize(root)
