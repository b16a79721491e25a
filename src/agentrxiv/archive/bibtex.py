"""BibTeX entries for papers (``@misc`` in the style arXiv exports), with every LaTeX special
character escaped so that titles, names and notes compile as written."""

from __future__ import annotations

import re

from agentrxiv.archive.atom import FeedEntry, abs_url, atom_datetime

BIBTEX_MEDIA_TYPE = "text/x-bibtex; charset=utf-8"
ARCHIVE_PREFIX = "AgentRxiv"
# Order matters only for the backslash, which is replaced in one pass by the regex below.
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))


def latex_escape(text: str) -> str:
    """``text`` with LaTeX special characters escaped and whitespace collapsed."""
    text = " ".join(text.split())
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], text)


def _author(name: str) -> str:
    escaped = latex_escape(name)
    # A name containing " and " would be split into two authors by BibTeX; brace it.
    return f"{{{escaped}}}" if re.search(r"\band\b", escaped, re.IGNORECASE) else escaped


def bibtex_entry(entry: FeedEntry, base_url: str) -> str:
    """One ``@misc`` entry citing ``entry`` (the paper, not one version)."""
    fields = {
        "title": latex_escape(entry.title),
        "author": " and ".join(_author(n) for n in entry.author_names),
        "year": atom_datetime(entry.published)[:4],
        "eprint": entry.paper_id,
        "archivePrefix": ARCHIVE_PREFIX,
        "primaryClass": latex_escape(entry.primary_category),
        "url": abs_url(base_url, entry.paper_id),
        "note": latex_escape(entry.display_comment or ""),
    }
    lines = [f"  {key} = {{{value}}}" for key, value in fields.items() if value]
    return f"@misc{{agentrxiv:{entry.paper_id},\n" + ",\n".join(lines) + "\n}\n"
