"""``agentrxiv demo``: a small shared campaign on arith with the embedded model.

Two labs write two papers each, two at a time, in ``shared`` mode: a second paper starts
from the best technique in the campaign so far (``lab.accumulate``), and every paper is
verified on the test split. The lab is sized for the search, not for prose: one reviewer,
no dialogue or editing rounds, a short literature review; the technique options the plan
chooses and the unchanged start are both measured on dev. The summary lists, per paper,
the claim (dev), the verification (test, with its interval), what it built on, the variants
tried, and the time per phase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrxiv.campaign.config import CampaignConfig
from agentrxiv.campaign.ledger import CampaignState, PaperRecord
from agentrxiv.campaign.report import wilson
from agentrxiv.lab.config import PHASES

DEMO_TOPIC = "Prompting techniques that raise the arithmetic accuracy of a small language model"


@dataclass(frozen=True)
class DemoSize:
    """How big the demo campaign is (the defaults finish in minutes on two cores)."""

    labs: int = 2
    papers: int = 2
    concurrency: int = 2
    dev_problems: int = 30
    test_problems: int = 60


def lab_template(model: str, size: DemoSize, unsafe_sandbox: bool) -> dict[str, Any]:
    """Lab settings that spend the model's time on measured variants, not on prose."""
    return {
        "model": model,
        "target_model": model,
        "problem_limit": size.dev_problems,
        "papers_to_review": 1,
        "literature_steps": 2,
        "dialogue_turns": 0,
        "data_prep_attempts": 1,
        "mle_solver_steps": 0,
        "mle_candidates": 1,
        "mle_max_repairs": 0,
        "paper_solver_steps": 0,
        "report_written_sections": ["abstract", "discussion"],
        "max_tokens": 160,
        "seed_max_tokens": 64,
        "structured_retries": 1,
        "memory_turns": 4,
        "memory_chars": 4_000,
        "reviewers": ["harsh_but_fair"],
        "latex": False,
        "experiment_concurrency": 1,
        "target_cache": True,  # the baseline and an unchanged parent are measured once
        "publish_rule": {"max_rounds": 1, "after_last_round": "publish"},
        "unsafe_sandbox": unsafe_sandbox,
    }


def demo_campaign_config(
    root: Path,
    server: str,
    token: str,
    *,
    model: str = "local/smollm2",
    size: DemoSize = DemoSize(),
    unsafe_sandbox: bool = False,
    worker_setup: str | None = None,
    target_model: str | None = None,
) -> CampaignConfig:
    """The demo campaign: shared mode on arith, every paper verified on test (the target
    model is ``model`` unless given; tests pair scripted agents with a scripted target)."""
    lab = lab_template(model, size, unsafe_sandbox)
    if target_model:
        lab["target_model"] = target_model
    return CampaignConfig.model_validate(
        {
            "name": "demo",
            "topic": DEMO_TOPIC,
            "benchmark": "arith",
            "labs": size.labs,
            "papers": size.papers,
            "mode": "shared",
            "concurrency": size.concurrency,
            "server": server,
            "token": token,
            "output_dir": str(root / "campaigns"),
            "lab": lab,
            "verify": True,
            "verify_limit": size.test_problems,
            "worker_setup": worker_setup,
        }
    )


def phase_seconds(lab_dir: str) -> dict[str, float]:
    """Seconds per phase of one lab run (from its ``state.json``; empty if unreadable)."""
    path = Path(lab_dir) / "state.json"
    try:
        summaries = json.loads(path.read_text(encoding="utf-8")).get("summaries", {})
    except (OSError, ValueError):
        return {}
    return {name: float(s.get("seconds", 0.0)) for name, s in summaries.items()}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def verified_text(record: PaperRecord) -> str:
    """The verified value with its n and Wilson 95% interval, e.g. ``31.7% [21.3, 44.2] n=60``."""
    if record.verified is None:
        return record.verification or "not verified"
    interval = wilson(record.verified, record.verified_n)
    ci = f" [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]" if interval else ""
    return f"{_pct(record.verified)}{ci} n={record.verified_n}"


def summary_rows(state: CampaignState) -> list[dict[str, str]]:
    """One row per run: paper, lab, claimed (dev), verified (test), built on, variants, time."""
    rows = []
    for entry in sorted(state.runs, key=lambda r: (r.paper, r.lab)):
        record = entry.record or PaperRecord(lab=entry.lab, paper=entry.paper)
        seconds = phase_seconds(entry.lab_dir) if entry.lab_dir else {}
        rows.append(
            {
                "paper": record.paper_id or f"({record.outcome or entry.status})",
                "lab": f"{entry.lab} #{entry.paper}",
                "claimed": _pct(record.claimed),
                "verified": verified_text(record),
                "builds_on": record.builds_on or "template",
                "variants": "–" if record.variants_tried is None else str(record.variants_tried),
                "phases": " ".join(
                    f"{name[:4]} {seconds[name]:.0f}s" for name in PHASES if name in seconds
                ),
            }
        )
    return rows
