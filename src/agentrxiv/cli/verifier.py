"""``agentrxiv verifier run``: the archive's verifier service. It leases pending
verifications from the server's queue, runs each exactly as ``agentrxiv verify`` does (same
model, split, limit and data options; the technique in the sandbox), posts the record with
the verifier token (standing ``archive``) and completes the job. ``--once`` drains the
queue and exits; otherwise it polls with backoff until stopped (SIGTERM or Ctrl-C hand the
jobs in progress back to the queue)."""

from __future__ import annotations

import signal
import time
from types import FrameType

import typer

from agentrxiv.cli.app import app, err_console
from agentrxiv.cli.bench import _quiet_library_logs
from agentrxiv.cli.client import SERVER_OPTION, _server, _token
from agentrxiv.config import get_settings

verifier_app = typer.Typer(
    help="The archive's verifier service (works through the verification queue).",
    no_args_is_help=True,
)
app.add_typer(verifier_app, name="verifier")


def _say(line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    err_console.print(f"[dim]{stamp}[/dim] {line}", highlight=False, soft_wrap=True)


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@verifier_app.command("run")
def verifier_run(
    server: str | None = SERVER_OPTION,
    token: str | None = typer.Option(
        None, "--token", help="A verifier token ('agentrxiv token create NAME --verifier')."
    ),
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, max=64, help="Jobs verified at once."
    ),
    once: bool = typer.Option(False, "--once", help="Drain the queue, then exit."),
    lease_s: int = typer.Option(
        300, "--lease-s", min=5, max=3600, help="Lease length in seconds (heartbeats renew it)."
    ),
    model: str | None = typer.Option(None, "--model", help="Model spec; default: the paper's."),
    split: str = typer.Option("test", "--split", help="Split to verify on (default test)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N problems."),
    data: str | None = typer.Option(None, "--data", help="Benchmark data (JSONL path)."),
    max_jobs: int | None = typer.Option(
        None, "--max-jobs", min=1, help="Stop after this many jobs."
    ),
) -> None:
    """Lease pending verifications, verify each as 'agentrxiv verify' does, post and complete."""
    _quiet_library_logs()
    from agentrxiv.client import ArchiveClient
    from agentrxiv.verify import VerifyOptions
    from agentrxiv.verify.service import ServiceOptions, VerifierService

    url, secret = _server(server), _token(token)
    per_job = get_settings().verify_concurrency

    def make_options() -> VerifyOptions:
        # The endpoint limit is process-wide: N jobs at once need N x the calls in flight.
        return VerifyOptions(
            concurrency=per_job, data=data, endpoint_concurrency=per_job * concurrency
        )

    options = ServiceOptions(
        concurrency=concurrency,
        lease_s=lease_s,
        once=once,
        model_spec=model,
        split=split,
        limit=limit,
        make_options=make_options,
        max_jobs=max_jobs,
    )
    service = VerifierService(
        lambda: ArchiveClient(url, token=secret, timeout=180), options, say=_say
    )
    mode = "draining the queue" if once else "polling the queue"
    _say(f"verifier on {url}: {mode}, {concurrency} at once, leases of {lease_s} s")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        outcomes = service.run()
    except KeyboardInterrupt:
        released = service.release()
        _say(f"[yellow]interrupted[/yellow]: {released} job(s) handed back to the queue")
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    done = sum(1 for o in outcomes if o.state == "done")
    failed = sum(1 for o in outcomes if o.state == "failed")
    lost = sum(1 for o in outcomes if o.state == "lost")
    _say(f"{done} verified, {failed} failed, {lost} lost to another verifier")
