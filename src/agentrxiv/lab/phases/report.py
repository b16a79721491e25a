"""Phase 6, report writing (paper-solver): the 8-section scaffold filled section by section
(the PhD agent writes ``report_written_sections``, code renders the rest), then bounded edit
steps. Numbers in model-written text that the result file (or the given
context) does not contain are removed; the results table is rendered by code."""

from __future__ import annotations

import shutil
from pathlib import Path

from agentrxiv.lab import accumulate
from agentrxiv.lab.actions import SECTIONS, EditSection, PaperTitle, WriteSection
from agentrxiv.lab.checkpoint import LabState, ReportState
from agentrxiv.lab.paper import (
    allowed_numbers,
    assemble_markdown,
    collapse_repeats,
    compile_latex,
    render_results,
    strip_unsupported_numbers,
)
from agentrxiv.lab.phases.interpretation import best_result, measured_comparison
from agentrxiv.lab.phases.literature import describe
from agentrxiv.lab.phases.references import drop_unresolved_citations, reference_steps
from agentrxiv.lab.rendered_sections import rendered_section
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.llm.errors import StructuredOutputError

PAPER_DIR = "paper"
REVIEW_CHARS = 6_000
MISSING = "*(This section could not be written: the model gave no valid text.)*"


def reset(state: LabState) -> None:
    """Forget the paper."""
    state.report = ReportState()


def artifact(state: LabState) -> str:
    """The paper's Markdown (shortened)."""
    path = Path(state.report.paper_path) if state.report.paper_path else None
    if path and path.exists():
        return path.read_text(encoding="utf-8")[:REVIEW_CHARS]
    return "No paper yet."


def _context_numbers(rt: LabRuntime) -> list[str]:
    plan = rt.state.plan.model_dump_json() if rt.state.plan else ""
    return [rt.config.topic, plan, describe(rt.state), rt.state.interpretation]


def _figure_paths(rt: LabRuntime) -> list[Path]:
    best = rt.state.experiments.best()
    if best is None:
        return []
    runs = rt.lab_dir / "runs"
    found = []
    for rel in best.figures:
        matches = sorted(runs.glob(f"{best.id}*/{rel}"))
        if matches:
            found.append(matches[-1])
    return found


def markdown(rt: LabRuntime) -> str:
    """The full paper: model sections (checked) around the code-rendered results."""
    st, result = rt.state.report, best_result(rt.state)
    figures = [p.name for p in _figure_paths(rt)]
    sections = dict(st.sections)
    measured = render_results(result, figures) + "\n\n" + accumulate.lineage_note(rt.state)
    sections["results"] = measured + "\n\n" + sections.get("results", "")
    models = sorted({rt.config.model_for(p) for p in ("plan", "report", "review")})
    meta = {"lab": rt.config.lab_name, "models": models, "target": rt.config.target_model}
    papers = rt.state.literature.papers
    refs = [{"id": p.paper_id, "title": p.title, "source": p.source, "url": p.url} for p in papers]
    return assemble_markdown(st.title, sections, meta, refs)


def _checked(rt: LabRuntime, text: str, allowed: list[float]) -> str:
    known = {p.paper_id.lower() for p in rt.state.literature.papers}
    text, dropped = drop_unresolved_citations(text, known)  # no invented references
    clean, removed = strip_unsupported_numbers(collapse_repeats(text), allowed)
    rt.state.report.stripped_numbers += removed
    rt.state.report.dropped_citations += dropped
    return clean


def write_sections(rt: LabRuntime, allowed: list[float]) -> None:
    """Fill every missing section, one checkpoint per section."""
    st, phd = rt.state.report, rt.agent("phd", "report")
    plan = rt.state.plan
    if not st.title:
        try:
            st.title = phd.act("report", "title", PaperTitle, plan=plan.model_dump_json()).title
        except StructuredOutputError:
            st.title = plan.title if plan else rt.config.topic
        st.title = _checked(rt, st.title, allowed)
    results_text = measured_comparison(best_result(rt.state))
    for name in SECTIONS:
        if name in st.sections:
            continue
        if name not in rt.config.report_written_sections:
            st.sections[name] = rendered_section(rt, name)  # from the measurements, no model
            continue
        rt.progress.update(step=f"section {name}")
        try:
            text = phd.act(
                "report",
                "write_section",
                WriteSection,
                section=name,
                plan=plan.model_dump_json() if plan else "",
                results=results_text,
                interpretation=rt.state.interpretation,
                literature=describe(rt.state),
                notes=rt.notes("report"),
            ).text
        except StructuredOutputError:
            text = MISSING
        st.sections[name] = _checked(rt, text, allowed)
        rt.checkpoint()


def edit_steps(rt: LabRuntime, allowed: list[float]) -> None:
    """Bounded improvement steps by the Professor, one checkpoint per step."""
    st, config = rt.state.report, rt.config
    professor = rt.agent("professor", "report")
    while st.edit_step < config.paper_solver_steps:
        rt.progress.update(step=f"edit {st.edit_step + 1}/{config.paper_solver_steps}")
        try:
            edit = professor.act(
                "report",
                "edit_section",
                EditSection,
                step=st.edit_step + 1,
                sections=list(SECTIONS),
                paper=markdown(rt)[:REVIEW_CHARS],
            )
            st.sections[edit.section] = _checked(rt, edit.text, allowed)
        except StructuredOutputError:
            pass
        st.edit_step += 1
        rt.checkpoint()


def run(rt: LabRuntime) -> str:
    """Write, edit, then save the Markdown paper (and a PDF when TeX is present)."""
    st = rt.state.report
    reference_steps(rt)  # before the sections, so they can cite what it adds
    allowed = allowed_numbers(best_result(rt.state), _context_numbers(rt))
    write_sections(rt, allowed)
    edit_steps(rt, allowed)
    out = rt.lab_dir / PAPER_DIR
    (out / "figures").mkdir(parents=True, exist_ok=True)
    figures = _figure_paths(rt)
    for fig in figures:
        shutil.copy(fig, out / "figures" / fig.name)
    path = out / "paper.md"
    path.write_text(markdown(rt), encoding="utf-8")
    st.paper_path = str(path)
    pdf = compile_latex(out / "latex", st.title, st.sections, figures) if rt.config.latex else None
    st.pdf_path = str(pdf) if pdf else ""
    kind = "Markdown + PDF" if pdf else "Markdown"
    dropped = (
        f", {st.dropped_citations} unresolved citations dropped" if st.dropped_citations else ""
    )
    return (
        f"{kind} paper, {st.edit_step} edits, {st.stripped_numbers} unsupported numbers removed"
        + dropped
    )
