"""Near-duplicate rate and best verified value after N papers, with insights and the novelty
gate on vs off: sequences of scripted labs (the real literature and plan phases, the real
server with real embeddings, novelty records and insights) in four arms, each on a fresh
archive.

The scripted world: eight prompting ideas with a popularity (how likely an agent proposes
it unprompted) and a verified difference over a 0.40 baseline that the script assigns (not
measured: the rate is what this benchmark measures; the values only show whether the labs
found the better ideas). A lab's planner draws an idea by popularity, avoiding ideas its
prompt names in a pitfall (insights on); the novelty gate's revision draws another idea it
has not proposed yet. Each lab publishes a paper of its plan (title variants, technique
code) and, with insights on, distils it (a strategy for a gain, a pitfall for a loss).

Run: ``python benchmarks/novelty_bench.py [--labs 8] [--seeds 2]`` (about 3 minutes)."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrxiv.archive.schemas import PaperCreate, ResultIn
from agentrxiv.client import ArchiveClient
from agentrxiv.lab import insights
from agentrxiv.lab.config import parse_config
from agentrxiv.lab.demo import DemoServer
from agentrxiv.lab.loop import build_runtime
from agentrxiv.lab.phases import literature, plan
from agentrxiv.llm.registry import get_model
from agentrxiv.llm.scripted import register_script

BASELINE = 0.40
TOPIC = "prompting techniques that improve MATH-500 accuracy of a small model"


@dataclass(frozen=True)
class Idea:
    """A technique of the scripted world."""

    name: str
    title: str
    instruction: str
    popularity: float
    delta: float  # assigned by the script


IDEAS = [
    Idea("stepwise", "Step-by-step reasoning prompts", "Think step by step, then box.", 0.30, 0.02),
    Idea(
        "vote",
        "Majority voting over sampled answers",
        "Answer; five samples are voted.",
        0.22,
        0.05,
    ),
    Idea("check", "Check your work before answering", "Solve, then verify each step.", 0.15, 0.03),
    Idea("longer", "Longer, more detailed solutions", "Write a very long solution.", 0.10, -0.03),
    Idea("fewshot", "Few-shot worked examples", "Study the three worked examples.", 0.09, 0.04),
    Idea("units", "Units and magnitude sanity checks", "Check units and magnitude.", 0.06, -0.01),
    Idea(
        "decompose",
        "Decomposition into sub-questions",
        "List sub-questions, solve each.",
        0.05,
        0.06,
    ),
    Idea(
        "backward", "Backward checking from the answer", "Substitute the answer back.", 0.03, 0.08
    ),
]
BY_NAME = {idea.name: idea for idea in IDEAS}
VARIANTS = ("{t} on MATH-500", "Revisiting {t} on MATH-500", "{t}: a MATH-500 replication")


class World:
    """The scripted planner, reviser and distiller of every lab (one model, one state)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.proposed: list[str] = []  # this lab's proposals

    def new_lab(self) -> None:
        """Forget the previous lab's proposals."""
        self.proposed = []

    def _draw(self, avoid: set[str]) -> Idea:
        pool = [i for i in IDEAS if i.name not in avoid] or IDEAS
        return self.rng.choices(pool, weights=[i.popularity for i in pool])[0]

    def _plan(self, idea: Idea) -> str:
        self.proposed.append(idea.name)
        return json.dumps(
            {
                "title": f"{idea.title} on MATH-500",
                "hypothesis": f"{idea.title} improves MATH-500 accuracy over zero-shot.",
                "technique_name": idea.name,
                "technique_instruction": idea.instruction,
                "samples": 1,
                "evaluation": "accuracy against the zero-shot baseline",
            }
        )

    def __call__(self, messages: list[dict[str, str]]) -> str:
        prompt = [m["content"] for m in messages if m["role"] == "user"][-1]
        if "Phase: insight distillation" in prompt:
            return self._distil(prompt)
        if "Phase: novelty revision" in prompt:
            return self._plan(self._draw(set(self.proposed)))
        if "Write the final plan" in prompt:
            pitfalls = set(re.findall(r"\[pitfall\] Avoid (\w+)", prompt))
            return self._plan(self._draw(pitfalls))
        raise AssertionError(f"unexpected task: {prompt[:120]}")

    @staticmethod
    def _distil(prompt: str) -> str:
        idea = next(i for i in IDEAS if f"Title: {i.title}" in prompt or f"{i.title} on" in prompt)
        name = idea.name
        if idea.delta > 0:
            return json.dumps({"strategies": [f"Use {name}: {idea.instruction}"], "pitfalls": []})
        text = f"Avoid {name}: it did not beat the zero-shot baseline."
        return json.dumps({"strategies": [], "pitfalls": [text]})


class NoRunner:
    """The benchmark stops after planning; nothing runs in a sandbox."""

    def run(self, code: str, name: str, *, with_model: bool = True) -> Any:
        raise AssertionError("no experiments in this benchmark")


def _token(server: DemoServer, lab: str) -> str:
    from agentrxiv.archive.auth import create_token
    from agentrxiv.archive.db import Database

    database = Database(server.db_url)
    try:
        with database.write() as session:
            return create_token(session, lab)
    finally:
        database.dispose()


def _paper(idea: Idea, index: int) -> PaperCreate:
    title = VARIANTS[index % len(VARIANTS)].format(t=idea.title)
    code = f"INSTRUCTION = {idea.instruction!r}\n\n\ndef solve(problem, model):\n"
    code += '    return model(INSTRUCTION + "\\n" + problem)\n'
    return PaperCreate(
        title=title,
        abstract=f"{idea.title} improves MATH-500 accuracy over zero-shot. {idea.instruction}",
        body=f"## Methods\n\n{idea.instruction}\n",
        results=[ResultIn(benchmark="math500", metric="accuracy", value=BASELINE + idea.delta)],
        code_files={"technique.py": code},
        technique="technique.py:solve",
    )


def run_lab(
    server: DemoServer, root: Path, world: World, index: int, on: dict[str, bool]
) -> dict[str, Any]:
    """Literature and plan phases of one lab, then its paper and (insights on) distillation."""
    name = f"lab-{index:02d}"
    world.new_lab()
    config = parse_config(
        {
            "topic": TOPIC,
            "lab_name": name,
            "output_dir": str(root / "labs"),
            "model": "scripted/novelty-bench",
            "target_model": "scripted/novelty-bench",
            "papers_to_review": 0,
            "dialogue_turns": 0,
            "use_insights": on["insights"],
            "novelty_check": on["novelty"],
            "novelty_max_revisions": 2,
        }
    )
    client = ArchiveClient(server.url, token=_token(server, name), timeout=300)
    rt = build_runtime(
        config, resume=False, archive=client, archive_url=server.url, runner=NoRunner()
    )
    literature.run(rt)
    plan.run(rt)
    idea = BY_NAME[rt.state.plan.technique_name]
    paper = client.submit(_paper(idea, index))
    if on["insights"]:
        record = {
            "benchmark": "math500",
            "model": "scripted",
            "split": "test",
            "delta": idea.delta,
            "status": "reproduced" if idea.delta > 0 else "not reproduced",
        }
        insights.distil_and_post(client, paper.id, get_model("scripted/novelty-bench"), record)
    client.close()
    return {"idea": idea.name, "duplicate": paper.near_duplicate_of is not None}


def run_arm(root: Path, labs: int, seed: int, on: dict[str, bool]) -> dict[str, Any]:
    """A sequence of ``labs`` labs on a fresh archive."""
    world = World(seed)
    register_script("novelty-bench", world)
    root.mkdir(parents=True)
    with DemoServer(root) as server:
        results = [run_lab(server, root, world, i, on) for i in range(labs)]
        with ArchiveClient(server.url) as client:
            share = client.novelty_stats().share
    best, curve = BASELINE, []
    for result in results:
        best = max(best, BASELINE + BY_NAME[result["idea"]].delta)
        curve.append(round(best, 2))
    return {"share": share, "curve": curve, "ideas": [r["idea"] for r in results]}


ARMS = {
    "off": {"insights": False, "novelty": False},
    "insights": {"insights": True, "novelty": False},
    "novelty": {"insights": False, "novelty": True},
    "both": {"insights": True, "novelty": True},
}


def main() -> None:
    """Run every arm for every seed and print the rate and the best-value curve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    started = time.monotonic()
    os.environ.setdefault("AGENTRXIV_HOME", tempfile.mkdtemp(prefix="novelty-bench-home-"))
    from agentrxiv.archive.search.embedder import get_embedder

    get_embedder().encode_one("warm up")  # the in-process server shares this embedder
    print(f"{args.labs} labs per arm, {args.seeds} seeds; load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for arm, on in ARMS.items():
            runs = [
                run_arm(Path(tmp) / f"{arm}-{seed}", args.labs, seed, on)
                for seed in range(args.seeds)
            ]
            share = sum(r["share"] for r in runs) / len(runs)
            final = sum(r["curve"][-1] for r in runs) / len(runs)
            distinct = sum(len(set(r["ideas"])) for r in runs) / len(runs)
            print(
                f"{arm:9s} near-duplicate share {share:.1%}  distinct ideas {distinct:.1f}  "
                f"best value after {args.labs}: {final:.3f}  curve(seed 0) {runs[0]['curve']}"
            )
    print(f"took {time.monotonic() - started:.0f}s; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
