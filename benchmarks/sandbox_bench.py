"""Sandbox overhead: wall time of a trivial program and of the lab's seed experiment under the
bwrap boundary vs the unsafe audit-hook sandboxes (``unshare`` namespaces + audit hook, the
previous default, and the audit hook alone), in the same run, interleaved, repeated.

The seed experiment is the lab's own template (zero-shot baseline + technique on the bundled
20-problem MATH-500 sample, figures included) run through the lab's ``SandboxRunner`` with
the model gateway; the target model is a scripted responder, so the numbers are the
sandbox's cost, not model time.

    python benchmarks/sandbox_bench.py [--repeats 10] [--seed-repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentrxiv.bench.math500 import sample_path
from agentrxiv.lab.paper import render_template
from agentrxiv.llm.registry import get_model
from agentrxiv.llm.scripted import register_script
from agentrxiv.sandbox import SandboxConfig, SandboxLimits, SandboxRunner, SubprocessSandbox
from agentrxiv.sandbox.modes import namespace_prefix

MODES = {"bwrap": {}, "unshare+hook": {"unsafe": True, "namespaces": True}}
MODES["hook only"] = {"unsafe": True, "namespaces": False}


def seed_code() -> str:
    """The lab's seed experiment for a one-sample technique on the 20-problem sample."""
    return render_template(
        "seed_experiment.py.j2",
        technique_name="check-work",
        instruction="Solve the problem and check your work.",
        samples=1,
        limit=None,
        max_tokens=64,
        concurrency=2,
        benchmark="math500",
        split="dev",
    )


def trivial_run(mode: dict, root: Path) -> Callable[[int], float]:
    """A timer for ``print('hello')`` in a sandbox of ``mode``."""
    box = SubprocessSandbox(root, SandboxLimits(wall_s=60), **mode)

    def run(_: int) -> float:
        start = time.perf_counter()
        result = box.run_python("print('hello')")
        assert result.ok, result.stderr
        return time.perf_counter() - start

    return run


def seed_run(mode: dict, root: Path) -> Callable[[int], float]:
    """A timer for the seed experiment through the lab's runner and gateway."""
    model = get_model("scripted/bench-target", cache=False)
    data = {"AGENTRXIV_DATA": str(sample_path().resolve())}
    unsafe = mode.get("unsafe", False)
    os.environ["AGENTRXIV_SANDBOX_NAMESPACES"] = "1" if mode.get("namespaces", True) else "0"
    runner = SandboxRunner(root, model, "bench", SandboxConfig(wall_s=300), data, unsafe=unsafe)
    code = seed_code()

    def run(i: int) -> float:
        start = time.perf_counter()
        outcome = runner.run(code, f"seed{i}")
        assert outcome.ok, outcome.error
        return time.perf_counter() - start

    return run


def bare_starts(repeats: int, root: Path) -> None:
    """The boundary's own cost: ``python -I -S -c pass`` plain vs inside bwrap."""
    import subprocess
    import sys

    from agentrxiv.sandbox import bwrap

    tool, command = bwrap.find_bwrap(), [sys.executable, "-I", "-S", "-c", "pass"]
    if tool is None:
        return
    plain, boxed = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True)
        plain.append(time.perf_counter() - start)
        argv, fds = bwrap.bwrap_argv(tool, root.resolve(), {"PATH": os.defpath})
        start = time.perf_counter()
        subprocess.run(argv + command, check=True, pass_fds=fds)
        boxed.append(time.perf_counter() - start)
        bwrap.close_fds(fds)
    a, b = statistics.median(plain), statistics.median(boxed)
    print(
        f"bare     python start plain {a * 1000:.1f} ms, in bwrap {b * 1000:.1f} ms, "
        f"bwrap setup {(b - a) * 1000:+.1f} ms (medians of {repeats})"
    )


def measure(kind: str, make: Callable, repeats: int, root: Path) -> dict[str, list[float]]:
    """Interleave the modes ``repeats`` times (after one warm-up each)."""
    timers = {
        name: make(mode, root / kind / name.replace(" ", "_")) for name, mode in MODES.items()
    }
    for timer in timers.values():
        timer(-1)
    times: dict[str, list[float]] = {name: [] for name in timers}
    for i in range(repeats):
        for name, timer in timers.items():
            times[name].append(timer(i))
    return times


def report(kind: str, times: dict[str, list[float]]) -> None:
    base = statistics.median(times["hook only"])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{kind:8} {name:13} median {median * 1000:8.1f} ms  min {min(values) * 1000:8.1f} ms"
            f"  max {max(values) * 1000:8.1f} ms  n={len(values)}  vs hook only "
            f"{(median - base) * 1000:+7.1f} ms ({median / base:.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed-repeats", type=int, default=3)
    args = parser.parse_args()
    if not namespace_prefix():
        MODES.pop("unshare+hook")
    register_script("bench-target", lambda messages: "The answer is \\boxed{42}")
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="arx-sbench-") as tmp:
        bare_starts(3 * args.repeats, Path(tmp))
        report("trivial", measure("trivial", trivial_run, args.repeats, Path(tmp)))
        report("seed", measure("seed", seed_run, args.seed_repeats, Path(tmp)))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
