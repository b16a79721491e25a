"""Does research accumulate? ``shared`` against ``none`` (and ``own``) on arith with the
embedded model, each mode a campaign on its own archive, every paper verified on the same
test problems.

Reports, per mode: the final best verified test accuracy with its Wilson 95% interval; the
papers, tokens and wall time at which each new best was reached; the dev-test gap of every
verified claim against the variants tried before it (lab run and campaign-wide). Across
modes: the paired difference shared - none (and own - none) of the two best techniques on
the same test problems (Newcombe's paired interval, exact McNemar p). The labs use the demo's
settings (``agentrxiv.campaign.demo``): the technique space, building on the parent's code,
the model's time on measured variants rather than prose.

    python benchmarks/accumulation.py --labs 3 --papers 2 --modes shared none   # ~85 min here
    python benchmarks/accumulation.py --labs 2 --papers 1 --dev 10 --test 20        # smoke

Results go to ``benchmarks/out/accumulation_<modes>.json``; the figures it prints are what
this machine measured, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from agentrxiv.campaign.demo import DemoSize, demo_campaign_config
from agentrxiv.campaign.orchestrator import Orchestrator
from agentrxiv.campaign.selection import annotate
from agentrxiv.client import ArchiveClient
from agentrxiv.lab.demo import DemoServer
from agentrxiv.stats import mcnemar_exact, newcombe_paired, paired_table, wilson_interval

OUT = Path(__file__).resolve().parent / "out"


def load() -> str:
    """The 1/5/15-minute load average."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def best_so_far(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each new best verified value, with the papers, tokens and seconds spent to reach it."""
    steps, best, papers, tokens = [], None, 0, 0
    for record in records:
        papers += 1 if record.get("paper_id") else 0
        tokens += int(record.get("tokens") or 0)
        value = record.get("verified")
        if isinstance(value, int | float) and (best is None or value > best):
            best = value
            steps.append(
                {
                    "verified": value,
                    "paper_id": record["paper_id"],
                    "verified_n": record.get("verified_n"),
                    "papers": papers,
                    "tokens": tokens,
                    "wall_s": round(float(record.get("campaign_elapsed_s") or 0.0), 1),
                }
            )
    return steps


def correctness(client: ArchiveClient, paper_id: str) -> dict[str, bool]:
    """Per test problem id: whether the paper's technique answered it right (its latest
    independent claim verification)."""
    records = [v for v in client.list_verifications(paper_id) if not v.self_verification]
    claims = [v for v in records if v.kind == "claim" and v.details.get("technique_correct")]
    if not claims:
        return {}
    details = claims[-1].details
    marks = str(details["technique_correct"])
    return {pid: mark == "1" for pid, mark in zip(details["problems"], marks, strict=True)}


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One campaign in ``mode`` on a fresh archive; its records, best path and correctness."""
    root = Path(tempfile.mkdtemp(prefix=f"accumulation-{mode}-"))
    size = DemoSize(args.labs, args.papers, args.concurrency, args.dev, args.test)
    with DemoServer(root, lab="bench-owner", admin=True) as server:
        config = demo_campaign_config(
            root,
            server.url,
            server.token,
            model=args.model,
            size=size,
            worker_setup=args.worker_setup,
            target_model=args.target_model,
        ).model_copy(update={"mode": mode, "name": f"accumulation-{mode}"})
        started = time.monotonic()
        orchestrator = Orchestrator(config)
        orchestrator.prepare()
        state = orchestrator.run()
        wall = time.monotonic() - started
        records = [r.model_dump() for r in state.records()]
        steps = best_so_far(records)
        with ArchiveClient(server.url) as client:
            marks = correctness(client, steps[-1]["paper_id"]) if steps else {}
    best = steps[-1] if steps else None
    n = best["verified_n"] if best else None
    interval = wilson_interval(round(best["verified"] * n), n) if best and n else None
    return {
        "mode": mode,
        "status": state.status,
        "wall_s": round(wall, 1),
        "papers": sum(1 for r in records if r.get("paper_id")),
        "tokens": sum(int(r.get("tokens") or 0) for r in records),
        "best_verified": best["verified"] if best else None,
        "best_verified_ci95": interval,
        "best_path": steps,
        "built_on": sum(1 for r in records if r.get("builds_on")),
        "gap_vs_variants": [
            {k: r.get(k) for k in ("paper_id", "gap", "variants_tried", "variants_tried_campaign")}
            for r in annotate(records)
            if r.get("paper_id")
        ],
        "correct": marks,
    }


def paired(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """``a``'s best technique minus ``b``'s on the test problems both were verified on."""
    common = sorted(set(a["correct"]) & set(b["correct"]))
    if not common:
        return None
    table = paired_table([a["correct"][p] for p in common], [b["correct"][p] for p in common])
    difference, low, high = newcombe_paired(table)
    return {
        "pair": f"{a['mode']} - {b['mode']}",
        "n": len(common),
        "difference": round(difference, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "mcnemar_p": mcnemar_exact(table),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["shared", "none", "own"])
    parser.add_argument("--labs", type=int, default=3)
    parser.add_argument("--papers", type=int, default=2, help="papers per lab")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--dev", type=int, default=30, help="dev problems per experiment")
    parser.add_argument("--test", type=int, default=100, help="test problems per verification")
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--target-model", default=None, help="default: --model")
    parser.add_argument("--worker-setup", default=None, help="module:function (scripted runs)")
    args = parser.parse_args()
    started_load = load()
    results = [run_mode(mode, args) for mode in args.modes]
    by_mode = {r["mode"]: r for r in results}
    differences = [
        paired(by_mode[m], by_mode["none"])
        for m in ("shared", "own")
        if {m, "none"} <= set(by_mode)
    ]
    report = {
        "sizes": vars(args),
        "load_at_start": started_load,
        "load_at_end": load(),
        "modes": [{k: v for k, v in r.items() if k != "correct"} for r in results],
        "paired_differences": [d for d in differences if d is not None],
    }
    OUT.mkdir(exist_ok=True)
    path = OUT / f"accumulation_{'_'.join(args.modes)}.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    for r in report["modes"]:
        ci = r["best_verified_ci95"]
        shown = f"{r['best_verified']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "none verified"
        print(
            f"{r['mode']:>6}: best verified {shown}; {r['papers']} papers "
            f"({r['built_on']} built on a parent), {r['tokens']} tokens, {r['wall_s']} s"
        )
    for d in report["paired_differences"]:
        print(
            f"{d['pair']}: {d['difference']:+.3f} {d['ci95']} on n={d['n']}, p={d['mcnemar_p']:.3g}"
        )
    print(f"load {started_load} -> {report['load_at_end']}; written to {path}")


if __name__ == "__main__":
    main()
