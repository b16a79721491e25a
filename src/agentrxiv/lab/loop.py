"""The orchestrator: runs the phases in order with checkpoints, co-pilot answers, the review
loop back to planning, budget stops, a Rich progress view and a run summary at the end."""

from __future__ import annotations

import json
import logging
import time
from types import ModuleType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from agentrxiv.errors import AgentrxivError, ConfigError
from agentrxiv.files import atomic_write_text
from agentrxiv.lab import after_publish, insights
from agentrxiv.lab.checkpoint import LabState, load_state, save_state
from agentrxiv.lab.clock import PhaseClock
from agentrxiv.lab.clock import recover as recover_clock
from agentrxiv.lab.config import PHASES, LabConfig
from agentrxiv.lab.copilot import Copilot
from agentrxiv.lab.phases import (
    data_prep,
    experiments,
    interpretation,
    literature,
    plan,
    publish,
    report,
    review,
)
from agentrxiv.lab.runtime import ExperimentRunner, LabRuntime, ModelFactory
from agentrxiv.llm.ledger import Budget, Ledger

log = logging.getLogger(__name__)
PHASE_MODULES: dict[str, ModuleType] = {
    "literature": literature,
    "plan": plan,
    "data_prep": data_prep,
    "experiments": experiments,
    "interpretation": interpretation,
    "report": report,
    "review": review,
    "publish": publish,
}
ROUND_PHASES = PHASES[1:]  # what "back to planning" redoes (the literature review stays)
SUMMARY_JSON, SUMMARY_MD, LEDGER_FILE = "summary.json", "summary.md", "ledger.jsonl"


class RichProgress:
    """A live view of phase, step, tokens and cost (quiet when ``console`` is None)."""

    def __init__(self, console: Console | None, ledger: Ledger, lab: str) -> None:
        self.console, self.ledger, self.lab = console, ledger, lab
        self.phase, self.step = "", ""
        self.started = time.monotonic()
        self.live: Live | None = None

    def __enter__(self) -> RichProgress:
        if self.console is not None:
            self.live = Live(
                self._render(), console=self.console, refresh_per_second=2, transient=True
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def _render(self) -> Table:
        totals = self.ledger.totals(f"lab/{self.lab}")
        table = Table(title=f"agent lab {self.lab}", show_header=False)
        table.add_row("phase", self.phase or "-")
        table.add_row("step", self.step or "-")
        table.add_row("tokens", f"{totals.usage.total_tokens} ({totals.calls} calls)")
        table.add_row("cost", totals.cost_text())
        table.add_row("elapsed", f"{time.monotonic() - self.started:.0f}s")
        return table

    def update(self, phase: str | None = None, step: str | None = None) -> None:
        """Show the current phase and step."""
        if phase is not None:
            self.phase, self.step = phase, ""
        if step is not None:
            self.step = step
        if self.live is not None:
            self.live.update(Group(self._render()))


def _open_state(config: LabConfig, resume: bool) -> LabState:
    lab_dir = config.lab_dir
    state = load_state(lab_dir)
    if resume:
        if state is None:
            raise ConfigError(f"nothing to resume: no checkpoint in {lab_dir}")
        if state.fingerprint != config.fingerprint():
            raise ConfigError(
                f"the checkpoint in {lab_dir} was made with a different topic, model or data",
                hint="resume with the same config, or choose another lab_name/output_dir",
            )
        return state
    if state is not None:
        raise ConfigError(
            f"{lab_dir} already holds a lab run", hint="use --resume, or another lab_name"
        )
    return LabState(fingerprint=config.fingerprint())


def _budget(config: LabConfig, state: LabState) -> Budget:
    limit = config.budget.max_seconds
    remaining = None if limit is None else max(0.0, limit - state.elapsed_s)
    return Budget(config.budget.max_tokens, config.budget.max_usd, remaining)


def next_phase(state: LabState) -> str | None:
    """The first phase not yet completed in this round."""
    return next((p for p in PHASES if p not in state.completed), None)


def _after_review(rt: LabRuntime) -> None:
    decision = review.current_round(rt.state).decision
    if decision == review.REVISE:
        best = rt.state.experiments.best()
        rt.state.previous_rounds.append(
            {
                "round": rt.state.round,
                "plan": rt.state.plan.model_dump() if rt.state.plan else None,
                "score": best.score if best else None,
            }
        )
        for name in ROUND_PHASES[:-2]:  # plan .. report; the review rounds are kept
            PHASE_MODULES[name].reset(rt.state)
        rt.state.round += 1
        rt.state.completed = ["literature"]
    elif decision == review.STOP:
        rt.state.stopped_reason = "reviews stayed below the publish threshold; not published"
        rt.state.completed = list(PHASES)


def _run_phase(rt: LabRuntime, phase: str, copilot: Copilot) -> None:
    module, summary = PHASE_MODULES[phase], rt.state.summary(phase)
    redos = 0
    while True:
        rt.progress.update(phase=f"{phase} (round {rt.state.round})")
        first_agent = len(rt.agents_used)
        if rt.clock is None:
            rt.clock = PhaseClock(rt.lab_dir)
        rt.clock.start(phase, rt.state)
        try:
            summary.outcome = module.run(rt)
        except BaseException as exc:  # a kill too: keep what this phase completed
            summary.outcome = f"stopped: {type(exc).__name__}: {exc}"
            raise
        finally:
            agents = rt.agents_used[first_agent:]
            summary.actions += sum(a.stats.actions for a in agents)
            summary.failed_actions += sum(a.stats.failures for a in agents)
            summary.salvaged_actions += sum(a.stats.salvaged for a in agents)
            rt.clock.stop(rt.state)  # the phase's seconds, also those since the last checkpoint
            rt.checkpoint()
        answer = copilot.ask(phase, module.artifact(rt.state))
        if answer.action == "approve" or redos >= rt.config.copilot_max_redos:
            return
        redos += 1
        # A redo must be a fresh attempt: the agents of this phase sample with a new seed
        # (and a temperature above 0), so the response cache cannot hand back the same reply.
        rt.state.redos[phase] = rt.state.redos.get(phase, 0) + 1
        if answer.notes:
            rt.state.copilot_notes.setdefault(phase, []).append(answer.notes)
        module.reset(rt.state)
        rt.checkpoint()


def run_phases(rt: LabRuntime, copilot: Copilot) -> None:
    """Run phases until every one is completed (review may send the lab back to planning)."""
    while (phase := next_phase(rt.state)) is not None:
        _run_phase(rt, phase, copilot)
        rt.state.completed.append(phase)
        if phase == "review":
            _after_review(rt)
        rt.checkpoint()
    rt.state.finished = True
    rt.checkpoint()


def phase_rows(rt: LabRuntime) -> list[dict[str, Any]]:
    """Per phase: seconds, tokens, calls, cost (from the ledger) and outcome."""
    rows = []
    for phase in PHASES:
        totals = rt.ledger.totals(rt.tag(phase, "").rstrip("/"))
        summary = rt.state.summary(phase)
        summary.tokens, summary.calls = totals.usage.total_tokens, totals.calls
        summary.cost_usd = totals.cost_usd if totals.cost_known else None
        rows.append({"phase": phase, **summary.model_dump()})
    return rows


def write_summary(rt: LabRuntime) -> dict[str, Any]:
    """Write ``summary.json`` and ``summary.md`` in the lab directory and return the data."""
    rows = phase_rows(rt)
    total = rt.ledger.totals(f"lab/{rt.config.lab_name}")
    data = {
        "lab": rt.config.lab_name,
        "finished": rt.state.finished,
        "stopped_reason": rt.state.stopped_reason,
        "rounds": rt.state.round,
        "published_id": rt.state.published_id,
        "published_url": rt.state.published_url,
        "elapsed_s": round(rt.state.elapsed_s, 2),
        "tokens": total.usage.total_tokens,
        "calls": total.calls,
        "cost": total.cost_text(),
        "phases": rows,
    }
    from agentrxiv.sandbox import sandbox_note

    data["sandbox"], warning = sandbox_note(rt.config.unsafe_sandbox)
    atomic_write_text(rt.lab_dir / SUMMARY_JSON, json.dumps(data, indent=2))
    lines = [f"**{warning}**", ""] if warning else []
    lines += ["| phase | seconds | tokens | calls | cost | outcome |", "|---|---|---|---|---|---|"]
    for row in rows:
        cost = "unknown" if row["cost_usd"] is None else f"${row['cost_usd']:.4f}"
        lines.append(
            f"| {row['phase']} | {row['seconds']:.1f} | {row['tokens']} | {row['calls']} | "
            f"{cost} | {row['outcome']} |"
        )
    lines += literature.summary_lines(rt.state)  # papers per source, unreachable sources
    lines += insights.summary_lines(rt.state)  # insights used, novelty check, distillation
    lines += after_publish.summary_lines(rt.state)  # the published paper's verification
    atomic_write_text(rt.lab_dir / SUMMARY_MD, "\n".join(lines) + "\n")
    return data


def build_runtime(
    config: LabConfig,
    *,
    resume: bool,
    model_factory: ModelFactory | None = None,
    runner: ExperimentRunner | None = None,
    archive: Any = None,
    archive_url: str = "",
    cache: bool | None = None,
) -> LabRuntime:
    """Open (or resume) the lab's state and wire models, ledger, runner and archive."""
    state = _open_state(config, resume)
    lab_dir = config.lab_dir
    lab_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        recover_clock(lab_dir, state)  # seconds a killed run counted after its checkpoint
    save_state(lab_dir, state)
    ledger = Ledger(budget=_budget(config, state), path=lab_dir / LEDGER_FILE)
    target_factory = None
    if model_factory is None:
        from agentrxiv.llm.registry import get_model

        def model_factory(spec: str, cached: bool | None = cache) -> Any:
            return get_model(
                spec,
                base_url=config.base_url,
                api_key_env=config.api_key_env,
                ledger=ledger,
                cache=cached,
            )

        if config.target_cache:

            def target_factory(spec: str) -> Any:
                return model_factory(spec, cached=True)

    rt = LabRuntime(
        config=config,
        state=state,
        lab_dir=lab_dir,
        ledger=ledger,
        model_factory=model_factory,
        runner=runner,
        archive=archive,  # type: ignore[arg-type]
        archive_url=archive_url,
    )
    if runner is None:
        rt.runner = default_runner(rt, target_factory or model_factory)
    return rt


def default_runner(rt: LabRuntime, target_factory: ModelFactory) -> ExperimentRunner:
    """The sandbox runner with the target model (from ``target_factory``) behind the gateway."""
    from agentrxiv.lab.devdata import prepare_dev_data
    from agentrxiv.sandbox import SandboxRunner, require_boundary

    if not rt.config.unsafe_sandbox:
        require_boundary()  # refuse before any model call, with one line on what to install
    data, data_env = prepare_dev_data(rt.config, rt.lab_dir)  # the dev split only
    return SandboxRunner(
        rt.lab_dir / "runs",
        target_factory(rt.config.target_model),
        rt.tag("experiments", "target"),
        rt.config.sandbox,
        env=data_env,
        data_files=[data],
        unsafe=rt.config.unsafe_sandbox,
    )


def run_lab(
    rt: LabRuntime, copilot: Copilot | None = None, console: Console | None = None
) -> LabState:
    """Run the lab to the end, then the configured after-publish steps (verification,
    insights); on any stop the state and summary are saved first."""
    copilot = copilot or Copilot(False, None, Console(quiet=True))
    progress = RichProgress(console, rt.ledger, rt.config.lab_name)
    rt.progress = progress
    try:
        with progress:
            run_phases(rt, copilot)
    except AgentrxivError as exc:  # budget, phase and archive errors: say why it stopped
        rt.state.stopped_reason = str(exc)
        raise
    finally:
        rt.checkpoint()
        if rt.clock is not None:
            rt.clock.close()
        write_summary(rt)
    if after_publish.run_after_publish(rt):
        write_summary(rt)
    return rt.state
