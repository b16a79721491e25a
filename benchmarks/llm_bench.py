"""Embedded-model throughput: generated tokens/s through agentrxiv's model interface (cache
off) versus calling llama-cpp-python directly, same model instance, prompts and settings.

Runs are interleaved, alternating which side goes first, so background load hits both sides
alike; llama.cpp's prompt-prefix reuse is reset before every run so neither side gets the
other's prompt evaluation for free.

Usage: python benchmarks/llm_bench.py [--rounds 3] [--max-tokens 64] [--model smollm2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from agentrxiv.llm import Ledger, get_model
from agentrxiv.llm.base import make_request
from agentrxiv.llm.local import default_threads, load_llama

PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "List three prime numbers and say why they are prime.",
    "Write a short haiku about mathematics.",
    "What is 17 times 23? Show the steps.",
]


def _direct(llama, lock, kwargs) -> tuple[int, float]:
    started = time.perf_counter()
    with lock:
        response = llama.create_chat_completion(**kwargs)
    return response["usage"]["completion_tokens"], time.perf_counter() - started


def _ours(model, messages, max_tokens: int) -> tuple[int, float]:
    started = time.perf_counter()
    result = model.chat(messages, max_tokens=max_tokens, temperature=0.0, tag="bench/llm")
    return result.usage.completion_tokens, time.perf_counter() - started


def main() -> None:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", default="smollm2", help="smollm2 or a path to a .gguf file")
    args = parser.parse_args()

    model = get_model(f"local/{args.model}", cache=False, ledger=Ledger())
    backend = model.backend
    llama, lock = load_llama(backend.path, backend.n_ctx)
    print(f"model {backend.path.name}; threads {default_threads()}; {platform.processor()}")
    print(f"cores {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} at start")
    model.chat([{"role": "user", "content": "warm up"}], max_tokens=8)

    totals = {"direct": [0, 0.0], "agentrxiv": [0, 0.0]}
    per_round: dict[str, list[float]] = {"direct": [], "agentrxiv": []}
    for round_number in range(args.rounds):
        for index, prompt in enumerate(PROMPTS):
            messages = [{"role": "user", "content": prompt}]
            kwargs = backend.completion_kwargs(make_request(messages, max_tokens=args.max_tokens))
            order = (
                ("direct", "agentrxiv")
                if (round_number + index) % 2 == 0
                else ("agentrxiv", "direct")
            )
            for side in order:
                with lock:
                    llama.reset()
                if side == "direct":
                    tokens, seconds = _direct(llama, lock, kwargs)
                else:
                    tokens, seconds = _ours(model, messages, args.max_tokens)
                totals[side][0] += tokens
                totals[side][1] += seconds
                per_round[side].append(tokens / seconds)

    print(f"\n{'path':<12} {'tokens':>7} {'seconds':>8} {'tok/s':>8} {'median tok/s':>13}")
    rates = {}
    for side, (tokens, seconds) in totals.items():
        rates[side] = tokens / seconds
        median = statistics.median(per_round[side])
        print(f"{side:<12} {tokens:>7} {seconds:>8.2f} {rates[side]:>8.1f} {median:>13.1f}")
    print(f"\nratio agentrxiv/direct (tok/s): {rates['agentrxiv'] / rates['direct']:.3f}")
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
