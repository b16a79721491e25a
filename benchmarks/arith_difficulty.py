"""How hard is ``arith`` for a model? Zero-shot vs few-shot (3 worked examples) on the dev
split of one or more difficulty settings, with Wilson intervals and the exact McNemar p-value
of the paired difference. Used to pick arith's default difficulty (zero-shot 5-40%, few-shot
gain significant at n >= 200) for the embedded SmolLM2-135M.

    python benchmarks/arith_difficulty.py --n 200                        # the default setting
    python benchmarks/arith_difficulty.py --n 100 --setting digits=1,operands=3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

from agentrxiv.bench.registry import get_benchmark
from agentrxiv.bench.runner import evaluate
from agentrxiv.bench.techniques import resolve_technique
from agentrxiv.llm.registry import get_model


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def measure(spec: str, model_spec: str, n: int, max_tokens: int | None) -> dict:
    """Zero-shot and few-shot on the first ``n`` dev problems of ``spec``."""
    bench = get_benchmark(spec)
    problems = bench.problems("dev", limit=n)
    model = get_model(model_spec)
    cap = max_tokens or bench.default_max_tokens
    row: dict = {"benchmark": bench.spec, "n": len(problems), "max_tokens": cap}
    marks = {}
    for name in ("zero-shot", "few-shot"):
        technique = resolve_technique(name, max_tokens=cap, benchmark=bench)
        started = time.perf_counter()
        report = evaluate(technique, model, problems, concurrency=1, benchmark=bench)
        marks[name] = [r.correct for r in report.records]
        low, high = report.ci95
        row[name] = {
            "accuracy": round(report.accuracy, 4),
            "ci95": [round(low, 4), round(high, 4)],
            "wall_s": round(time.perf_counter() - started, 1),
        }
    only_few = sum(f and not z for z, f in zip(marks["zero-shot"], marks["few-shot"], strict=True))
    only_zero = sum(z and not f for z, f in zip(marks["zero-shot"], marks["few-shot"], strict=True))
    row["gain"] = round(row["few-shot"]["accuracy"] - row["zero-shot"]["accuracy"], 4)
    row["discordant"] = {"few_only": only_few, "zero_only": only_zero}
    row["mcnemar_p"] = mcnemar_exact(only_few, only_zero)
    return row


def main() -> None:
    """Measure each setting and print one JSON line per setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument(
        "--setting", action="append", default=[], help="arith options, e.g. digits=3,operands=2"
    )
    args = parser.parse_args()
    for setting in args.setting or [""]:
        spec = f"arith:{setting}" if setting else "arith"
        row = measure(spec, args.model, args.n, args.max_tokens)
        row["load_avg_1m"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
