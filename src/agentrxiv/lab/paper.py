"""The paper: results rendered from ``result.json`` by code, the number check that keeps
model-written text from inventing results, and Markdown / LaTeX assembly and compilation."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2

from agentrxiv.lab.actions import SECTIONS

log = logging.getLogger(__name__)

NUMBER_RE = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?%?(?![\w])")
REMOVED = "[number removed: not in the result file]"
# Small integers are allowed only as labels ("Figure 2", "Table 1", "step 3"); anywhere else
# ("n = 10") a number must come from the result file or the given context.
LABEL_BEFORE = re.compile(r"(figure|fig\.|table|section|step|eq\.?|equation|appendix)\s*$", re.I)
SMALL_LABEL = 20
SECTION_TITLES = {name: name.replace("_", " ").title() for name in SECTIONS}
LATEX_SPECIALS = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\^{}"}


def _template_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agentrxiv.lab", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["pyrepr"] = repr
    env.filters["pct"] = lambda v: f"{100 * float(v):.1f}%"
    env.filters["latex"] = latex_escape
    return env


def render_template(name: str, **context: Any) -> str:
    """Render one of ``lab/templates``."""
    return _template_env().get_template(name).render(**context)


def numbers_in(value: Any) -> list[float]:
    """Every number inside a JSON value (strings included), recursively."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, str):
        return [float(m.group().rstrip("%")) for m in NUMBER_RE.finditer(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)] + numbers_in(list(value))
    if isinstance(value, list | tuple):
        return [n for v in value for n in numbers_in(v)]
    return []


def allowed_numbers(result: dict[str, Any], context: list[str] = ()) -> list[float]:
    """Numbers a model may write: those in the result (also as percentages) and the context."""
    base = numbers_in(result)
    return base + [100 * n for n in base if abs(n) <= 1] + numbers_in(list(context))


def _is_rounding_of(token: str, allowed: list[float], before: str = "") -> bool:
    text = token.rstrip("%")
    value = float(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    is_label = decimals == 0 and "%" not in token and 0 <= value <= SMALL_LABEL
    if is_label and LABEL_BEFORE.search(before):
        return True
    tolerance = 0.5 * 10**-decimals + 1e-9
    return any(abs(value - a) <= tolerance for a in allowed)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def collapse_repeats(text: str) -> str:
    """Drop sentences that repeat an earlier one verbatim (small models loop)."""
    seen: set[str] = set()
    kept = []
    for sentence in SENTENCE_END.split(text.strip()):
        key = sentence.strip().lower()
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(sentence)
    return " ".join(kept)


def strip_unsupported_numbers(text: str, allowed: list[float]) -> tuple[str, int]:
    """Replace numbers not produced by the experiment (or given as context); count them."""
    removed = 0

    def check(match: re.Match[str]) -> str:
        nonlocal removed
        before = match.string[max(0, match.start() - 12) : match.start()]
        if _is_rounding_of(match.group(), allowed, before):
            return match.group()
        removed += 1
        return REMOVED

    return NUMBER_RE.sub(check, text), removed


def render_results(result: dict[str, Any], figures: list[str]) -> str:
    """The results section's measured part, rendered from ``result.json``."""
    return render_template("results.md.j2", r=result, d=result.get("details", {}), figures=figures)


def assemble_markdown(
    title: str, sections: dict[str, str], meta: dict[str, Any], references: list[dict[str, str]]
) -> str:
    """The paper as Markdown: title, byline, the 8 sections, references."""
    return render_template(
        "paper.md.j2",
        title=title,
        sections=[(SECTION_TITLES[n], sections.get(n, "")) for n in SECTIONS],
        meta=meta,
        references=references,
    )


def latex_escape(text: str) -> str:
    """Escape LaTeX specials in plain text."""
    return "".join(LATEX_SPECIALS.get(c, c) for c in str(text))


def tex_engine() -> str | None:
    """The TeX engine on PATH (pdflatex or tectonic), if any."""
    for engine in ("pdflatex", "tectonic"):
        if shutil.which(engine):
            return engine
    return None


def compile_latex(
    out_dir: Path, title: str, sections: dict[str, str], figures: list[Path], timeout_s: int = 120
) -> Path | None:
    """Write ``paper.tex`` and compile it; the PDF path, or ``None`` without an engine/on error."""
    engine = tex_engine()
    if engine is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    for fig in figures:
        shutil.copy(fig, out_dir / fig.name)
    tex = render_template(
        "paper.tex.j2",
        title=title,
        sections=[(SECTION_TITLES[n], sections.get(n, "")) for n in SECTIONS],
        figures=[f.name for f in figures],
    )
    (out_dir / "paper.tex").write_text(tex, encoding="utf-8")
    cmd = [engine, "paper.tex"] if engine == "tectonic" else [engine, "-interaction=nonstopmode"]
    if engine == "pdflatex":
        cmd.append("paper.tex")
    try:
        proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("LaTeX compilation failed: %s", exc)
        return None
    pdf = out_dir / "paper.pdf"
    if proc.returncode != 0 or not pdf.exists():
        log.warning(
            "LaTeX compilation failed (exit %s); keeping the Markdown paper", proc.returncode
        )
        return None
    return pdf
