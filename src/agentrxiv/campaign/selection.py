"""Selection on dev, per claim: how many variants were measured on dev before each claim was
chosen (in its lab run, and campaign-wide up to that claim), next to its dev-test gap
(claimed minus verified), and the figure of the gap against the variants tried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentrxiv.archive.campaign_chart import escape_label

Record = dict[str, Any]
GAP_FIGURE = "gap_vs_variants.png"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def annotate(records: list[Record]) -> list[Record]:
    """``records`` (in finish order) with ``variants_tried_campaign`` (the variants measured
    on dev by every run finished so far, this one included) and ``gap`` (claimed - verified)."""
    total, out = 0, []
    for record in records:
        tried = record.get("variants_tried")
        total += int(tried) if isinstance(tried, int) else 0
        claimed, verified = _number(record.get("claimed")), _number(record.get("verified"))
        gap = claimed - verified if claimed is not None and verified is not None else None
        out.append({**record, "variants_tried_campaign": total, "gap": gap})
    return out


def summary(records: list[Record]) -> dict[str, Any]:
    """The campaign's selection figures: variants tried in all, and the mean gap."""
    annotated = annotate(records)
    gaps = [r["gap"] for r in annotated if r["gap"] is not None]
    return {
        "variants_tried": annotated[-1]["variants_tried_campaign"] if annotated else 0,
        "mean_gap": sum(gaps) / len(gaps) if gaps else None,
        "gaps_measured": len(gaps),
    }


def gap_figure(records: list[Record], title: str, path: Path) -> None:
    """The dev-test gap of each verified claim against the variants tried before it, in its
    lab run (left) and campaign-wide (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [r for r in annotate(records) if r["gap"] is not None]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    for ax, key, label in (
        (axes[0], "variants_tried", "variants measured on dev (lab run)"),
        (axes[1], "variants_tried_campaign", "variants measured on dev (campaign so far)"),
    ):
        xs = [r.get(key) or 0 for r in points]
        ax.scatter(xs, [r["gap"] for r in points], color="#3366cc", s=24)
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.set_xlabel(label, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("claimed (dev) - verified (test)")
    if not points:
        axes[0].text(0.5, 0.5, "no verified claim yet", transform=axes[0].transAxes, ha="center")
    fig.suptitle(escape_label(title), fontsize=10, x=0.01, ha="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
