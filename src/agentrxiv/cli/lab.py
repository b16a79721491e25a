"""Agent-lab commands: ``agentrxiv lab run CONFIG.yaml`` and ``agentrxiv demo``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer
from rich.console import Console

from agentrxiv.cli.app import app

lab_app = typer.Typer(help="Run agent laboratories.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
console = Console()

REAL_MODEL_NOTE = (
    "Note: the embedded SmolLM2-135M model only demonstrates the pipeline end to end; its "
    "plans, code and papers are weak. Real research needs a real model, e.g. "
    "`model: openai/gpt-4o-mini` in the lab config (any OpenAI-compatible endpoint works)."
)
DEMO_TOPIC = "Prompting techniques that raise the MATH-500 accuracy of a small language model"


def _archive(server: str | None, token: str | None):  # noqa: ANN202 - ArchiveClient | None
    if not server:
        return None
    from agentrxiv.client import ArchiveClient

    return ArchiveClient(server, token=token or os.environ.get("AGENTRXIV_TOKEN") or None)


def _run(config, server: str | None, token: str | None, resume: bool, answers: Path | None):  # noqa: ANN001, ANN202
    from agentrxiv.lab.copilot import Copilot, load_answers
    from agentrxiv.lab.loop import build_runtime, run_lab

    archive = _archive(server, token)
    rt = build_runtime(config, resume=resume, archive=archive, archive_url=server or "")
    copilot = Copilot(
        config.copilot or answers is not None, load_answers(answers) if answers else None, console
    )
    try:
        state = run_lab(rt, copilot, console)
    finally:
        console.print((rt.lab_dir / "summary.md").read_text(encoding="utf-8"))
        console.print(f"lab directory: {rt.lab_dir}  (resume with --resume)")
    return state


@lab_app.command("run")
def lab_run(
    config_path: Path = typer.Argument(..., help="Lab config YAML (see example_math500.yaml)."),
    server: str | None = typer.Option(None, "--server", help="AgentRxiv server URL."),
    token: str | None = typer.Option(None, "--token", help="Write token (AGENTRXIV_TOKEN)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the lab's checkpoint."),
    copilot_answers: Path | None = typer.Option(
        None, "--copilot-answers", help="YAML list of co-pilot answers (turns co-pilot on)."
    ),
    unsafe_sandbox: bool = typer.Option(
        False, "--unsafe-sandbox", help="Run generated code without the bwrap boundary."
    ),
) -> None:
    """Run an agent lab from a topic to a published, reviewed paper."""
    from agentrxiv.lab.config import load_config

    config = _unsafe(load_config(config_path), unsafe_sandbox)
    server = server or config.server
    state = _run(config, server, token or config.token, resume, copilot_answers)
    if state.published_url:
        console.print(f"published: {state.published_url}")
    elif state.stopped_reason:
        console.print(f"not published: {state.stopped_reason}")
    else:
        console.print(f"paper: {state.report.paper_path}")


def _unsafe(config, flag: bool):  # noqa: ANN001, ANN202 - LabConfig in, LabConfig out
    """Apply ``--unsafe-sandbox`` and say loudly when generated code runs without a boundary."""
    if flag:
        config = config.model_copy(update={"unsafe_sandbox": True})
    if config.unsafe_sandbox:
        from agentrxiv.sandbox import UNSAFE_WARNING

        console.print(f"[bold red]WARNING: {UNSAFE_WARNING}[/bold red]", highlight=False)
    return config


@lab_app.command("example-config")
def lab_example_config() -> None:
    """Print the documented example config for the MATH-500 task."""
    from importlib import resources

    typer.echo(resources.files("agentrxiv.lab").joinpath("example_math500.yaml").read_text())


def demo_config(workdir: Path, data: Path | None, limit: int | None, model: str):  # noqa: ANN201
    """The demo's small, bounded lab config."""
    from agentrxiv.lab.config import parse_config

    return parse_config(
        {
            "topic": DEMO_TOPIC,
            "lab_name": "demo-lab",
            "output_dir": str(workdir / "labs"),
            "model": model,
            "target_model": model,
            "data": str(data) if data else None,
            "problem_limit": limit,
            "papers_to_review": 1,
            "literature_steps": 1,
            "dialogue_turns": 0,
            "data_prep_attempts": 1,
            "mle_solver_steps": 1,
            "mle_candidates": 1,
            "mle_max_repairs": 1,
            "paper_solver_steps": 0,
            # As in the campaign demo: the 135M model writes the abstract and discussion; the
            # other sections are rendered from the lab's records (minutes less per paper).
            "report_written_sections": ["abstract", "discussion"],
            "reviewers": ["harsh_but_fair"],
            "max_tokens": 200,
            "seed_max_tokens": 96,
            "structured_retries": 1,
            "memory_turns": 4,
            "memory_chars": 4_000,
            "latex": False,
            # One review round: the reviews are stored and posted, but a 135M model's scores
            # would otherwise send every demo back to planning.
            "publish_rule": {"max_rounds": 1, "after_last_round": "publish"},
        },
        "demo config",
    )


@app.command()
def demo(
    data: Path | None = typer.Option(None, "--data", help="MATH-500 JSONL (default: 20 bundled)."),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate only the first N problems."),
    model: str = typer.Option("local/smollm2", "--model", help="Model spec for agents and target."),
    workdir: Path | None = typer.Option(None, "--dir", help="Where to keep the archive and lab."),
    keep_serving: bool = typer.Option(False, "--keep-serving", help="Serve until Ctrl-C."),
    unsafe_sandbox: bool = typer.Option(
        False, "--unsafe-sandbox", help="Run generated code without the bwrap boundary."
    ),
    single: bool = typer.Option(
        False, "--single", help="One lab on MATH-500 problems instead of the campaign."
    ),
    labs: int = typer.Option(2, "--labs", min=1, max=8, help="Campaign: labs."),
    papers: int = typer.Option(2, "--papers", min=1, max=8, help="Campaign: papers per lab."),
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=8, help="Labs at once."),
    test_problems: int = typer.Option(60, "--test-problems", min=1, help="Verified per paper."),
    worker_setup: str | None = typer.Option(None, "--worker-setup", hidden=True),
    target_model: str | None = typer.Option(None, "--target-model", hidden=True),
) -> None:
    """A small shared campaign on arith (2 labs x 2 papers, every paper verified on test),
    ending with the campaign page's URL and a summary; ``--single`` runs one lab instead."""
    from agentrxiv.lab.demo import DemoServer

    root = workdir or Path(tempfile.mkdtemp(prefix="agentrxiv-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    console.print(REAL_MODEL_NOTE)
    if not single:
        from agentrxiv.campaign.demo import DemoSize
        from agentrxiv.cli.demo_campaign import run_demo_campaign

        size = DemoSize(labs, papers, concurrency, limit or DemoSize.dev_problems, test_problems)
        code = run_demo_campaign(
            root,
            console,
            model=model,
            size=size,
            keep_serving=keep_serving,
            unsafe_sandbox=unsafe_sandbox,
            worker_setup=worker_setup,
            target_model=target_model,
        )
        console.print(REAL_MODEL_NOTE)
        raise typer.Exit(code)
    with DemoServer(root) as server:
        console.print(f"archive server: {server.url} (SQLite at {server.db_path})")
        config = _unsafe(demo_config(root, data, limit, model), unsafe_sandbox)
        state = _run(config, server.url, server.token, False, None)
        console.print(f"paper URL: {state.published_url or '(not published)'}")
        console.print(f"paper file: {state.report.paper_path}")
        console.print(REAL_MODEL_NOTE)
        if keep_serving:
            console.print("serving; press Ctrl-C to stop")
            server.wait()
        else:
            console.print(f"browse it later: agentrxiv serve --db sqlite:///{server.db_path}")
