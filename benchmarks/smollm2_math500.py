"""SmolLM2-135M-Instruct (the embedded local model) on MATH-500 through our harness.

Runs ``zero-shot`` and ``cot`` on the first N problems (default 100) with the response cache
off, so every token is generated in this run, and prints accuracy, Wilson 95% interval,
tokens and wall time per technique. Results go to ``benchmarks/out/smollm2_math500.json``
after each technique. Slow on a small CPU: run it in the background with nohup.

    python benchmarks/smollm2_math500.py --data /path/to/math500.jsonl [--limit 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from agentrxiv.bench.math500 import file_sha256, load_math500
from agentrxiv.bench.runner import evaluate
from agentrxiv.bench.techniques import resolve_technique
from agentrxiv.llm.ledger import Ledger
from agentrxiv.llm.registry import get_model

OUT = Path(__file__).parent / "out" / "smollm2_math500.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("AGENTRXIV_MATH500"), required=False)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--techniques", default="zero-shot,cot")
    parser.add_argument("--max-tokens", type=int, default=None, help="Cap per call (all).")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not args.data:
        parser.error("pass --data PATH or set AGENTRXIV_MATH500")

    problems = load_math500(args.data, limit=args.limit)
    summary: dict[str, object] = {
        "model": "local/smollm2",
        "data_sha256": file_sha256(args.data),
        "problems": len(problems),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": {},
    }
    for name in args.techniques.split(","):
        ledger = Ledger()
        model = get_model("local/smollm2", ledger=ledger, cache=False)
        technique = resolve_technique(name, max_tokens=args.max_tokens)
        started = time.perf_counter()
        report = evaluate(technique, model, problems, concurrency=1, tag=f"bench/{name}")
        wall = time.perf_counter() - started
        low, high = report.ci95
        print(
            f"{name:>10}: {report.correct}/{report.n} = {report.accuracy:.1%} "
            f"(95% CI {low:.1%}-{high:.1%}), {report.usage.completion_tokens} completion "
            f"tokens, wall {wall:.0f}s ({wall / report.n:.1f}s/problem)",
            flush=True,
        )
        summary["results"][name] = {  # type: ignore[index]
            "accuracy": report.accuracy,
            "correct": report.correct,
            "n": report.n,
            "ci95": report.ci95,
            "usage": report.usage.model_dump(),
            "wall_s": round(wall, 1),
            "max_tokens": getattr(technique, "max_tokens", None),
            "records": [r.model_dump(mode="json") for r in report.records],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
