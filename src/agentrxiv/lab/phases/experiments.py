"""Phase 4, running experiments (mle-solver).

Start from a working seed program rendered from the plan; each step samples candidates
(whole replacement or line edits) from the kept programs, runs each in the sandbox, repairs
on error (bounded), ranks by the MEASURED metric in ``result.json`` (the model only breaks
exact ties), keeps the top programs and reflects. If every candidate fails, the seed's
measured result stands.
"""

from __future__ import annotations

import logging

from agentrxiv.archive.technique import defined_function
from agentrxiv.lab import accumulate
from agentrxiv.lab.actions import (
    EditProgram,
    ProgramChange,
    ProgramCommand,
    Reflection,
    ReplaceProgram,
    TieBreak,
)
from agentrxiv.lab.checkpoint import ExperimentState, LabState, ProgramRecord
from agentrxiv.lab.runtime import LabPhaseError, LabRuntime
from agentrxiv.llm.errors import StructuredOutputError

log = logging.getLogger(__name__)
KEPT_REFLECTIONS = 5


def reset(state: LabState) -> None:
    """Forget all programs."""
    state.experiments = ExperimentState()


def artifact(state: LabState) -> str:
    """The kept programs' scores and the best result."""
    exp = state.experiments
    lines = [f"- {p.id} ({p.origin}): {p.score}" for p in exp.kept]
    tried = len(exp.tried)
    failed = sum(1 for p in exp.tried if p.score is None)
    lines.append(f"{tried} programs tried, {failed} failed; reflections: {exp.reflections}")
    return "\n".join(lines)


def seed_program(rt: LabRuntime) -> str:
    """The working first program: the parent's technique (shared/own access with a parent in
    scope) or the template rendered from the plan's defaults; never model-written."""
    return accumulate.start_program(rt)[0]


def numbered(code: str) -> str:
    """The program with 1-based line numbers, for edit commands."""
    return "\n".join(f"{i:4d}| {line}" for i, line in enumerate(code.splitlines(), 1))


def apply_change(code: str, change: ProgramChange) -> tuple[str, str]:
    """The changed program and an error ("" if fine): bad line ranges and syntax errors."""
    if isinstance(change, ReplaceProgram):
        new = change.code
    else:
        assert isinstance(change, EditProgram)
        lines = code.splitlines()
        if change.end < change.start or change.end > len(lines):
            return code, f"edit lines {change.start}-{change.end} out of range 1-{len(lines)}"
        new = "\n".join(lines[: change.start - 1] + change.lines + lines[change.end :]) + "\n"
    try:
        compile(new, "program.py", "exec")
    except SyntaxError as exc:
        return new, f"SyntaxError: {exc.msg} (line {exc.lineno})"
    return new, ""


def comparable(result: dict, seed: dict) -> str:
    """Why a candidate's result cannot be ranked against the seed's ("" if it can)."""
    for key in ("benchmark", "metric", "n"):
        if result.get(key) != seed.get(key):
            return f"result {key}={result.get(key)!r} but the experiment measures {seed.get(key)!r}"
    return ""


def run_program(rt: LabRuntime, record: ProgramRecord, name: str) -> ProgramRecord:
    """Run ``record.code`` in the sandbox and fill in its score or error. A program must
    define its technique as a top-level ``solve(problem, model) -> str`` (it is published)."""
    if why := defined_function(record.code, "solve"):
        record.error = f"the program must define its technique as solve(problem, model): {why}"
        return record
    run = rt.runner.run(record.code, name)
    record.figures = run.figures
    if not run.ok:
        record.error = run.error
        return record
    assert run.result is not None
    exp = rt.state.experiments
    seed = exp.tried[0].result if exp.seed_done and exp.tried else None
    if seed is not None and (why := comparable(run.result, seed)):
        record.error = why
        return record
    record.result, record.score, record.error = run.result, float(run.result["value"]), ""
    return record


def candidate(rt: LabRuntime, engineer, parent: ProgramRecord, step: int, index: int):  # noqa: ANN001
    """One candidate: a change from the engineer, run, and bounded repairs on error."""
    exp, config = rt.state.experiments, rt.config
    record = ProgramRecord(
        id=f"r{rt.state.round}s{step}c{index}", code=parent.code, origin="invalid", parent=parent.id
    )
    try:
        command = engineer.act(
            "experiments",
            "improve",
            ProgramCommand,
            step=step,
            score=parent.score,
            plan=rt.state.plan.model_dump_json() if rt.state.plan else "",
            reflections=" | ".join(exp.reflections),
            notes=rt.notes("experiments"),
            program=numbered(parent.code),
        )
    except StructuredOutputError as exc:
        record.error = f"no valid change: {exc.message}"
        return record
    record.origin = command.change.command
    record.code, error = apply_change(parent.code, command.change)
    while True:
        if not error:
            run_program(rt, record, f"{record.id}-try{record.repairs}")
            if record.score is not None:
                return record
            error = record.error
        record.error = error
        if record.repairs >= config.mle_max_repairs:
            return record
        record.repairs += 1
        rt.progress.update(step=f"step {step + 1} candidate {index + 1} repair {record.repairs}")
        try:
            fix = engineer.act(
                "experiments", "repair", ProgramCommand, error=error, program=numbered(record.code)
            )
        except StructuredOutputError as exc:
            record.error = f"no valid repair: {exc.message}"
            return record
        record.code, error = apply_change(record.code, fix.change)


def keep_top(rt: LabRuntime, engineer, new: list[ProgramRecord]) -> None:  # noqa: ANN001
    """Keep the best programs by measured score; the engineer only breaks exact ties."""
    exp = rt.state.experiments
    pool = exp.kept + [p for p in new if p.score is not None]
    pool.sort(key=lambda p: -(p.score or 0.0))  # stable: older programs win ties by default
    if len(pool) > 1 and pool[0].score == pool[1].score and pool[0].code != pool[1].code:
        try:
            pick = engineer.act(
                "experiments", "tie_break", TieBreak, first=pool[0].code, second=pool[1].code
            )
            if pick.choice == 1:
                pool[0], pool[1] = pool[1], pool[0]
        except StructuredOutputError:
            pass
    exp.kept = pool[: rt.config.mle_top_programs]


def reflect(rt: LabRuntime, engineer, new: list[ProgramRecord]) -> None:  # noqa: ANN001
    """Ask for the lesson of this step (skipped if the model cannot answer)."""
    outcomes = "\n".join(
        f"- {p.id} ({p.origin}, {p.repairs} repairs): "
        + (f"accuracy {p.score}" if p.score is not None else f"failed: {p.error[:300]}")
        for p in new
    )
    try:
        text = engineer.act("experiments", "reflect", Reflection, outcomes=outcomes).text
    except StructuredOutputError:
        return
    exp = rt.state.experiments
    exp.reflections = (exp.reflections + [text])[-KEPT_REFLECTIONS:]


def run_start(rt: LabRuntime) -> None:
    """The start program (a parent that fails here gives way to the template seed)."""
    exp = rt.state.experiments
    rt.progress.update(step="seed program")
    code, origin = accumulate.start_program(rt)
    name = f"r{rt.state.round}seed"
    seed = run_program(rt, ProgramRecord(id=name, code=code, origin=origin), name)
    if seed.score is None and origin == "parent":
        log.warning("the parent technique failed here (%s); starting from the template", seed.error)
        rt.state.builds_on = None
        code, origin = accumulate.start_program(rt)
        retry = ProgramRecord(id=f"{name}t", code=code, origin=origin)
        seed = run_program(rt, retry, retry.id)
    exp.tried.append(seed)
    if seed.score is None:
        raise LabPhaseError(f"the seed experiment failed: {seed.error[-500:]}")
    exp.kept, exp.seed_done = [seed], True
    rt.checkpoint()


def run_plan_change(rt: LabRuntime, engineer) -> None:  # noqa: ANN001
    """The start changed to the plan's technique options, ranked against the unchanged start."""
    exp = rt.state.experiments
    code = accumulate.plan_program(rt)
    if code is not None:
        rt.progress.update(step="plan's technique options")
        name = f"r{rt.state.round}plan"
        record = run_program(
            rt, ProgramRecord(id=name, code=code, origin="plan", parent=exp.kept[0].id), name
        )
        exp.tried.append(record)
        keep_top(rt, engineer, [record])
    exp.plan_done = True
    rt.checkpoint()


def run(rt: LabRuntime) -> str:
    """The start, the plan's change, then bounded solver steps, each checkpointed."""
    exp, config = rt.state.experiments, rt.config
    if not exp.seed_done:
        run_start(rt)
    engineer = rt.agent("ml_engineer", "experiments")
    if not exp.plan_done:
        run_plan_change(rt, engineer)
    while exp.step < config.mle_solver_steps:
        for index in range(len(exp.pending), config.mle_candidates):
            rt.progress.update(
                step=f"step {exp.step + 1}/{config.mle_solver_steps} "
                f"candidate {index + 1}/{config.mle_candidates}"
            )
            parent = exp.kept[index % len(exp.kept)]
            exp.pending.append(candidate(rt, engineer, parent, exp.step, index))
            rt.checkpoint()
        keep_top(rt, engineer, exp.pending)
        reflect(rt, engineer, exp.pending)
        exp.tried += exp.pending
        exp.pending = []
        exp.step += 1
        rt.checkpoint()
    best = exp.best()
    assert best is not None
    failed = sum(1 for p in exp.tried if p.score is None)
    return (
        f"best {best.id} ({best.origin}) {best.score:.3f}; {failed}/{len(exp.tried)} failed; "
        f"{exp.variants_measured()} variants measured on dev"
    )
