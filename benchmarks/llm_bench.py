"""Embedded-model throughput across the process boundary: generated tokens/s through
agentrxiv's model interface (cache off; generation in the worker process) versus calling
llama-cpp-python directly in this process, same model file, prompts, settings and threads;
plus the latency the boundary adds per call.

Runs are interleaved, alternating which side goes first, so background load hits both sides
alike; each side's KV cache is reset before every run so neither gets prompt-prefix reuse.
Added latency: the median of a pipe round trip (``ping``) and of one-token calls on each side.

Usage: python benchmarks/llm_bench.py [--rounds 3] [--max-tokens 64] [--calls 20] [--model M]
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
TINY = [{"role": "user", "content": "Hi"}]


def _direct(llama, kwargs) -> tuple[int, float]:
    llama.reset()
    started = time.perf_counter()
    response = llama.create_chat_completion(**kwargs)
    return response["usage"]["completion_tokens"], time.perf_counter() - started


def _worker(model, messages, max_tokens: int) -> tuple[int, float]:
    model.backend.worker().request("reset")
    started = time.perf_counter()
    result = model.chat(messages, max_tokens=max_tokens, temperature=0.0, tag="bench/llm")
    return result.usage.completion_tokens, time.perf_counter() - started


def throughput(model, llama, rounds: int, max_tokens: int) -> dict[str, list[float]]:
    """Interleaved runs; per side: [tokens, seconds, *per-run tok/s]."""
    backend = model.backend
    sides: dict[str, list[float]] = {"direct": [0, 0.0], "worker": [0, 0.0]}
    for round_number in range(rounds):
        for index, prompt in enumerate(PROMPTS):
            messages = [{"role": "user", "content": prompt}]
            kwargs = backend.completion_kwargs(make_request(messages, max_tokens=max_tokens))
            order = ("direct", "worker")
            if (round_number + index) % 2:
                order = ("worker", "direct")
            for side in order:
                if side == "direct":
                    tokens, seconds = _direct(llama, kwargs)
                else:
                    tokens, seconds = _worker(model, messages, max_tokens)
                sides[side][0] += tokens
                sides[side][1] += seconds
                sides[side].append(tokens / seconds)
    return sides


def added_latency(model, llama, calls: int = 20) -> dict[str, float]:
    """Median milliseconds: pipe round trip, and a one-token call on each side."""
    worker = model.backend.worker()
    kwargs = model.backend.completion_kwargs(make_request(TINY, max_tokens=1))
    ping, direct, through = [], [], []
    for _ in range(calls):
        started = time.perf_counter()
        worker.request("ping")
        ping.append(time.perf_counter() - started)
        direct.append(_direct(llama, kwargs)[1])
        through.append(_worker(model, TINY, 1)[1])
    return {
        "ping": statistics.median(ping) * 1000,
        "direct": statistics.median(direct) * 1000,
        "worker": statistics.median(through) * 1000,
    }


def main() -> None:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", default="smollm2", help="smollm2 or a path to a .gguf file")
    parser.add_argument("--calls", type=int, default=20, help="one-token calls for latency")
    args = parser.parse_args()

    model = get_model(f"local/{args.model}", cache=False, ledger=Ledger())
    backend = model.backend
    llama, _lock = load_llama(backend.path, backend.n_ctx)
    print(f"model {backend.path.name}; threads {default_threads()}; {platform.processor()}")
    print(f"cores {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} at start")
    started = time.perf_counter()
    facts = backend.worker().start()
    print(
        f"worker start-up (spawn, imports, load): {time.perf_counter() - started:.2f} s, "
        f"of which loading the model {facts['load_s']:.2f} s"
    )
    model.chat([{"role": "user", "content": "warm up"}], max_tokens=8)
    llama.create_chat_completion(messages=[{"role": "user", "content": "warm up"}], max_tokens=8)

    sides = throughput(model, llama, args.rounds, args.max_tokens)
    print(f"\n{'path':<20} {'tokens':>7} {'seconds':>8} {'tok/s':>8} {'median tok/s':>13}")
    rates = {}
    for side, (tokens, seconds, *per_run) in sides.items():
        rates[side] = tokens / seconds
        label = "in-process (direct)" if side == "direct" else "worker (agentrxiv)"
        median = statistics.median(per_run)
        print(f"{label:<20} {tokens:>7.0f} {seconds:>8.2f} {rates[side]:>8.1f} {median:>13.1f}")
    print(f"\nratio worker/direct (tok/s): {rates['worker'] / rates['direct']:.3f}")
    latency = added_latency(model, llama, args.calls)
    print(
        f"one-token call, median: direct {latency['direct']:.1f} ms, worker "
        f"{latency['worker']:.1f} ms (added {latency['worker'] - latency['direct']:+.1f} ms); "
        f"pipe round trip {latency['ping']:.2f} ms"
    )
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
