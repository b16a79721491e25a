"""The Rich live view of a running campaign: one row per lab (paper number, phase, best
verified value, tokens, cost) and the campaign totals; also the final summary table."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from agentrxiv.campaign.ledger import CampaignState, totals

if TYPE_CHECKING:
    from agentrxiv.campaign.orchestrator import Orchestrator

REFRESH_S = 1.0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def lab_rows(state: CampaignState, papers: int) -> list[dict[str, Any]]:
    """Per lab: papers done, current paper and phase, best verified, tokens, cost."""
    rows = []
    for lab in dict.fromkeys(r.lab for r in state.runs):
        entries = [r for r in state.runs if r.lab == lab]
        records = [r.record for r in entries if r.record is not None]
        running = next((r for r in entries if r.status == "running"), None)
        tokens = sum(r.tokens for r in records)
        costs = [r.cost_usd for r in records]
        cost = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
        phase = "done" if len(records) == len(entries) else "waiting"
        paper = len(records)
        if running is not None:
            paper = running.paper
            tokens += running.spent_tokens  # as its executor last reported, any node
            cost = None if cost is None else cost + running.spent_usd
            phase = running.phase or "starting"
        verified = [r.verified for r in records if r.verified is not None]
        rows.append(
            {
                "lab": lab,
                "paper": f"{paper}/{papers}",
                "phase": phase,
                "best_verified": max(verified) if verified else None,
                "tokens": tokens,
                "cost_usd": cost,
            }
        )
    return rows


def render_table(state: CampaignState, papers: int, title: str) -> Table:
    """The per-lab table with a totals row."""
    table = Table(title=title)
    for column in ("lab", "paper", "phase", "best verified", "tokens", "cost"):
        table.add_column(column, justify="right" if column in ("tokens", "cost") else "left")
    rows = lab_rows(state, papers)
    for row in rows:
        table.add_row(
            row["lab"],
            row["paper"],
            row["phase"],
            _num(row["best_verified"]),
            str(row["tokens"]),
            _usd(row["cost_usd"]),
        )
    done = totals(state.records())
    costs = [r["cost_usd"] for r in rows]
    table.add_row(
        "campaign",
        f"{done['papers']} papers",
        state.status,
        _num(done["best_verified"]),
        str(sum(r["tokens"] for r in rows)),
        _usd(None if any(c is None for c in costs) else sum(costs)),
        end_section=True,
    )
    return table


class LiveView:
    """Refreshes the table about once a second while the campaign runs."""

    def __init__(self, orchestrator: Orchestrator, console: Console) -> None:
        self.orch, self.console = orchestrator, console
        self.live: Live | None = None
        self.last = 0.0

    def _table(self) -> Table:
        state = self.orch.state
        assert state is not None
        elapsed = state.elapsed_s
        return render_table(
            state,
            self.orch.config.papers,
            f"campaign {state.name} ({state.campaign_id}) · {elapsed:.0f}s",
        )

    def __enter__(self) -> LiveView:
        if not self.console.quiet and self.console.is_terminal:
            self.live = Live(self._table(), console=self.console, refresh_per_second=1)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(None, None, None)

    def refresh(self) -> None:
        """Redraw at most once per ``REFRESH_S``."""
        now = time.monotonic()
        if self.live is None or now - self.last < REFRESH_S:
            return
        self.last = now
        self.live.update(self._table())
