"""Campaign commands: ``agentrxiv campaign run|status|report|compare|example-config``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from agentrxiv.cli.app import app

campaign_app = typer.Typer(help="Research campaigns: many labs, many papers.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")
console = Console()
SERVER_OPTION = typer.Option(None, "--server", help="Server URL (AGENTRXIV_SERVER).")


def _server(server: str | None) -> str:
    from agentrxiv.config import get_settings

    return server or get_settings().server


@campaign_app.command("run")
def campaign_run(
    config_path: Path = typer.Argument(..., help="Campaign YAML (see campaign example-config)."),
    server: str | None = typer.Option(None, "--server", help="AgentRxiv server URL."),
    token: str | None = typer.Option(None, "--token", help="Admin or campaign-owner token."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the campaign state."),
    executor: str | None = typer.Option(None, "--executor", help="local or ray."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster address."),
    labs: int | None = typer.Option(None, "--labs", help="Number of labs (overrides the file)."),
    papers: int | None = typer.Option(None, "--papers", help="Papers per lab."),
    mode: str | None = typer.Option(None, "--mode", help="shared, own or none."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Labs at once."),
) -> None:
    """Run a research campaign (flags override the file); Ctrl-C or kill, then --resume."""
    from agentrxiv.campaign.config import load_campaign_config
    from agentrxiv.campaign.live import render_table
    from agentrxiv.campaign.orchestrator import Orchestrator, campaign_dir

    overrides = {
        "server": server,
        "token": token,
        "executor": executor,
        "ray_address": ray_address,
        "labs": labs,
        "papers": papers,
        "mode": mode,
        "concurrency": concurrency,
    }
    config = load_campaign_config(config_path, overrides)
    orchestrator = Orchestrator(config, resume=resume, console=console)
    state = orchestrator.prepare()
    console.print(
        f"campaign {state.campaign_id}: {config.server.rstrip('/')}/campaigns/{state.campaign_id}"
        if config.server
        else f"campaign {state.campaign_id}"
    )
    state = orchestrator.run()
    console.print(render_table(state, config.papers, f"campaign {state.name} ({state.status})"))
    console.print(f"campaign directory: {campaign_dir(config)}")
    if state.status == "finished":
        console.print(f"campaign {state.campaign_id} finished")
    else:
        console.print(f"campaign {state.campaign_id} stopped: {state.stopped_reason}")
        console.print("continue with: agentrxiv campaign run CONFIG --resume")
        raise typer.Exit(3)


def _fetch(server: str | None, ids: list[str]) -> list:  # noqa: ANN401 - CampaignPublic list
    from agentrxiv.client import ArchiveClient
    from agentrxiv.lab.insights import near_duplicate_share

    with ArchiveClient(_server(server)) as client:
        campaigns = [client.campaign(campaign_id) for campaign_id in ids]
        for campaign in campaigns:  # share of near-duplicate papers, for the report
            campaign.near_duplicate_share = near_duplicate_share(client, campaign.id)
        return campaigns


def _value(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


@campaign_app.command("status")
def campaign_status(
    campaign_id: str = typer.Argument(..., help="Campaign id."),
    server: str | None = SERVER_OPTION,
) -> None:
    """Show a campaign's status and every paper's record."""
    (campaign,) = _fetch(server, [campaign_id])
    console.print(f"{campaign.name} ({campaign.id}): {campaign.status} {campaign.status_reason}")
    table = Table()
    for column in ("lab", "paper", "outcome", "paper id", "claimed", "verified", "tokens", "s"):
        table.add_column(column)
    for r in sorted(campaign.records, key=lambda r: r.get("finished_at") or 0):
        table.add_row(
            str(r.get("lab")),
            str(r.get("paper")),
            str(r.get("outcome", ""))[:40],
            str(r.get("paper_id") or "-"),
            _value(r.get("claimed")),
            _value(r.get("verified")),
            str(r.get("tokens", 0)),
            f"{r.get('wall_s') or 0:.0f}",
        )
    console.print(table)


@campaign_app.command("report")
def campaign_report(
    campaign_id: str = typer.Argument(..., help="Campaign id."),
    out: Path | None = typer.Option(None, "--out", help="Directory (default report-<id>)."),
    server: str | None = SERVER_OPTION,
) -> None:
    """Write campaign.json and PNG figures (curves and lineage) for a campaign."""
    from agentrxiv.campaign.report import write_report

    (campaign,) = _fetch(server, [campaign_id])
    directory = out or Path(f"report-{campaign_id}")
    data = write_report(campaign, directory)
    summary = data["summary"]
    console.print(
        f"{summary['papers']} papers, best verified {_value(summary['best_verified'])}, "
        f"best claimed {_value(summary['best_claimed'])}; report in {directory}"
    )


@campaign_app.command("compare")
def campaign_compare(
    campaign_ids: list[str] = typer.Argument(..., help="Two or more campaign ids."),
    out: Path = typer.Option(Path("campaign-compare"), "--out", help="Figure directory."),
    server: str | None = SERVER_OPTION,
) -> None:
    """Draw campaigns' curves on one figure and summarise each."""
    from agentrxiv.campaign.report import compare

    rows = compare(_fetch(server, campaign_ids), out)
    table = Table()
    for column in ("campaign", "mode", "best verified (95% CI)", "papers", "tokens", "$", "hours"):
        table.add_column(column)
    for row in rows:
        ci = row["best_verified_ci95"]
        interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        cost = row["cost_usd"]
        table.add_row(
            f"{row['name']} ({row['id']})",
            str(row["mode"]),
            _value(row["best_verified"]) + interval,
            str(row["papers"]),
            str(row["tokens"]),
            "unknown" if cost is None else f"{cost:.4f}",
            f"{row['hours']:.3f}",
        )
    console.print(table)
    console.print(f"figures in {out}")


@campaign_app.command("example-config")
def campaign_example_config(
    benchmark: str = typer.Option("math500", "--benchmark", help="math500 or arith."),
) -> None:
    """Print a documented example campaign config."""
    from agentrxiv.campaign.config import example_config

    typer.echo(example_config(benchmark), nl=False)
