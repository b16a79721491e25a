"""Agent-lab benchmark: one paper on the demo task with the embedded model, then the same run
replayed by a scripted model (same replies, no model time) to measure orchestration overhead.

Prints, per run: wall time, tokens and calls per phase, agent actions, and the share of agent
actions that needed a validation retry; then the overhead (scripted wall time outside the
sandboxed experiment programs) as a share of the embedded run's wall time.

    python benchmarks/lab_bench.py [--limit 5] [--model local/smollm2] [--dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from agentrxiv.cli.lab import demo_config
from agentrxiv.lab.demo import DemoServer
from agentrxiv.lab.loop import build_runtime, run_lab
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.llm.base import ChatModel, ChatRequest, ChatResult, Message, Usage
from agentrxiv.llm.registry import get_model
from agentrxiv.llm.scripted import register_script


def _key(messages: list[Message]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


def _system(messages: list[Message]) -> str:
    return messages[0]["content"] if messages and messages[0]["role"] == "system" else ""


class Recorder(ChatModel):
    """Delegates to a real model and remembers every reply for the replay run."""

    replies: dict[str, tuple[str, str | None]] = {}
    by_system: dict[str, deque[tuple[str, str | None]]] = defaultdict(deque)

    def __init__(self, inner: ChatModel) -> None:
        self.inner, self.spec = inner, inner.spec

    def complete(self, request: ChatRequest) -> ChatResult:
        """Forward the call and record the reply."""
        messages = list(request.messages)
        result = self.inner.complete(request)
        reply = (result.text, result.finish_reason)
        Recorder.replies[_key(messages)] = reply
        Recorder.by_system[_system(messages)].append(reply)
        return result


def replay(messages: list[Message]) -> ChatResult:
    """The recorded reply (with its finish reason, so truncated replies are salvaged the same
    way): exact match first, else the next one with the same system prompt."""
    reply = Recorder.replies.get(_key(messages))
    if reply is None:
        queue = Recorder.by_system.get(_system(messages))
        reply = queue.popleft() if queue else ("{}", "stop")
    text, finish = reply
    prompt_words = sum(len(m["content"].split()) for m in messages)
    usage = Usage(prompt_words, len(text.split()))
    return ChatResult(text=text, model="scripted/replay", usage=usage, finish_reason=finish)


class TimedRunner:
    """Wraps the sandbox runner to add up the time spent inside experiment programs."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds, self.runs = inner, 0.0, 0

    def run(self, code: str, name: str, *, with_model: bool = True) -> Any:
        """Run and time one program."""
        started = time.perf_counter()
        try:
            return self.inner.run(code, name, with_model=with_model)
        finally:
            self.seconds += time.perf_counter() - started
            self.runs += 1


def one_run(root: Path, model: str, limit: int | None, record: bool) -> dict[str, Any]:
    """Run one lab against a fresh demo server; return its measurements."""
    config = demo_config(root, None, limit, model)
    with DemoServer(root) as server:
        from agentrxiv.client import ArchiveClient

        archive = ArchiveClient(server.url, token=server.token)
        rt_box: list[LabRuntime] = []

        def factory(spec: str) -> ChatModel:
            base = get_model(spec, ledger=rt_box[0].ledger, cache=False)
            return Recorder(base) if record else base

        timed = TimedRunner(None)  # the sandbox runner needs the runtime's ledger: set below
        rt = build_runtime(
            config,
            resume=False,
            model_factory=factory,
            runner=timed,
            archive=archive,
            archive_url=server.url,
        )
        rt_box.append(rt)
        from agentrxiv.lab.loop import default_runner

        timed.inner = default_runner(rt)
        started = time.perf_counter()
        state = run_lab(rt)
        wall = time.perf_counter() - started
    summary = json.loads((rt.lab_dir / "summary.json").read_text())
    agent_calls = sum(
        t.calls for tag, t in rt.ledger.by_tag(depth=4).items() if not tag.endswith("/target")
    )
    actions = sum(p["actions"] for p in summary["phases"])
    return {
        "wall_s": wall,
        "sandbox_s": timed.seconds,
        "sandbox_runs": timed.runs,
        "phases": summary["phases"],
        "tokens": summary["tokens"],
        "calls": summary["calls"],
        "agent_calls": agent_calls,
        "actions": actions,
        "retry_share": (agent_calls - actions) / actions if actions else 0.0,
        "published": state.published_url,
        "score": state.experiments.best().score if state.experiments.best() else None,
    }


def show(title: str, run: dict[str, Any]) -> None:
    """Print one run's table."""
    print(
        f"\n== {title}: wall {run['wall_s']:.1f}s, sandbox {run['sandbox_s']:.1f}s "
        f"in {run['sandbox_runs']} programs, {run['calls']} model calls, "
        f"{run['tokens']} tokens, best score {run['score']}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'phase':<15}{'seconds':>9}{'tokens':>9}{'calls':>7}{'actions':>9}  outcome")
    for p in run["phases"]:
        print(
            f"{p['phase']:<15}{p['seconds']:>9.1f}{p['tokens']:>9}{p['calls']:>7}"
            f"{p['actions']:>9}  {p['outcome'][:60]}"
        )
    print(
        f"agent actions: {run['actions']}, agent model calls: {run['agent_calls']}, "
        f"validation retries per action: {run['retry_share']:.2%}"
    )


def main() -> None:
    """Run both labs and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=5, help="problems evaluated (demo: 20)")
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="lab-bench-"))
    real = one_run(root / "embedded", args.model, args.limit, record=True)
    show(f"embedded model {args.model}", real)
    register_script("replay", replay)
    scripted = one_run(root / "scripted", "scripted/replay", args.limit, record=False)
    show("scripted replay (same replies, no model time)", scripted)
    overhead = scripted["wall_s"] - scripted["sandbox_s"]
    print(
        f"\norchestration overhead (scripted wall minus sandboxed programs): {overhead:.2f}s "
        f"= {overhead / real['wall_s']:.2%} of the embedded run's {real['wall_s']:.1f}s"
    )
    print(
        f"including sandbox start-up and experiment programs: {scripted['wall_s']:.1f}s "
        f"= {scripted['wall_s'] / real['wall_s']:.2%}"
    )


if __name__ == "__main__":
    main()
