"""A paper's full text: text extracted from its PDF, then cut to the agent's context budget
with the sections that matter (abstract, introduction, method, results, conclusion) kept
first and references and appendices dropped first.

The extractor is pypdfium2 (PDFium's text layer), picked by ``benchmarks/pdf_text_bench.py``
against pypdf and pdfminer.six: the same word recall on our PDFs at a fraction of the time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Heading words by kind; the first matching kind names the section.
SECTION_KINDS: dict[str, tuple[str, ...]] = {
    "abstract": ("abstract",),
    "introduction": ("introduction",),
    "method": ("method", "methods", "methodology", "approach", "model", "technique"),
    "results": ("results", "experiments", "experimental results", "evaluation", "findings"),
    "conclusion": ("conclusion", "conclusions", "summary", "discussion and conclusion"),
    "drop": ("references", "bibliography", "acknowledgments", "acknowledgements", "appendix"),
}
PRIORITY = ("abstract", "introduction", "method", "results", "conclusion")
HEADING_RE = re.compile(
    r"^\s*(?:(?:\d+|[IVX]+|[A-Z])(?:\.\d+)*\.?\s+)?([A-Za-z][A-Za-z &\-]{2,40}?)\s*:?\s*$"
)
OMITTED = "[...]"


@dataclass
class Section:
    """A heading (``""`` for the text before the first one) and its text."""

    heading: str
    kind: str
    text: str


def pdf_text(data: bytes) -> str:
    """The text layer of a PDF, page by page."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(pages).replace("\r\n", "\n").replace("\r", "\n")
    finally:
        pdf.close()


def _kind(line: str) -> str | None:
    match = HEADING_RE.match(line)
    if not match or len(line) > 60:
        return None
    word = match.group(1).strip().lower()
    for kind, names in SECTION_KINDS.items():
        if word in names:
            return kind
    return None


def split_sections(text: str) -> list[Section]:
    """The text cut at lines that look like known section headings."""
    sections = [Section("", "preamble", "")]
    for line in text.splitlines():
        kind = _kind(line)
        if kind:
            sections.append(Section(line.strip(), kind, ""))
        else:
            sections[-1].text += line + "\n"
    return [s for s in sections if s.text.strip() or s.heading]


def _allot(sections: list[Section], budget: int) -> list[int]:
    """Characters kept per section: priority kinds share the budget first, then the rest."""
    keep = [0] * len(sections)
    order = sorted(
        range(len(sections)),
        key=lambda i: PRIORITY.index(sections[i].kind) if sections[i].kind in PRIORITY else 9,
    )
    preferred = [i for i in order if sections[i].kind in (*PRIORITY, "preamble")]
    others = [i for i in order if sections[i].kind not in (*PRIORITY, "preamble", "drop")]
    left = budget
    share = budget // max(1, len(preferred))
    for i in preferred:  # a fair share each, so a long introduction cannot starve results
        keep[i] = min(len(sections[i].text), share)
        left -= keep[i]
    for i in preferred + others + [i for i in order if sections[i].kind == "drop"]:
        extra = min(len(sections[i].text) - keep[i], left)
        keep[i] += extra
        left -= extra
    return keep


def truncate_sections(text: str, budget: int) -> str:
    """``text`` within ``budget`` characters, the sections that matter kept first."""
    text = re.sub(r"[ \t]+", " ", text).strip()
    if len(text) <= budget:
        return text
    sections = split_sections(text)
    if len(sections) <= 1:
        return text[:budget]
    overhead = sum(len(s.heading) + len(OMITTED) + 4 for s in sections)
    parts = []
    for section, chars in zip(sections, _allot(sections, max(0, budget - overhead)), strict=True):
        if not chars:
            continue
        body = section.text.strip()
        cut = body[:chars].rstrip() + (f" {OMITTED}" if chars < len(body) else "")
        parts.append(f"{section.heading}\n{cut}".strip() if section.heading else cut)
    return "\n\n".join(p for p in parts if p)[:budget]
