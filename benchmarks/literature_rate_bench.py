"""The rate an arXiv source actually keeps: labs in parallel processes (sharing one
``$AGENTRXIV_HOME``) search a second AgentRxiv server standing in for arXiv, with the cache
off; the stand-in records when each request arrives. Prints the gaps between arrivals (the
rule: none below ``arxiv_min_interval_s``), then a repeated run with the cache on.

    python benchmarks/literature_rate_bench.py                    # 2 labs x 3 searches, 3 s
    python benchmarks/literature_rate_bench.py --labs 3 --searches 2 --interval 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LAB = textwrap.dedent(
    """
    import sys
    from agentrxiv.lab.config import parse_config
    from agentrxiv.lab.sources.arxiv import ArxivSource
    url, interval, lab, searches, cache_days = sys.argv[1:6]
    config = parse_config({"topic": "rate bench", "arxiv_base_url": url,
        "arxiv_min_interval_s": float(interval), "literature_cache_days": float(cache_days)})
    source = ArxivSource(config)
    words = ["voting", "reasoning", "verification", "prompting", "accuracy", "sampling"]
    for i in range(int(searches)):  # distinct queries: each one a cache key of its own
        source.search(f"{words[i % len(words)]} lab{lab} round{i}", 3)
    print(source.requests_made)
    """
)


def run_labs(url: str, args: argparse.Namespace, cache_days: float) -> int:
    """Start the labs at once; the requests they sent in total."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAB,
                url,
                str(args.interval),
                str(lab),
                str(args.searches),
                str(cache_days),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for lab in range(args.labs)
    ]
    return sum(int(p.communicate(timeout=600)[0].strip() or 0) for p in procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", type=int, default=2)
    parser.add_argument("--searches", type=int, default=3)
    parser.add_argument("--interval", type=float, default=3.0)
    args = parser.parse_args()
    from tests.lab.arxiv_standin import start_standin

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AGENTRXIV_HOME"] = str(Path(tmp) / "home")
        standin = start_standin(Path(tmp) / "standin")
        try:
            sent = run_labs(standin.url, args, cache_days=0)
            gaps = standin.faults.gaps()
            print(f"{args.labs} labs x {args.searches} searches, interval {args.interval} s:")
            print(f"  requests sent {sent}, arrived {len(standin.faults.arrivals)}")
            print(
                f"  gaps between arrivals: min {min(gaps):.3f} s, median "
                f"{statistics.median(gaps):.3f} s, max {max(gaps):.3f} s"
            )
            first = run_labs(standin.url, args, cache_days=7)
            again = run_labs(standin.url, args, cache_days=7)
            print(f"  with the cache: first run {first} requests, repeated run {again}")
        finally:
            standin.stop()


if __name__ == "__main__":
    main()
