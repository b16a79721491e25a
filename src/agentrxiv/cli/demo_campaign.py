"""The campaign form of ``agentrxiv demo``: start the in-process server, run the small shared
campaign (``agentrxiv.campaign.demo``), and print the one-screen summary and the URL."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

COLUMNS = (
    ("paper", "paper"),
    ("lab", "lab"),
    ("claimed (dev)", "claimed"),
    ("verified (test, 95% CI)", "verified"),
    ("builds on", "builds_on"),
    ("variants", "variants"),
    ("time per phase", "phases"),
)


def summary_table(rows: list[dict[str, str]], title: str) -> Table:
    """Per paper: claimed (dev), verified (test, with interval), built on, time per phase."""
    table = Table(title=title, title_justify="left")
    for header, _ in COLUMNS:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(row[key] for _, key in COLUMNS))
    return table


def run_demo_campaign(
    root: Path,
    console: Console,
    *,
    model: str,
    size: object,
    keep_serving: bool,
    unsafe_sandbox: bool,
    worker_setup: str | None = None,
    target_model: str | None = None,
) -> int:
    """Run the demo campaign; returns the exit code (0: every run finished)."""
    from agentrxiv.campaign.demo import demo_campaign_config, summary_rows
    from agentrxiv.campaign.orchestrator import Orchestrator
    from agentrxiv.lab.demo import DemoServer

    with DemoServer(root, lab="demo-owner", admin=True) as server:
        console.print(f"archive server: {server.url} (SQLite at {server.db_path})")
        config = demo_campaign_config(
            root,
            server.url,
            server.token,
            model=model,
            size=size,  # type: ignore[arg-type]
            unsafe_sandbox=unsafe_sandbox,
            worker_setup=worker_setup,
            target_model=target_model,
        )
        orchestrator = Orchestrator(config, resume=False, console=console)
        state = orchestrator.prepare()
        url = f"{server.url}/campaigns/{state.campaign_id}"
        console.print(f"campaign page (live): {url}")
        state = orchestrator.run()
        console.print(summary_table(summary_rows(state), f"demo campaign ({state.status})"))
        console.print(f"campaign page: {url}")
        if keep_serving:
            console.print("serving; press Ctrl-C to stop")
            server.wait()
        else:
            console.print(f"browse it later: agentrxiv serve --db sqlite:///{server.db_path}")
        return 0 if state.status == "finished" else 3
