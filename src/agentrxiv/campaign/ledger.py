"""The campaign's own state: one JSON file in the campaign directory, written atomically
after every change, holding the campaign id, the per-lab tokens, every (lab, paper) run
with its status and record, and the campaign's accumulated wall time.

Killing the campaign process at any moment leaves a consistent file; ``--resume`` reads
it back: done runs stay done, runs marked running are resumed from their lab checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentrxiv.errors import ConfigError
from agentrxiv.files import atomic_write_text
from agentrxiv.llm.ledger import Ledger

STATE_FILE = "campaign_state.json"
RunStatus = Literal["pending", "running", "done", "stopped"]


class PaperRecord(BaseModel):
    """What one lab-paper run produced (a failed run is a record too)."""

    lab: str
    paper: int
    outcome: str = ""  # published / not published / failed: ... / budget: ... / crashed: ...
    paper_id: str | None = None
    claimed: float | None = None
    baseline: float | None = None
    verified: float | None = None
    verified_n: int | None = None
    verification: str | None = None
    tokens: int = 0
    cost_usd: float | None = 0.0
    wall_s: float = 0.0
    parents: list[str] = Field(default_factory=list)
    # Accumulation: the paper whose technique the run started from, and how many variants
    # it measured on dev before choosing its claim.
    builds_on: str | None = None
    variants_tried: int | None = None
    verify_s: float | None = None
    process_s: float | None = None
    finished_at: float = 0.0
    campaign_elapsed_s: float = 0.0


class RunEntry(BaseModel):
    """One (lab, paper number) run and where it stands."""

    lab: str
    paper: int
    status: RunStatus = "pending"
    attempts: int = 0
    retries: int = 0
    retry_log: list[str] = Field(default_factory=list, description="why each retry happened")
    lab_dir: str = ""
    # As last reported by the run's executor (any node): counts toward the campaign budget.
    spent_tokens: int = 0
    spent_usd: float = 0.0
    phase: str = ""
    record: PaperRecord | None = None


class CampaignState(BaseModel):
    """Everything the campaign process needs to continue after a kill."""

    campaign_id: str
    name: str
    server: str
    config: dict[str, Any]
    lab_tokens: dict[str, str] = Field(default_factory=dict)
    server_labs: dict[str, str] = Field(default_factory=dict)
    # The campaign's verifier publishes verifications as a lab of its own, so they count as
    # independent of the lab that wrote the paper.
    verifier_token: str | None = None
    runs: list[RunEntry] = Field(default_factory=list)
    elapsed_s: float = 0.0
    status: str = "running"
    stopped_reason: str = ""

    def run(self, lab: str, paper: int) -> RunEntry:
        """The entry of (lab, paper)."""
        return next(r for r in self.runs if r.lab == lab and r.paper == paper)

    def records(self) -> list[PaperRecord]:
        """Finished runs' records in the order they finished."""
        done = [r.record for r in self.runs if r.status == "done" and r.record is not None]
        return sorted(done, key=lambda rec: (rec.finished_at, rec.lab, rec.paper))


def save_campaign_state(directory: Path, state: CampaignState) -> None:
    """Write the state atomically, readable only by the owner (it holds lab tokens)."""
    path = directory / STATE_FILE
    atomic_write_text(path, state.model_dump_json(indent=2))
    os.chmod(path, 0o600)


def load_campaign_state(directory: Path) -> CampaignState | None:
    """The state in ``directory``, or ``None``."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        return CampaignState.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ConfigError(f"campaign state {path} is unreadable: {str(exc)[:200]}") from None


def in_flight_spend(lab_dir: Path) -> tuple[int, float]:
    """Tokens and known dollars a (possibly running) lab run has spent so far."""
    path = lab_dir / "ledger.jsonl"
    if not path.exists():
        return 0, 0.0
    try:
        ledger = Ledger(path=path)
    except ConfigError:  # a line being written right now: count it next time
        return 0, 0.0
    totals = ledger.totals()
    return totals.usage.total_tokens, totals.cost_usd


def lab_phase(lab_dir: Path) -> str:
    """The phase a running lab is in, from its checkpoint."""
    from agentrxiv.lab.config import PHASES

    path = lab_dir / "state.json"
    if not path.exists():
        return "starting"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return "?"
    done = set(data.get("completed", []))
    if data.get("finished"):
        return "finished"
    return next((p for p in PHASES if p not in done), "finished")


def totals(records: list[PaperRecord]) -> dict[str, Any]:
    """Campaign totals over finished runs."""
    costs = [r.cost_usd for r in records]
    verified = [r.verified for r in records if r.verified is not None]
    claimed = [r.claimed for r in records if r.claimed is not None]
    return {
        "papers": sum(1 for r in records if r.paper_id),
        "runs": len(records),
        "tokens": sum(r.tokens for r in records),
        "cost_usd": None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
        "lab_seconds": sum(r.wall_s for r in records),
        "best_verified": max(verified) if verified else None,
        "best_claimed": max(claimed) if claimed else None,
    }
