"""Verification cost relative to the lab run that produced the paper.

Runs one agent lab with scripted agents (``agentrxiv.testing.scripted_lab``) and the embedded
SmolLM2 as the target model on ``arith`` (its experiments see ``--limit`` dev problems),
publishes the paper to a local demo server, then verifies it with ``verify_paper`` on the
same number of held-out test problems, and prints the lab's and the verification's tokens
(target model) and wall time, and their ratio. A second verification shows the cached cost.

    python benchmarks/verify_cost.py [--limit 20] [--model local/smollm2] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from agentrxiv.client import ArchiveClient
from agentrxiv.lab.config import parse_config
from agentrxiv.lab.demo import DemoServer
from agentrxiv.lab.loop import build_runtime, run_lab
from agentrxiv.llm.scripted import register_script
from agentrxiv.testing.scripted_lab import lab_responder
from agentrxiv.verify import verify_paper


def lab_config(root: Path, model: str, limit: int) -> object:
    """A small lab: scripted agents, ``model`` as the target, arith dev problems."""
    return parse_config(
        {
            "topic": "prompting techniques that improve arithmetic accuracy",
            "lab_name": "cost-lab",
            "output_dir": str(root / "labs"),
            "model": "scripted/lab",
            "target_model": model,
            "benchmark": "arith",
            "problem_limit": limit,
            "papers_to_review": 1,
            "literature_steps": 2,
            "mle_solver_steps": 1,
            "mle_candidates": 1,
            "mle_max_repairs": 1,
            "paper_solver_steps": 1,
            "latex": False,
        }
    )


def target_usage(rt: object, model: str) -> tuple[int, int]:
    """(tokens, calls) of the target model in the lab's ledger."""
    totals = rt.ledger.by_model().get(model)  # type: ignore[attr-defined]
    return (totals.usage.total_tokens, totals.calls) if totals else (0, 0)


def main() -> None:
    """Run the lab, verify its paper twice, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=20, help="dev problems in the lab, test in verify"
    )
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="verify-cost-"))
    os.environ.setdefault("AGENTRXIV_HOME", str(root / "home"))
    register_script("lab", lab_responder)
    with DemoServer(root) as server:
        archive = ArchiveClient(server.url, token=server.token, timeout=180)
        rt = build_runtime(
            lab_config(root, args.model, args.limit),
            resume=False,
            archive=archive,
            archive_url=server.url,
            cache=False,
        )
        started = time.perf_counter()
        state = run_lab(rt)
        lab_wall = time.perf_counter() - started
        paper_id = state.published_url.rstrip("/").rsplit("/", 1)[-1]
        totals = rt.ledger.totals()
        lab_target_tokens, lab_target_calls = target_usage(rt, args.model)
        print(
            f"lab: paper {paper_id}, wall {lab_wall:.1f}s, all tokens {totals.usage.total_tokens} "
            f"({totals.calls} calls), target-model tokens {lab_target_tokens} "
            f"({lab_target_calls} calls)"
        )
        runs = []
        for attempt in ("first", "cached"):
            record = verify_paper(archive, paper_id, limit=args.limit, post=False)
            runs.append(record)
            print(
                f"verify ({attempt}): status {record.status}, n {record.n}, "
                f"verified {record.value}, claimed {record.claimed_value}, "
                f"baseline {record.baseline_value}, tokens {record.tokens}, "
                f"model calls {record.details.get('model_calls')}, "
                f"cached calls {record.details.get('cached_calls')}, wall {record.wall_s:.1f}s"
                + (f", error {record.error}" if record.error else "")
            )
    first = runs[0]
    print(
        f"verification / lab: wall {first.wall_s / lab_wall:.2f}x, "
        f"tokens {first.tokens / max(totals.usage.total_tokens, 1):.2f}x of all lab tokens, "
        f"{first.tokens / max(lab_target_tokens, 1):.2f}x of the lab's target-model tokens; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
