"""Harness overhead: 500 MATH-500 problems through ``evaluate`` against a local fake
OpenAI-compatible endpoint with a fixed 200 ms latency, at concurrency 32.

The ideal wall time is 500 / 32 x 0.2 s (perfect overlap, zero overhead); the target is a
measured/ideal ratio of at most 1.2. The endpoint runs in a child process so it does not
share the harness's GIL. For comparison the same run is repeated with an in-process model
that just sleeps 200 ms (harness only, no HTTP). Prints numbers measured in this run.

    python benchmarks/harness_bench.py [--data math500.jsonl] [--n 500] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import tempfile
import time

import httpx

from agentrxiv.bench.fake_endpoint import FakeOpenAIEndpoint, answer_key_responder, free_port
from agentrxiv.bench.math500 import Problem, load_math500
from agentrxiv.bench.runner import evaluate
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult, Usage
from agentrxiv.llm.ledger import Ledger
from agentrxiv.llm.registry import get_model

LATENCY_S = 0.2
TARGET_RATIO = 1.2


class SleepingModel(ChatModel):
    """Answers from the key after a fixed sleep: the harness with no HTTP in the way."""

    spec = "bench/sleep"

    def __init__(self, problems: list[Problem]) -> None:
        self.respond = answer_key_responder(problems)

    def complete(self, request: ChatRequest) -> ChatResult:
        time.sleep(LATENCY_S)
        text = self.respond({"messages": list(request.messages)})
        return ChatResult(text=text, model=self.spec, usage=Usage(1, 1))


def problems_for(data: str | None, n: int) -> list[Problem]:
    """``n`` problems: from ``data`` if given, else the bundled sample repeated with new ids."""
    if data:
        return load_math500(data, limit=n)
    sample = load_math500("sample")
    return [
        p.model_copy(update={"unique_id": f"{p.unique_id}#{i}", "problem": f"{p.problem} [{i}]"})
        for i in range(math.ceil(n / len(sample)))
        for p in sample
    ][:n]


def serve(problems: list[Problem], port: int) -> None:
    """Child process: serve the fake endpoint until terminated."""
    FakeOpenAIEndpoint(answer_key_responder(problems), LATENCY_S, port=port).serve_forever()


def wait_until_up(url: str) -> None:
    """Poll the endpoint's stats route until it answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/stats", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("fake endpoint did not start")


def timed(label: str, model: ChatModel, problems: list[Problem], concurrency: int) -> float:
    """Run ``evaluate`` once and print wall, ideal and ratio."""
    started, cpu_started = time.perf_counter(), time.process_time()
    report = evaluate("zero-shot", model, problems, concurrency=concurrency)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    ideal = len(problems) / concurrency * LATENCY_S
    ratio = wall / ideal
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(
        f"{label}: {report.n} problems ({report.correct} correct); measured wall {wall:.2f} s; "
        f"ideal {ideal:.2f} s; ratio {ratio:.2f} ({verdict}); "
        f"harness CPU {cpu:.2f} s ({cpu / report.n * 1000:.1f} ms/problem)"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("AGENTRXIV_MATH500"))
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("AGENTRXIV_HOME", tempfile.mkdtemp(prefix="harness-bench-"))
    problems = problems_for(args.data, args.n)
    print(
        f"concurrency {args.concurrency}, endpoint latency {LATENCY_S * 1000:.0f} ms, "
        f"{os.cpu_count()} CPUs, load (1 min) {os.getloadavg()[0]:.1f}"
    )

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    child = multiprocessing.get_context("spawn").Process(
        target=serve, args=(problems, port), daemon=True
    )
    child.start()
    try:
        wait_until_up(url)
        ledger = Ledger()
        limit = args.concurrency
        model = get_model(
            "openai/fake", base_url=url, ledger=ledger, cache=False, max_concurrency=limit
        )
        timed("HTTP (openai SDK -> uvicorn)", model, problems, args.concurrency)
        calls = httpx.get(f"{url}/stats").json()["calls"]
        print(f"  server calls: {calls}; ledger calls: {ledger.totals().calls}")
    finally:
        child.terminate()
        child.join(10)
    timed("in-process sleep model   ", SleepingModel(problems), problems, args.concurrency)


if __name__ == "__main__":
    main()
