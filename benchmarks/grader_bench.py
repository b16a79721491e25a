"""Grader throughput (answers/s) on the 500 MATH-500 gold pairs, measured side by side:

1. ``grade(solution, answer)``: extraction + full check (most decided by normalised strings),
2. math-verify alone on the same 500 (answer, answer) pairs (parse + verify, no shortcut),
3. ``is_equivalent("0", answer)``: a wrong answer per problem (the usual case for a weak
   model), which falls through to the numeric check or SymPy.

    python benchmarks/grader_bench.py --data math500.jsonl
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable

from agentrxiv.bench.grading import compare_answers, grade, math_verify_equal
from agentrxiv.bench.math500 import Problem, load_math500


def throughput(label: str, problems: list[Problem], check: Callable[[Problem], bool]) -> None:
    """Time ``check`` over every problem and print answers/s and how many passed."""
    started = time.perf_counter()
    passed = sum(1 for problem in problems if check(problem))
    wall = time.perf_counter() - started
    print(
        f"{label:<38} {len(problems) / wall:8.1f} answers/s  "
        f"({wall:.2f} s, {passed}/{len(problems)} judged equal)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("AGENTRXIV_MATH500"))
    args = parser.parse_args()
    if not args.data:
        parser.error("pass --data PATH or set AGENTRXIV_MATH500")
    problems = load_math500(args.data)
    compare_answers("1", r"\sqrt{2}")  # load SymPy and the LaTeX parser outside the timings
    print(f"{os.cpu_count()} CPUs, load (1 min) {os.getloadavg()[0]:.1f}")

    throughput("grade(solution, gold)", problems, lambda p: grade(p.solution, p.answer).correct)
    throughput(
        "math-verify only (gold, gold)",
        problems,
        lambda p: bool(math_verify_equal(p.answer, p.answer)),
    )
    methods: Counter[str] = Counter()

    def wrong(problem: Problem) -> bool:
        correct, method = compare_answers("0", problem.answer)
        methods[method] += 1
        return correct

    throughput('is_equivalent("0", gold) (wrong)', problems, wrong)
    print(f"  decided by: {dict(methods)}")


if __name__ == "__main__":
    main()
