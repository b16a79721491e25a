"""Campaign curves as SVG for the server's campaign page: the best verified value so far
(solid) and the best claimed value so far (dashed) against papers finished, per lab and for
the whole campaign. Labels escape ``$`` so matplotlib never reads them as mathtext."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any


def escape_label(text: str) -> str:
    """``text`` safe as a matplotlib label (no mathtext)."""
    return str(text).replace("$", r"\$")


def best_so_far(values: Sequence[float | None]) -> list[float | None]:
    """Running maximum, ``None`` until the first value."""
    out: list[float | None] = []
    best: float | None = None
    for value in values:
        if value is not None and (best is None or value > best):
            best = value
        out.append(best)
    return out


def _series(records: list[dict[str, Any]], key: str) -> list[float | None]:
    values = []
    for record in records:
        value = record.get(key)
        values.append(float(value) if isinstance(value, int | float) else None)
    return values


def campaign_chart_svg(name: str, records: list[dict[str, Any]]) -> str:
    """An SVG of best-so-far verified (solid) and claimed (dashed) values per paper."""
    # Imported lazily: matplotlib costs about a second of start-up the server rarely needs.
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 10, "svg.hashsalt": "cp"}):
        fig = Figure(figsize=(9, 3.6), layout="constrained")
        ax = fig.add_subplot()
        groups = [("campaign", records)]
        labs = sorted({str(r.get("lab", "")) for r in records})
        if len(labs) > 1:
            groups += [(lab, [r for r in records if str(r.get("lab", "")) == lab]) for lab in labs]
        for index, (label, rows) in enumerate(groups):
            xs = list(range(1, len(rows) + 1))
            color = f"C{index}"
            width = 2.2 if label == "campaign" else 1.2
            verified = best_so_far(_series(rows, "verified"))
            claimed = best_so_far(_series(rows, "claimed"))
            ax.step(
                xs,
                [v if v is not None else float("nan") for v in verified],
                where="post",
                color=color,
                linewidth=width,
                marker="o",
                markersize=4,
                label=escape_label(f"{label} verified"),
            )
            ax.step(
                xs,
                [v if v is not None else float("nan") for v in claimed],
                where="post",
                color=color,
                linewidth=1,
                linestyle="--",
                marker="x",
                markersize=4,
                label=escape_label(f"{label} claimed"),
            )
        ax.set_title(escape_label(f"Best value so far: {name}"), loc="left", fontsize=11)
        ax.set_xlabel("papers finished")
        # Whole papers only, and a single paper is a point, not a stretched axis.
        count = max(len(records), 1)
        if count <= 12:
            ax.set_xticks(range(1, count + 1))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5, count + 0.5)
        ax.set_ylabel("value")
        ax.grid(True, color="#eaeef2", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        if records:
            ax.legend(loc="best", frameon=False, fontsize=8)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()
