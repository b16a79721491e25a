"""Steps the lab runs itself once its paper is published, when ``after_publish`` in its
config asks for them: held-out verification of the paper on the test split
(``agentrxiv.verify``; when ``archive_verifier_wait_s`` is set and the archive's verifier
service is running, its record instead), then distilling the verified paper into insights
(``lab.insights``, only with ``use_insights`` on).

Each step's outcome is kept in the lab state (``verification``, ``distillation``), so a
resumed lab does not repeat a finished step, and ``summary.md`` shows both. A step that
fails is recorded as failed; it never fails the lab run (the paper is out either way)."""

from __future__ import annotations

import logging
import time
from typing import Any

from agentrxiv.client import ArchiveClient
from agentrxiv.lab import insights
from agentrxiv.lab.runtime import LabRuntime

log = logging.getLogger(__name__)
OFF = "off"


def _failure(exc: Exception) -> str:
    return f"failed: {type(exc).__name__}: {str(exc)[:300]}"


def _verification_client(rt: LabRuntime) -> tuple[Any, bool]:
    """The client that posts the verification and whether this module opened it (a
    ``verify_token`` is another identity, e.g. a campaign's verifier lab)."""
    token = rt.config.after_publish.verify_token
    if token is None:
        return rt.archive, False
    return ArchiveClient(rt.archive_url, token=token), True


def _by_archive_verifier(rt: LabRuntime) -> Any:
    """The archive verifier's record of the published paper when one is running and
    ``archive_verifier_wait_s`` allows waiting for it; None otherwise (also on any error)."""
    wait_s = rt.config.after_publish.archive_verifier_wait_s
    if wait_s <= 0 or rt.archive is None:
        return None
    from agentrxiv.verify.service import archive_verification

    try:
        return archive_verification(rt.archive, rt.state.published_id, wait_s)
    except Exception as exc:  # noqa: BLE001 - then the lab verifies by itself
        log.warning("the archive verifier of %s: %s", rt.state.published_id, exc)
        return None


def verify_published(rt: LabRuntime) -> dict[str, Any]:
    """Verify the published paper on the test split and post the record; returns the
    verified value (None when unverified), problem count, status line and seconds."""
    hooks = rt.config.after_publish
    if not hooks.verify:
        return {"status": OFF}
    from agentrxiv.verify import verify_paper

    started = time.monotonic()
    archived = _by_archive_verifier(rt)
    if archived is not None:
        return {
            "value": archived.value,
            "n": archived.n,
            "status": str(archived.status),
            "seconds": round(time.monotonic() - started, 3),
            "by": "archive",
        }
    client, opened = _verification_client(rt)
    try:
        record = verify_paper(
            client,
            rt.state.published_id,
            model_spec=hooks.verify_model or rt.config.target_model,
            split="test",
            limit=hooks.verify_limit,
            post=True,
        )
    except Exception as exc:  # noqa: BLE001 - a failed verification is data, not an abort
        log.warning("verification of %s failed: %s", rt.state.published_id, exc)
        return {"value": None, "n": None, "status": _failure(exc), "seconds": None}
    finally:
        if opened:
            client.close()
    return {
        "value": record.value,
        "n": record.n,
        "status": str(record.status),
        "seconds": round(time.monotonic() - started, 3),
    }


def distil_published(rt: LabRuntime) -> None:
    """Distil the verified paper into insights (kept in ``state.distillation``)."""
    try:
        insights.after_verification(rt)
    except Exception as exc:  # noqa: BLE001 - a paper without insights is still a paper
        line = f"insights: {_failure(exc)}"
        rt.state.distillation = {
            "paper_id": rt.state.published_id,
            "status": "failed",
            "line": line,
        }
        rt.checkpoint()


def run_after_publish(rt: LabRuntime) -> bool:
    """Run the configured steps that have not run yet; True when any step ran."""
    hooks = rt.config.after_publish
    if not hooks.enabled() or not rt.state.published_id or rt.archive is None:
        return False
    ran = False
    if not rt.state.verification:
        rt.state.verification = verify_published(rt)
        rt.checkpoint()
        ran = True
    if hooks.distil_insights and rt.config.use_insights and not rt.state.distillation:
        distil_published(rt)
        ran = True
    return ran


def summary_lines(state: Any) -> list[str]:
    """Lines for ``summary.md``: the verification of the published paper."""
    verification = state.verification
    if not verification or verification.get("status") == OFF:
        return []
    value = verification.get("value")
    shown = "n/a" if value is None else f"{value:.3f}"
    line = (
        f"- verification of {state.published_id} on the test split: "
        f"{verification['status']}, verified {shown} (n={verification.get('n')})"
    )
    return ["", "## After publishing", "", line]
