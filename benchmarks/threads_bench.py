"""Embedded models side by side: what llama.cpp's prompt-evaluation threads cost when
several model processes share the cores, as in a campaign (one model worker per lab).

Each of ``--processes`` processes loads SmolLM2 and answers ``--calls`` short arithmetic
prompts (a worked example and a problem, as the demo's technique programs send), all
processes at once. Two settings, measured one after the other in the same run:

- ``batch=all``: ``n_threads_batch`` left to llama-cpp-python, which takes every core
  (``multiprocessing.cpu_count()``) for prompt evaluation while generation uses
  ``n_threads``;
- ``batch=gen``: prompt evaluation with the same threads as generation
  (``agentrxiv.llm.local.default_threads``), what the model layer now passes.

llama.cpp's threads spin-wait on each other, so processes that each want every core slow each
other down far more than the cores they share explain.

Usage: python benchmarks/threads_bench.py [--processes 2] [--calls 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time

PROMPT = [
    {"role": "system", "content": "Give only the final answer. Put it inside \\boxed{}."},
    {"role": "user", "content": "Problem:\nWhat is 66 + 69?"},
    {"role": "assistant", "content": "66 + 69 = 135. The answer is \\boxed{135}."},
]


def _answer_calls(batch_threads: int | None, calls: int, start, out) -> None:
    """One model process: load, wait for the others, answer ``calls`` prompts, report."""
    from llama_cpp import Llama

    from agentrxiv.llm.local import default_threads, smollm2_path

    llama = Llama(
        model_path=str(smollm2_path()),
        n_ctx=2048,
        n_threads=default_threads(),
        n_threads_batch=batch_threads,
        verbose=False,
    )
    start.wait()
    latencies, tokens = [], 0
    began = time.perf_counter()
    for number in range(calls):
        problem = {"role": "user", "content": f"Problem:\nWhat is {17 + number} + {58 + number}?"}
        llama.reset()
        called = time.perf_counter()
        response = llama.create_chat_completion(
            messages=[*PROMPT, problem], max_tokens=16, temperature=0.0
        )
        latencies.append(time.perf_counter() - called)
        tokens += response["usage"]["prompt_tokens"] + response["usage"]["completion_tokens"]
    out.put((time.perf_counter() - began, statistics.median(latencies), tokens))


def measure(batch_threads: int | None, processes: int, calls: int) -> dict[str, float]:
    """Wall time of ``processes`` model processes answering ``calls`` prompts each at once."""
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(processes + 1), context.Queue()
    workers = [
        context.Process(target=_answer_calls, args=(batch_threads, calls, start, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    results = [out.get() for _ in workers]
    wall = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return {
        "wall_s": wall,
        "median_call_s": statistics.median(r[1] for r in results),
        "tokens_per_s": sum(r[2] for r in results) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from agentrxiv.llm.local import default_threads

    generation = default_threads()
    print(
        f"# {args.processes} model processes x {args.calls} calls at once; "
        f"{os.cpu_count()} cores, generation threads {generation}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print("\n| round | prompt threads | wall s | median call s | tokens/s (all processes) |")
    print("|---:|---|---:|---:|---:|")
    walls: dict[str, list[float]] = {"all": [], "gen": []}
    for round_number in range(1, args.rounds + 1):
        # Alternate which setting goes first, so background load hits both alike.
        order = [("all", None), ("gen", generation)]
        for name, threads in order if round_number % 2 else order[::-1]:
            result = measure(threads, args.processes, args.calls)
            walls[name].append(result["wall_s"])
            label = f"{name} ({threads or multiprocessing.cpu_count()})"
            print(
                f"| {round_number} | {label} | {result['wall_s']:.1f} | "
                f"{result['median_call_s']:.2f} | {result['tokens_per_s']:.0f} |",
                flush=True,
            )
    ratio = sum(walls["all"]) / sum(walls["gen"])
    print(f"\nwall time, all cores for prompts / generation threads: {ratio:.2f}x")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
