"""Campaign reports and comparisons from the server's campaign records.

``write_report`` writes ``campaign.json`` (every paper's record) and PNG figures: the best
verified value so far against paper number, campaign wall time and cumulative cost, one
line per lab and one for the campaign, claimed values (dashed) beside verified ones; and
a lineage graph of the campaign's papers. ``compare`` draws several campaigns on one
figure and summarises each: final best verified value with a 95% interval, papers,
tokens, dollars, hours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentrxiv.archive.campaign_chart import best_so_far, escape_label
from agentrxiv.campaign import selection
from agentrxiv.stats import wilson_interval

Record = dict[str, Any]
FIGURES = (
    "by_paper.png",
    "by_wall_time.png",
    "by_cost.png",
    "lineage.png",
    selection.GAP_FIGURE,
)


def wilson(p: float, n: int | None) -> tuple[float, float] | None:
    """The Wilson 95% interval of a proportion ``p`` measured over ``n`` problems (the
    harness's one ``wilson_interval``, on the count ``p * n``)."""
    if not n or not 0 <= p <= 1:
        return None
    return wilson_interval(round(p * n), n)


def ordered(records: list[Record]) -> list[Record]:
    """Records in the order they finished."""
    return sorted(records, key=lambda r: (r.get("finished_at") or 0, r["lab"], r["paper"]))


def summary(campaign: Any) -> dict[str, Any]:
    """Per campaign: final best verified (with interval), papers, tokens, dollars, hours."""
    records = ordered(list(campaign.records))
    verified = [r for r in records if isinstance(r.get("verified"), int | float)]
    best = max(verified, key=lambda r: r["verified"]) if verified else None
    costs = [r.get("cost_usd") for r in records]
    hours = max((r.get("campaign_elapsed_s") or 0 for r in records), default=0) / 3600
    claimed = [r["claimed"] for r in records if isinstance(r.get("claimed"), int | float)]
    return {
        "id": campaign.id,
        "name": campaign.name,
        "mode": campaign.config.get("mode"),
        "status": campaign.status,
        "best_verified": best["verified"] if best else None,
        "best_verified_ci95": wilson(best["verified"], best.get("verified_n")) if best else None,
        "best_claimed": max(claimed) if claimed else None,
        "papers": sum(1 for r in records if r.get("paper_id")),
        "runs": len(records),
        "tokens": sum(int(r.get("tokens") or 0) for r in records),
        "cost_usd": None if any(c is None for c in costs) else sum(costs),
        "hours": hours,
        "near_duplicate_share": getattr(campaign, "near_duplicate_share", None),
        **selection.summary(records),
    }


def _xs(records: list[Record], axis: str) -> list[float]:
    if axis == "paper":
        return [float(i) for i in range(1, len(records) + 1)]
    if axis == "wall":
        return [(r.get("campaign_elapsed_s") or 0) / 3600 for r in records]
    key = "cost_usd" if _has_cost(records) else "tokens"
    running, out = 0.0, []
    for r in records:
        running += float(r.get(key) or 0)
        out.append(running)
    return out


def _has_cost(records: list[Record]) -> bool:
    return any((r.get("cost_usd") or 0) > 0 for r in records)


def _plot_curves(ax: Any, label: str, records: list[Record], axis: str, color: str) -> None:
    xs = _xs(records, axis)
    for key, style, width in (("verified", "-", 2.0), ("claimed", "--", 1.0)):
        values = best_so_far(
            [r.get(key) if isinstance(r.get(key), int | float) else None for r in records]
        )
        ys = [v if v is not None else float("nan") for v in values]
        ax.step(
            xs,
            ys,
            where="post",
            color=color,
            linestyle=style,
            linewidth=width,
            label=escape_label(f"{label} {key}"),
            marker="o",
            markersize=3,
        )


AXIS_LABELS = {"paper": "papers finished", "wall": "campaign wall time (hours)"}


def curve_figure(groups: list[tuple[str, list[Record]]], axis: str, title: str, path: Path) -> None:
    """One PNG: best-so-far verified (solid) and claimed (dashed) for each group."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for index, (label, records) in enumerate(groups):
        _plot_curves(ax, label, ordered(records), axis, f"C{index}")
    every = [r for _, rs in groups for r in rs]
    default = "cumulative cost ($)" if _has_cost(every) else "cumulative tokens"
    ax.set_xlabel(AXIS_LABELS.get(axis, default))
    if axis == "paper":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("best value so far")
    ax.set_title(escape_label(title), loc="left")
    ax.grid(True, color="#eaeef2")
    if every:
        ax.legend(loc="best", frameon=False, fontsize=8)
    fig.savefig(path, dpi=110)


def lineage_figure(records: list[Record], title: str, path: Path) -> None:
    """Papers as nodes (x: finish order, y: lab), arrows from each parent to the paper."""
    from matplotlib.figure import Figure

    records = [r for r in ordered(records) if r.get("paper_id")]
    labs = sorted({r["lab"] for r in records})
    pos = {r["paper_id"]: (i, labs.index(r["lab"])) for i, r in enumerate(records)}
    fig = Figure(
        figsize=(max(6, len(records) * 0.9), max(3, len(labs) * 1.0)), layout="constrained"
    )
    ax = fig.add_subplot()
    for r in records:
        x, y = pos[r["paper_id"]]
        for parent in r.get("parents") or []:
            if parent in pos:
                px, py = pos[parent]
                ax.annotate(
                    "",
                    xy=(x, y),
                    xytext=(px, py),
                    arrowprops={
                        "arrowstyle": "-|>",
                        "color": "#57606a",
                        "lw": 1,
                        "shrinkA": 9,
                        "shrinkB": 9,
                    },
                )
        value = r.get("verified") if r.get("verified") is not None else r.get("claimed")
        text = r["paper_id"] + ("" if value is None else f"\n{value:.2f}")
        ax.scatter([x], [y], s=300, color=f"C{labs.index(r['lab'])}", zorder=3)
        ax.annotate(
            escape_label(text),
            (x, y),
            textcoords="offset points",
            xytext=(0, 12),
            ha="center",
            fontsize=7,
        )
    ax.set_yticks(range(len(labs)), [escape_label(lab) for lab in labs])
    ax.set_xlabel("papers in finish order")
    ax.set_title(escape_label(title), loc="left")
    ax.set_ylim(-0.7, max(len(labs) - 0.3, 0.7))
    ax.spines[["top", "right"]].set_visible(False)
    fig.savefig(path, dpi=110)


def write_report(campaign: Any, out: Path) -> dict[str, Any]:
    """Write ``campaign.json`` and the figures into ``out``; return the JSON data."""
    out.mkdir(parents=True, exist_ok=True)
    records = selection.annotate(ordered(list(campaign.records)))
    data = {
        "campaign": campaign.model_dump(mode="json", exclude={"records"}),
        "summary": summary(campaign),
        "papers": records,
    }
    (out / "campaign.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    labs = sorted({r["lab"] for r in records})
    groups = [("campaign", records)] + [
        (lab, [r for r in records if r["lab"] == lab]) for lab in labs
    ]
    for axis, name in zip(("paper", "wall", "cost"), FIGURES[:3], strict=True):
        curve_figure(groups, axis, f"{campaign.name}: best value so far", out / name)
    lineage_figure(records, f"{campaign.name}: lineage", out / FIGURES[3])
    selection.gap_figure(records, f"{campaign.name}: dev-test gap", out / FIGURES[4])
    return data


def compare(campaigns: list[Any], out: Path) -> list[dict[str, Any]]:
    """One figure with every campaign's curves; returns each campaign's summary."""
    out.mkdir(parents=True, exist_ok=True)
    groups = [(f"{c.name} ({c.config.get('mode')})", list(c.records)) for c in campaigns]
    curve_figure(groups, "paper", "campaigns compared", out / "compare_by_paper.png")
    curve_figure(groups, "wall", "campaigns compared", out / "compare_by_wall_time.png")
    rows = [summary(c) for c in campaigns]
    (out / "compare.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return rows
