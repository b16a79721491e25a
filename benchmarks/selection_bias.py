"""The winner's curse that held-out verification removes, measured: K technique variants
(system-prompt wordings of a 3-shot prompt, ``selection_bias_wordings.yaml``) are scored on
``arith``'s dev split; the best by dev accuracy and one picked at random are then run on the
test split. For each, the dev-minus-test gap with a 95% interval (Newcombe's hybrid score
interval for two independent proportions). Selecting on dev inflates the winner's dev score;
the random pick's gap is centred on zero.

    python benchmarks/selection_bias.py                       # defaults: K=20, dev 30, test 100
    python benchmarks/selection_bias.py --k 10 --dev-n 30 --test-n 100 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path

import yaml

from agentrxiv.bench.registry import get_benchmark
from agentrxiv.bench.runner import evaluate
from agentrxiv.llm.base import ChatModel
from agentrxiv.llm.registry import get_model
from agentrxiv.stats import wilson_interval

WORDINGS = Path(__file__).with_name("selection_bias_wordings.yaml")
MAX_TOKENS = 12  # "34 + 84 = 118": the integer grader takes the last integer


def variant(system: str, examples: list[tuple[str, str]]):  # noqa: ANN201
    """A few-shot technique with ``system`` as its instruction."""

    def solve(problem: str, model: ChatModel) -> str:
        messages = [{"role": "system", "content": system}]
        for question, reply in examples:
            messages += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": reply},
            ]
        messages.append({"role": "user", "content": problem})
        return model.chat(messages, temperature=0.0, max_tokens=MAX_TOKENS).text

    return solve


def gap_interval(c1: int, n1: int, c2: int, n2: int) -> tuple[float, float, float]:
    """p1 - p2 and Newcombe's 95% interval (independent samples)."""
    p1, p2 = c1 / n1, c2 / n2
    l1, u1 = wilson_interval(c1, n1)
    l2, u2 = wilson_interval(c2, n2)
    d = p1 - p2
    return (
        d,
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def main() -> None:
    """Score K variants on dev, the best and a random one on test; print the gaps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--dev-n", type=int, default=30)
    parser.add_argument("--test-n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="Picks the random variant.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    wordings = yaml.safe_load(WORDINGS.read_text(encoding="utf-8"))["wordings"][: args.k]
    bench = get_benchmark("arith")
    examples = [(p.problem, p.solution) for p in bench.few_shot_examples(3)]
    dev, test = bench.problems("dev", limit=args.dev_n), bench.problems("test", limit=args.test_n)
    model = get_model(args.model)
    started = time.perf_counter()
    dev_correct = []
    for wording in wordings:
        report = evaluate(variant(wording, examples), model, dev, concurrency=1, benchmark=bench)
        dev_correct.append(report.correct)
        print(f"dev {report.correct}/{len(dev)}  {wording}", flush=True)
    best = max(range(len(wordings)), key=lambda i: dev_correct[i])
    rand = random.Random(args.seed).randrange(len(wordings))
    rows = {}
    for label, index in (("best-on-dev", best), ("random", rand)):
        technique = variant(wordings[index], examples)
        report = evaluate(technique, model, test, concurrency=1, benchmark=bench)
        gap, low, high = gap_interval(dev_correct[index], len(dev), report.correct, len(test))
        rows[label] = {
            "wording": wordings[index],
            "dev_accuracy": round(dev_correct[index] / len(dev), 4),
            "test_accuracy": round(report.accuracy, 4),
            "gap": round(gap, 4),
            "gap_ci95": [round(low, 4), round(high, 4)],
        }
        print(f"{label}: {json.dumps(rows[label])}", flush=True)
    summary = {
        "k": len(wordings),
        "dev_n": len(dev),
        "test_n": len(test),
        "dev_accuracy_mean": round(sum(dev_correct) / len(dev_correct) / len(dev), 4),
        "dev_accuracy_range": [min(dev_correct) / len(dev), max(dev_correct) / len(dev)],
        **rows,
        "wall_s": round(time.perf_counter() - started, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "model": args.model,
    }
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
