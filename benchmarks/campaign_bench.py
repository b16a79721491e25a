"""Campaign benchmarks.

``scaling``: scripted agents, target model = a fake OpenAI-compatible endpoint with a fixed
latency; C labs x 1 paper at concurrency C, for each C and executor: papers per hour, the
speed-up against C=1, and the orchestration overhead (campaign wall time during which no
lab process was running, as a share of wall time; plus worker start-up per run).

``embedded``: an offline research campaign with the embedded SmolLM2 model on ``arith``,
shared against none: claimed (dev) and verified (test) curves, wall time, tokens and the
claimed-vs-verified gap, whatever they show.

    python benchmarks/campaign_bench.py scaling --concurrency 1 2 4 --executors local ray
    python benchmarks/campaign_bench.py scaling --concurrency 2 4 --executors local ray-cluster
    python benchmarks/campaign_bench.py embedded --labs 2 --papers 2 --modes shared none
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from agentrxiv.campaign.config import load_campaign_config
from agentrxiv.campaign.orchestrator import Orchestrator
from agentrxiv.lab.demo import DemoServer

OUT = Path(__file__).resolve().parent / "out"
SCRIPTED_LAB = {
    "model": "scripted/lab",
    "problem_limit": 8,
    "experiment_concurrency": 1,
    "papers_to_review": 1,
    "literature_steps": 2,
    "mle_solver_steps": 0,
    "mle_candidates": 1,
    "mle_max_repairs": 1,
    "paper_solver_steps": 1,
    "latex": False,
}


def load() -> str:
    """The 1/5/15-minute load average."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _run_campaign(root: Path, server: DemoServer, data: dict[str, Any]) -> dict[str, Any]:
    data = {"server": server.url, "token": server.token, "output_dir": str(root), **data}
    file = root / f"{data['name']}.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    started = time.monotonic()
    orchestrator = Orchestrator(load_campaign_config(file))
    state = orchestrator.run()
    wall = time.monotonic() - started
    records = state.records()
    return {"state": state, "records": records, "wall_s": wall}


def _idle_share(records: list[Any], wall: float, started: float) -> float:
    """Share of the campaign's wall time when no lab process was running."""
    spans = sorted(
        (r.finished_at - (r.process_s or 0), r.finished_at) for r in records if r.process_s
    )
    covered, end = 0.0, started
    for a, b in spans:
        a = max(a, end)
        if b > a:
            covered += b - a
            end = b
    return max(0.0, wall - covered) / wall if wall else 0.0


def _gap_share(records: list[Any], wall: float) -> float:
    """Share of wall time between the first run's start and the last run's end in which no
    lab process ran: the scheduling loop's own cost (campaign set-up excluded)."""
    spans = sorted(
        (r.finished_at - (r.process_s or 0), r.finished_at) for r in records if r.process_s
    )
    if not spans or not wall:
        return 0.0
    gaps, end = 0.0, spans[0][0]
    for a, b in spans:
        if a > end:
            gaps += a - end
        end = max(end, b)
    return gaps / wall


def scaling(args: argparse.Namespace) -> None:
    """Papers per hour against concurrency, local and Ray."""
    from agentrxiv.bench.fake_endpoint import FakeOpenAIEndpoint
    from agentrxiv.testing.scripted_lab import gold_answers

    gold = gold_answers()

    def respond(body: dict[str, Any]) -> str:
        text = str(body["messages"][-1]["content"])
        for problem, answer in gold.items():
            if problem in text:
                return f"So the answer is \\boxed{{{answer}}}."
        return "I do not know."

    os.environ.setdefault("OPENAI_API_KEY", "bench-key")
    root = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
    rows = []
    with (
        FakeOpenAIEndpoint(respond, latency_s=args.latency) as endpoint,
        DemoServer(root) as server,
    ):
        for executor in args.executors:
            cluster = _start_ray(executor, max(args.concurrency))
            base = None
            for c in [0, *args.concurrency]:  # 0: an unrecorded warm-up (server, caches, Ray)
                started_wall = time.time()
                result = _run_campaign(
                    root,
                    server,
                    {
                        "name": f"scale-{executor}-c{c}-{int(time.time())}",
                        "topic": "prompting techniques that improve MATH-500 accuracy",
                        "labs": max(c, 1),
                        "papers": 1,
                        "concurrency": max(c, 1),
                        "executor": "ray" if executor.startswith("ray") else executor,
                        "ray_num_cpus": 0.1,
                        "verify": False,
                        "worker_setup": "agentrxiv.testing.scripted_lab:setup",
                        "lab": {
                            **SCRIPTED_LAB,
                            "target_model": "openai/fake",
                            "base_url": endpoint.url,
                        },
                    },
                )
                records, wall = result["records"], result["wall_s"]
                if c == 0:
                    print(f"warm-up: {wall:.1f}s", flush=True)
                    continue
                papers = sum(1 for r in records if r.paper_id)
                per_hour = papers / wall * 3600
                base = base or per_hour
                startup = [
                    (r.process_s or 0) - r.wall_s - (r.verify_s or 0)
                    for r in records
                    if r.process_s
                ]
                row = {
                    "executor": executor,
                    "concurrency": c,
                    "papers": papers,
                    "wall_s": round(wall, 1),
                    "papers_per_hour": round(per_hour, 1),
                    "speedup": round(per_hour / base, 2),
                    "linear_share": round(per_hour / base / c, 2),
                    "orchestrator_idle_share": round(_idle_share(records, wall, started_wall), 4),
                    "between_runs_share": round(_gap_share(records, wall), 4),
                    "worker_startup_s_mean": round(sum(startup) / max(1, len(startup)), 2),
                    "lab_s_mean": round(sum(r.wall_s for r in records) / max(1, len(records)), 1),
                    "load": load(),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
            if executor.startswith("ray"):
                import ray

                ray.shutdown()
            if cluster is not None:
                cluster.shutdown()
    _save("campaign_scaling.json", rows)


def _start_ray(executor: str, cpus: int) -> Any:
    """``ray``: one local instance; ``ray-cluster``: a head without CPUs and two worker
    nodes with private directories (``ray.cluster_utils.Cluster``), as across machines."""
    if not executor.startswith("ray"):
        return None
    import ray

    if executor == "ray":
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        return None
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False}
    )
    for _ in range(2):
        cluster.add_node(num_cpus=max(1, (cpus + 1) // 2))
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    return cluster


def embedded(args: argparse.Namespace) -> None:
    """An offline arith campaign with SmolLM2: shared against none."""
    summaries = []
    for arm in args.modes:
        # An arm is a mode with optional switches: "shared+insights+novelty". Each arm gets
        # its own archive, so no arm's papers count as earlier work in another's.
        mode, *switches = arm.split("+")
        root = Path(tempfile.mkdtemp(prefix="campaign-embedded-"))
        with DemoServer(root) as server:
            result = _run_campaign(
                root,
                server,
                {
                    "name": f"arith-{arm.replace('+', '-')}",
                    "topic": "Prompting techniques that raise a small model's arithmetic accuracy",
                    "benchmark": "arith",
                    "labs": args.labs,
                    "papers": args.papers,
                    "mode": mode,
                    "insights": "insights" in switches,
                    "novelty": "novelty" in switches,
                    "concurrency": args.concurrency,
                    "verify_limit": args.verify_limit,
                    "lab": embedded_lab(args.problem_limit, tiny=args.tiny),
                },
            )
            records = result["records"]
            gaps = [
                r.claimed - r.verified
                for r in records
                if r.claimed is not None and r.verified is not None
            ]
            summary = {
                "labs": args.labs,
                "papers_per_lab": args.papers,
                "concurrency": args.concurrency,
                "problem_limit": args.problem_limit,
                "verify_limit": args.verify_limit,
                "mode": arm,
                "campaign": result["state"].campaign_id,
                "near_duplicate_share": _near_duplicate_share(server, result["state"].campaign_id),
                "status": result["state"].status,
                "wall_s": round(result["wall_s"], 1),
                "papers": sum(1 for r in records if r.paper_id),
                "runs": len(records),
                "tokens": sum(r.tokens for r in records),
                "claimed": [r.claimed for r in records],
                "verified": [r.verified for r in records],
                "outcomes": [r.outcome[:80] for r in records],
                "mean_claimed_minus_verified": round(sum(gaps) / len(gaps), 4) if gaps else None,
                "load": load(),
            }
            summaries.append(summary)
            print(json.dumps(summary), flush=True)
    _save(f"campaign_embedded_{'_'.join(args.modes).replace('+', '-')}.json", summaries)


def _near_duplicate_share(server: Any, campaign_id: str) -> float | None:
    from agentrxiv.client import ArchiveClient
    from agentrxiv.lab.insights import near_duplicate_share

    with ArchiveClient(server.url) as client:
        return near_duplicate_share(client, campaign_id)


def embedded_lab(limit: int, tiny: bool = False) -> dict[str, Any]:
    """The demo's small, bounded lab settings with the embedded model (``tiny``: no solver
    steps and one reviewer, as in the CI test, for a run that fits a few minutes a paper)."""
    if tiny:
        return {
            **embedded_lab(limit),
            "mle_solver_steps": 0,
            "paper_solver_steps": 0,
            "max_tokens": 160,
            "seed_max_tokens": 32,
            "reviewers": ["harsh_but_fair"],
        }
    return {
        "model": "local/smollm2",
        "target_model": "local/smollm2",
        "problem_limit": limit,
        "papers_to_review": 1,
        "literature_steps": 1,
        "dialogue_turns": 0,
        "data_prep_attempts": 1,
        "mle_solver_steps": 1,
        "mle_candidates": 1,
        "mle_max_repairs": 1,
        "paper_solver_steps": 1,
        "max_tokens": 200,
        "seed_max_tokens": 48,
        "structured_retries": 1,
        "memory_turns": 4,
        "memory_chars": 4_000,
        "latex": False,
        "publish_rule": {"max_rounds": 1, "after_last_round": "publish"},
    }


def _save(name: str, data: Any) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / name).write_text(json.dumps(data, indent=2), encoding="utf-8")
    print(f"saved {OUT / name}")


def main() -> None:
    """Parse arguments and run one benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="which", required=True)
    scale = sub.add_parser("scaling")
    scale.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    scale.add_argument("--executors", nargs="+", default=["local", "ray"])
    scale.add_argument("--latency", type=float, default=1.0, help="Target-model latency (s).")
    emb = sub.add_parser("embedded")
    emb.add_argument("--labs", type=int, default=2)
    emb.add_argument("--papers", type=int, default=2)
    emb.add_argument(
        "--modes",
        nargs="+",
        default=["shared", "none"],
        help='Archive modes, each optionally with switches: "shared+insights+novelty".',
    )
    emb.add_argument("--concurrency", type=int, default=2)
    emb.add_argument("--problem-limit", type=int, default=10)
    emb.add_argument("--verify-limit", type=int, default=20)
    emb.add_argument("--tiny", action="store_true", help="No solver steps, one reviewer.")
    args = parser.parse_args()
    print(f"load at start: {load()}", flush=True)
    (scaling if args.which == "scaling" else embedded)(args)


if __name__ == "__main__":
    sys.exit(main())
