"""The campaign orchestrator: creates the campaign on the server, mints one write token per
lab, schedules (lab, paper) runs on an executor with at most C at once, records every
paper, enforces the campaign-wide budget (counting spend still in flight), posts records
to the server, and checkpoints its own state after every change so ``--resume`` continues
after ``kill -9`` without redoing finished papers or publishing one twice.

Runs report spend, phase and results through their executor (on Ray: task values and a
progress actor), never through files in a run's directory, so workers may live on other
machines. A run killed by a signal or lost with its node is started again from its
checkpoint, at most ``max_retries`` times; a busy server (503) is waited out, and only a
server that stays unreachable for ``server_patience_s`` stops the campaign."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import httpx
from rich.console import Console

from agentrxiv.archive.schemas import CampaignCreate, CampaignUpdate
from agentrxiv.campaign.config import CampaignConfig
from agentrxiv.campaign.executors import Executor, Finished, LocalExecutor
from agentrxiv.campaign.ledger import (
    CampaignState,
    PaperRecord,
    RunEntry,
    load_campaign_state,
    save_campaign_state,
    totals,
)
from agentrxiv.campaign.live import LiveView
from agentrxiv.campaign.ray_executor import RayExecutor
from agentrxiv.campaign.worker import SPEC_FILE
from agentrxiv.client import ArchiveClient
from agentrxiv.errors import ArchiveError, ConfigError
from agentrxiv.files import atomic_write_text

log = logging.getLogger(__name__)
TICK_S = 0.1
BUDGET_CHECK_S = 1.0
BUSY_WAIT_S = 2.0
# The server lab (``<campaign id>-verifier``) that posts the campaign's verifications.
VERIFIER_LAB = "verifier"


def campaign_dir(config: CampaignConfig) -> Path:
    """Where the campaign keeps its state, lab runs and reports."""
    return config.output_dir / config.name


class Orchestrator:
    """Runs one campaign to its end (or to a clean stop)."""

    def __init__(
        self,
        config: CampaignConfig,
        *,
        resume: bool = False,
        console: Console | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.dir = campaign_dir(config)
        self.resume = resume
        self.console = console or Console(quiet=True)
        self.executor = executor
        self.state: CampaignState | None = None
        self.stop_reason = ""
        self.run_started: dict[str, float] = {}
        self._clock = time.monotonic()

    # ------------------------------------------------------------------ setup

    def _client(self, token: str | None = None) -> ArchiveClient:
        server = self.config.server
        if not server:
            raise ConfigError("a campaign needs a server", hint="set server: or pass --server URL")
        return ArchiveClient(
            server, token=token, retries=self.config.server_retries, backoff=1.0, timeout=60
        )

    def _create(self) -> CampaignState:
        token = self.config.token or os.environ.get("AGENTRXIV_TOKEN")
        if not token:
            raise ConfigError(
                "a campaign needs an admin or campaign-owner token",
                hint="pass --token, set token: or AGENTRXIV_TOKEN ('agentrxiv token create')",
            )
        public = self.config.model_dump(mode="json", exclude={"token"})
        with self._client(token) as client:
            created = client.create_campaign(
                CampaignCreate(name=self.config.name, topic=self.config.topic, config=public)
            )
            state = CampaignState(
                campaign_id=created.id,
                name=self.config.name,
                server=self.config.server or "",
                config=public,
            )
            for spec in self.config.lab_specs():
                minted = client.mint_lab_token(created.id, spec.name)
                state.lab_tokens[spec.name] = minted.token
                state.server_labs[spec.name] = minted.lab
            state.verifier_token = client.mint_lab_token(created.id, VERIFIER_LAB).token
        for number in range(1, self.config.papers + 1):
            for spec in self.config.lab_specs():
                state.runs.append(RunEntry(lab=spec.name, paper=number))
        return state

    def _check_same_mode(self, state: CampaignState) -> None:
        """A campaign's access mode is fixed at creation: its labs' tokens carry it."""
        before = state.config.get("mode", "shared")
        if self.config.mode != before:
            raise ConfigError(
                f"campaign {state.campaign_id} runs in access mode {before!r}; "
                f"--resume cannot change it to {self.config.mode!r}",
                hint=f"resume with mode {before!r}, or start a new campaign",
            )

    def prepare(self) -> CampaignState:
        """Create the campaign (or load it with ``--resume``) and save the state."""
        existing = load_campaign_state(self.dir)
        if existing is not None and not self.resume:
            raise ConfigError(
                f"{self.dir} already holds campaign {existing.campaign_id}",
                hint="continue it with --resume, or choose another name/output_dir",
            )
        if existing is None and self.resume:
            raise ConfigError(f"nothing to resume: no campaign state in {self.dir}")
        self.dir.mkdir(parents=True, exist_ok=True)
        if existing is None:
            state = self._create()
        else:
            state = existing
            self._check_same_mode(state)
            self._extend_runs(state)
            for entry in state.runs:
                if entry.status in ("running", "stopped"):
                    entry.status = "pending"  # resumes from its lab checkpoint
            state.status, state.stopped_reason = "running", ""
        self.state = state
        self._save()
        self._post(status="running")
        return state

    def _extend_runs(self, state: CampaignState) -> None:
        """``--papers`` raised on resume: add the missing runs."""
        known = {(r.lab, r.paper) for r in state.runs}
        for number in range(1, self.config.papers + 1):
            for spec in self.config.lab_specs():
                if spec.name in state.lab_tokens and (spec.name, number) not in known:
                    state.runs.append(RunEntry(lab=spec.name, paper=number))

    # ------------------------------------------------------------------ scheduling

    def _save(self) -> None:
        assert self.state is not None
        now = time.monotonic()
        self.state.elapsed_s += now - self._clock
        self._clock = now
        save_campaign_state(self.dir, self.state)

    def _eligible(self) -> list[RunEntry]:
        """Per lab, its next pending paper once its earlier papers are done; fewest first."""
        assert self.state is not None
        running_labs = {r.lab for r in self.state.runs if r.status == "running"}
        order = [s.name for s in self.config.lab_specs()]
        picks = []
        for lab in order:
            if lab in running_labs or lab not in self.state.lab_tokens:
                continue
            entries = sorted((r for r in self.state.runs if r.lab == lab), key=lambda r: r.paper)
            for entry in entries:
                if entry.status == "pending":
                    picks.append(entry)
                    break
                if entry.status != "done":
                    break
        done = {
            lab: sum(1 for r in self.state.runs if r.lab == lab and r.status == "done")
            for lab in order
        }
        return sorted(picks, key=lambda e: (done[e.lab], order.index(e.lab)))

    def _spec(self, entry: RunEntry) -> Path:
        assert self.state is not None
        spec = next(s for s in self.config.lab_specs() if s.name == entry.lab)
        run_dir = self.dir / "runs" / entry.lab / f"paper-{entry.paper}"
        run_dir.mkdir(parents=True, exist_ok=True)
        lab = self.config.lab_data(spec)
        lab.update(
            output_dir=str(run_dir),
            server=self.state.server,
            campaign_id=self.state.campaign_id,
            archive_lab=self.state.server_labs[entry.lab],
        )
        data = {
            "lab_config": lab,
            "server": self.state.server,
            "token": self.state.lab_tokens[entry.lab],
            "record": {"lab": entry.lab, "paper": entry.paper},
            "verify": self.config.verify,
            "verify_token": self.state.verifier_token,
            "verify_model": self.config.verify_model,
            "verify_limit": self.config.verify_limit,
            "archive_verifier_wait_s": self.config.archive_verifier_wait_s,
            "worker_setup": self.config.worker_setup,
            "server_retries": self.config.server_retries,
            "budget": self._budget_left(exclude=entry),
        }
        path = run_dir / SPEC_FILE
        atomic_write_text(path, json.dumps(data, indent=2))
        os.chmod(path, 0o600)
        entry.lab_dir = str(run_dir / entry.lab)
        return path

    def _start(self, entry: RunEntry) -> None:
        assert self.executor is not None
        path = self._spec(entry)
        entry.status, entry.attempts = "running", entry.attempts + 1
        key = f"{entry.lab}/{entry.paper}"
        self.run_started[key] = time.time()
        self._save()
        self.executor.start(key, path, {"lab": entry.lab, "paper": entry.paper})

    # ------------------------------------------------------------------ budgets

    def spend(self, exclude: RunEntry | None = None) -> tuple[int, float, float]:
        """Tokens, dollars (finished runs + what every other run last reported, on any
        node) and campaign seconds."""
        assert self.state is not None
        done = totals(self.state.records())
        tokens, usd = done["tokens"], done["cost_usd"] or 0.0
        for entry in self.state.runs:  # in flight, stopped or interrupted
            if entry.status != "done" and entry is not exclude:
                tokens, usd = tokens + entry.spent_tokens, usd + entry.spent_usd
        return tokens, usd, self.state.elapsed_s + time.monotonic() - self._clock

    def _refresh_progress(self) -> None:
        """Take the running runs' latest spend and phase from the executor."""
        assert self.state is not None and self.executor is not None
        for key, figures in self.executor.progress().items():
            lab, _, paper = key.partition("/")
            entry = self.state.run(lab, int(paper))
            entry.spent_tokens = int(figures.get("tokens") or 0)
            entry.spent_usd = float(figures.get("cost_usd") or 0.0)
            entry.phase = str(figures.get("phase") or "")

    def _budget_left(self, exclude: RunEntry) -> dict[str, float | None]:
        """What a run may spend: the campaign budget less everything else spent (a resumed
        run's own ledger already holds its earlier spend, so it is not subtracted)."""
        budget = self.config.budget
        tokens, usd, _ = self.spend(exclude=exclude)
        return {
            "max_tokens": None if budget.max_tokens is None else max(1, budget.max_tokens - tokens),
            "max_usd": None if budget.max_usd is None else max(1e-9, budget.max_usd - usd),
        }

    def budget_exhausted(self) -> str:
        """Why the campaign budget is spent ('' while it is not)."""
        budget = self.config.budget
        tokens, usd, seconds = self.spend()
        if budget.max_tokens is not None and tokens >= budget.max_tokens:
            return f"campaign token budget spent: {tokens} of {budget.max_tokens}"
        if budget.max_usd is not None and usd >= budget.max_usd:
            return f"campaign dollar budget spent: ${usd:.4f} of ${budget.max_usd:.4f}"
        if budget.max_seconds is not None and seconds >= budget.max_seconds:
            return f"campaign time budget spent: {seconds:.0f}s of {budget.max_seconds:.0f}s"
        return ""

    # ------------------------------------------------------------------ results

    def _finish(self, done: Finished) -> None:
        assert self.state is not None
        lab, _, paper = done.key.partition("/")
        entry = self.state.run(lab, int(paper))
        result = dict(done.record)
        outcome = str(result.get("outcome", ""))
        started = self.run_started.pop(done.key, None)
        if result.get("resumable"):  # its ledger so far, reported with its record
            entry.spent_tokens = int(result.get("tokens") or entry.spent_tokens)
            entry.spent_usd = float(result.get("cost_usd") or entry.spent_usd)
        if outcome.startswith("server unreachable") and not self.stop_reason:
            if self._server_answers():  # busy, not gone: the run goes again
                result["retry"] = True
            else:
                self.stop_reason = f"{outcome}; --resume continues"
        if result.get("retry") and not self.stop_reason:
            if entry.retries < self.config.max_retries:
                entry.retries += 1
                entry.retry_log.append(outcome[:300])
                entry.status = "pending"  # resumes from its checkpoint
                log.warning("run %s: %s; retry %d", done.key, outcome, entry.retries)
                self._save()
                return
            result["outcome"] = f"crashed after {entry.retries} retries: {outcome}"[:500]
        elif result.get("resumable") or (outcome.startswith("budget:") and self.budget_exhausted()):
            entry.status = "stopped"
            self._save()
            return
        fields = set(PaperRecord.model_fields)
        record = PaperRecord(**{k: v for k, v in result.items() if k in fields})
        record.finished_at = time.time()
        record.campaign_elapsed_s = self.spend()[2]
        if started is not None:  # this session's share of the run, process start to exit
            record.process_s = round(record.finished_at - started, 3)
        entry.record, entry.status = record, "done"
        self._save()
        self._post()

    def _post(self, status: str | None = None, reason: str = "") -> None:
        """Send status and records to the server. A busy server (503) is waited out for up
        to ``server_patience_s``; only one that stops answering stops the campaign."""
        assert self.state is not None
        records = [r.model_dump(mode="json") for r in self.state.records()]
        update = CampaignUpdate(status=status, reason=reason, records=records)
        token = self.config.token or os.environ.get("AGENTRXIV_TOKEN")
        deadline = time.monotonic() + self.config.server_patience_s
        while True:
            try:
                with self._client(token) as client:
                    client.update_campaign(self.state.campaign_id, update)
                return
            except ArchiveError as exc:
                if exc.status != 503 or time.monotonic() >= deadline:
                    log.warning("could not update campaign %s: %s", self.state.campaign_id, exc)
                    return
                if not self._server_answers():
                    if not self.stop_reason:
                        self.stop_reason = f"server unreachable: {exc.message}; --resume continues"
                    return
                log.info("server busy (%s); posting again in %.0fs", exc.message, BUSY_WAIT_S)
                time.sleep(BUSY_WAIT_S)

    def _server_answers(self) -> bool:
        """Whether the server answers HTTP at all (a 503 counts: busy, not gone), trying
        for up to ``server_patience_s``."""
        deadline = time.monotonic() + self.config.server_patience_s
        while True:
            try:
                server = self.state.server if self.state else ""
                httpx.get(f"{server.rstrip('/')}/api/v1/health", timeout=10)
                return True
            except httpx.HTTPError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(1.0)

    # ------------------------------------------------------------------ the loop

    def _make_executor(self) -> Executor:
        """The configured executor (Ray runs keep their checkpoints in the store)."""
        if self.config.executor == "ray":
            store = self.config.checkpoint_store or str(self.dir / "checkpoints")
            return RayExecutor(self.config.ray_address, self.config.ray_num_cpus, store=store)
        return LocalExecutor()

    def run(self) -> CampaignState:
        """Run until every paper is done, or the budget/server stops the campaign."""
        state = self.state or self.prepare()
        if self.executor is None:
            self.executor = self._make_executor()
        view = LiveView(self, self.console)
        last_budget_check = 0.0
        try:
            with view:
                while True:
                    for done in self.executor.poll():
                        self._finish(done)
                    now = time.monotonic()
                    if not self.stop_reason and now - last_budget_check >= BUDGET_CHECK_S:
                        last_budget_check = now
                        self._refresh_progress()
                        self.stop_reason = self.budget_exhausted()
                    if self.stop_reason:
                        self._stop_running()
                        break
                    while len(self.executor.running()) < self.config.concurrency:
                        eligible = self._eligible()
                        if not eligible:
                            break
                        self._start(eligible[0])
                    if not self.executor.running() and not self._eligible():
                        break
                    view.refresh()
                    time.sleep(TICK_S)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted (Ctrl-C)"
            self._stop_running()
        finally:
            self._save()
        return self._close(state)

    def _stop_running(self) -> None:
        """Stop every run; record those that finished meanwhile, keep the rest resumable."""
        assert self.executor is not None
        self.executor.stop_all()
        for done in self.executor.poll():
            self._finish(done)

    def _close(self, state: CampaignState) -> CampaignState:
        pending = [r for r in state.runs if r.status != "done"]
        if self.stop_reason:
            state.status, state.stopped_reason = "stopped", self.stop_reason
        elif pending:
            state.status, state.stopped_reason = "stopped", f"{len(pending)} runs not done"
        else:
            state.status = "finished"
        self._save()
        self._post(status=state.status, reason=state.stopped_reason)
        if self.executor is not None:
            self.executor.close()
        return state
