"""Phase 3, data preparation: the SW engineer writes data-loading code, run in the sandbox
(bounded attempts, errors fed back); if none runs, the lab's template loader is used."""

from __future__ import annotations

from agentrxiv.lab.actions import SubmitCode
from agentrxiv.lab.checkpoint import DataPrepState, LabState
from agentrxiv.lab.paper import render_template
from agentrxiv.lab.runtime import LabPhaseError, LabRuntime
from agentrxiv.llm.errors import StructuredOutputError


def reset(state: LabState) -> None:
    """Forget the data preparation."""
    state.data_prep = None


def artifact(state: LabState) -> str:
    """What the data program printed."""
    prep = state.data_prep
    return f"({prep.source} code)\n{prep.stdout}" if prep else "No data prepared."


def run(rt: LabRuntime) -> str:
    """Try the agent's code, then fall back to the template; record which one ran."""
    error = ""
    attempts = rt.config.data_prep_attempts
    engineer = rt.agent("sw_engineer", "data_prep")
    for attempt in range(attempts):
        rt.progress.update(step=f"attempt {attempt + 1}/{attempts}")
        try:
            code = engineer.act(
                "data_prep", "data_prep", SubmitCode, error=error, notes=rt.notes("data_prep")
            ).code
        except StructuredOutputError as exc:
            error = exc.message
            continue
        run = rt.runner.run(code, f"round{rt.state.round}-data_prep-{attempt}", with_model=False)
        if run.ok and run.stdout.strip():
            rt.state.data_prep = DataPrepState(
                code=code, stdout=run.stdout, attempts=attempt + 1, source="agent"
            )
            return f"agent code ran (attempt {attempt + 1})"
        error = run.error or "the program printed nothing"
    code = render_template("data_prep.py.j2", limit=rt.config.problem_limit)
    run = rt.runner.run(code, f"round{rt.state.round}-data_prep-template", with_model=False)
    if not run.ok:
        raise LabPhaseError(f"the data could not be loaded: {run.error}")
    rt.state.data_prep = DataPrepState(
        code=code, stdout=run.stdout, attempts=attempts, source="template"
    )
    return f"agent code failed {attempts}x; template loader used"
