"""Research that accumulates code: which program a lab's experiments start from, and the
plan's change to it.

In ``shared`` and ``own`` access modes the start is the best *verified* technique in the
lab's scope (the best claimed one, labelled so, when nothing is verified yet): the parent
paper's ``technique.py`` with the experiment driver appended. In ``none`` mode, or when the
scope holds no technique on this benchmark, the start is the template rendered from the
plan's defaults. The plan chooses technique options (``technique_space``); the changed
program runs next to the unchanged start, so a paper is never worse on dev than its start.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

from agentrxiv.errors import AgentrxivError
from agentrxiv.lab.checkpoint import ParentTechnique, TechniqueChoiceRecord
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.lab.technique_space import (
    TechniqueOptions,
    cap_tokens,
    lenient,
    neighbour,
    options_of,
    render_driver,
    render_technique,
    with_options,
    worked_examples,
)
from agentrxiv.llm.errors import StructuredOutputError

log = logging.getLogger(__name__)
PAPERS_SCANNED = 200


def _rank(paper: Any) -> tuple[int, float]:
    """Verified papers first (by verified value), then claimed ones (by claimed value)."""
    if paper.verified_value is not None and paper.verification_status != "failed":
        return (0, -paper.verified_value)
    return (1, -(paper.claimed_value if paper.claimed_value is not None else -1.0))


def find_parent(rt: LabRuntime) -> ParentTechnique | None:
    """The best technique in the lab's access scope on its benchmark, or ``None``."""
    config = rt.config
    if rt.archive is None or config.archive_access == "none":
        return None
    filters: dict[str, Any] = {"campaign": config.campaign_id} if config.campaign_id else {}
    if config.archive_access == "own":
        filters["lab"] = config.archive_lab or config.lab_name
    spec = config.bench().spec
    try:
        papers = rt.archive.list(limit=PAPERS_SCANNED, **filters).items
    except AgentrxivError as exc:
        log.warning("no parent technique: the archive did not answer (%s)", exc)
        return None
    for summary in sorted((p for p in papers if not p.withdrawn), key=_rank):
        try:
            paper = rt.archive.get(summary.id)
        except AgentrxivError:
            continue
        technique = paper.technique or ""
        file, _, function = technique.rpartition(":")
        code = paper.code_files.get(file)
        on_bench = any(r.benchmark == spec and r.split == "dev" for r in paper.results)
        if code is None or function != "solve" or not on_bench:
            continue
        verified = _rank(summary)[0] == 0
        return ParentTechnique(
            paper_id=paper.id,
            title=paper.title,
            lab=paper.lab,
            code=code,
            label="verified" if verified else "claimed",
            value=summary.verified_value if verified else summary.claimed_value,
        )
    return None


def default_options(rt: LabRuntime) -> TechniqueOptions:
    """Today's seed as options: the plan's instruction and sample count, zero-shot."""
    plan = rt.state.plan
    samples = plan.samples if plan else 1
    bench = rt.config.bench()
    cap = min(rt.config.seed_max_tokens, bench.default_max_tokens or 1 << 30)
    return TechniqueOptions(
        samples=samples, temperature=0.7 if samples > 1 else 0.0, max_tokens=cap_tokens(cap)
    )


def start_options(rt: LabRuntime) -> TechniqueOptions | None:
    """The options the start program carries (``None``: a parent without an OPTIONS line)."""
    parent = rt.state.builds_on
    return options_of(parent.code) if parent else default_options(rt)


def describe_start(rt: LabRuntime) -> str:
    """What the experiments start from, for the plan's choice and the paper."""
    parent, options = rt.state.builds_on, start_options(rt)
    shown = options.describe() if options else "its own code (no options line)"
    if parent is None:
        return f"Start: the zero-shot template ({shown})."
    value = f"{parent.value:.3f}" if parent.value is not None else "n/a"
    return (
        f"Start: the technique of paper {parent.paper_id} '{parent.title}' "
        f"({parent.label} accuracy {value}): {shown}."
    )


def choose_technique(rt: LabRuntime, agent: Any, plan_json: str) -> TechniqueChoiceRecord:
    """The plan's options as a validated choice. Any reply yields options: what validates is
    taken, the rest stays as in the start. When the choice repeats the start (or no reply
    validates), a neighbour of the start is measured instead: one option changed, picked
    per lab and parent, so labs building on one parent try different neighbours."""
    start = start_options(rt) or default_options(rt)
    record = TechniqueChoiceRecord(start=start.model_dump())
    try:
        reply = agent.act(
            "plan",
            "choose_technique",
            TechniqueOptions,
            plan=plan_json,
            start=describe_start(rt),
            notes=rt.notes("plan"),
        )
    except StructuredOutputError as exc:
        record.options, record.source, record.error = start.model_dump(), "fallback", exc.message
        record.fell_back = sorted(TechniqueOptions.model_fields)
        options = start
    else:
        options, fell_back = lenient(reply.model_dump(exclude_unset=True), start)
        record.options, record.fell_back, record.source = options.model_dump(), fell_back, "model"
    if options == start:
        options, record.changed = neighbour(start, _neighbour_index(rt))
        record.options, record.source = options.model_dump(), "neighbour"
    return record


def _neighbour_index(rt: LabRuntime) -> int:
    """Which neighbour this lab tries: stable across resumes, different across labs and
    parents (a campaign's labs that build on one parent spread over the moves)."""
    parent = rt.state.builds_on
    key = f"{rt.config.lab_name}:{parent.paper_id if parent else 'template'}:{rt.state.round}"
    return zlib.crc32(key.encode())


def _instruction(rt: LabRuntime) -> str:
    plan = rt.state.plan
    return plan.technique_instruction if plan else ""


def driver(rt: LabRuntime) -> str:
    """The experiment driver for this lab's dev problems."""
    config, plan = rt.config, rt.state.plan
    bench = config.bench()
    return render_driver(
        name=plan.technique_name if plan else "technique",
        benchmark=bench.spec,
        limit=config.problem_limit,
        max_tokens=min(config.seed_max_tokens, bench.default_max_tokens or 1 << 30),
        concurrency=config.experiment_concurrency,
        held_out=worked_examples(bench).held_out,
    )


def template_technique(rt: LabRuntime, options: TechniqueOptions) -> str:
    """The technique template rendered with ``options``."""
    plan = rt.state.plan
    name = plan.technique_name if plan else "technique"
    bench = rt.config.bench()
    return render_technique(options, name, _instruction(rt), worked_examples(bench))


def start_program(rt: LabRuntime) -> tuple[str, str]:
    """The first program and its origin: the parent's technique or the zero-shot template."""
    parent = rt.state.builds_on
    if parent is not None:
        return parent.code.rstrip() + "\n" + driver(rt), "parent"
    return template_technique(rt, default_options(rt)) + driver(rt), "seed"


def plan_program(rt: LabRuntime) -> str | None:
    """The start program changed to the plan's options (``None`` if they change nothing)."""
    choice = rt.state.technique
    if choice is None:
        return None
    new = TechniqueOptions.model_validate(choice.options)
    start = start_options(rt)
    if start == new:
        return None
    parent = rt.state.builds_on
    if parent is not None and start is not None:
        changed = with_options(parent.code, start, new, _instruction(rt))
        if changed is not None:
            return changed.rstrip() + "\n" + driver(rt)
    return template_technique(rt, new) + driver(rt)


def lineage_note(state: Any) -> str:
    """Code-written lines for the results section: what the experiments started from, the
    options measured (the plan's, or a neighbour when the plan repeated the start), how that
    change measured against the unchanged start, and the variants tried on dev."""
    exp = state.experiments
    if not exp.tried:
        return ""
    start, best = exp.tried[0], exp.best()
    plan = next((p for p in exp.tried if p.origin == "plan"), None)
    lines = []
    if state.builds_on is not None:
        parent = state.builds_on
        lines.append(
            f"The experiments started from the technique of paper {parent.paper_id} "
            f"('{parent.title}', chosen as the best {parent.label} technique in this lab's "
            "access scope)."
        )
    choice = state.technique
    if choice is not None:
        chosen = TechniqueOptions.model_validate(choice.options).describe()
        lines.append(
            "The plan's technique options repeated the start's, so the lab measured a "
            f"neighbour of the start ({choice.changed}): {chosen}."
            if choice.changed
            else f"The plan chose the technique options: {chosen}."
        )
    if plan is not None and start.score is not None:
        if plan.score is None:
            lines.append("The plan's change failed to run; the unchanged start stands.")
        elif plan.score <= start.score:
            lines.append(
                f"The plan's change did not help on dev ({plan.score:.3f} against "
                f"{start.score:.3f} for the unchanged start)."
            )
        else:
            lines.append(
                f"The plan's change measured {plan.score:.3f} on dev against {start.score:.3f} "
                "for the unchanged start."
            )
    if best is not None and best.id == start.id and state.builds_on is not None:
        lines.append("No variant beat the parent's technique on dev: this paper reports it.")
    lines.append(
        f"Variants measured on dev before the reported one was chosen: {exp.variants_measured()}."
    )
    return " ".join(lines)
