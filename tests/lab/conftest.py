"""Fixtures for the agent-lab tests: the scripted lab model of ``agentrxiv.testing`` (every
agent task answered with a valid command, overridable per task to inject failures), its
answer-key target model on the dev split, and helpers to build and run a lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentrxiv.bench.registry import get_benchmark
from agentrxiv.lab.config import LabConfig, parse_config
from agentrxiv.lab.loop import build_runtime, run_lab
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.llm.scripted import register_script, unregister_script
from agentrxiv.testing.scripted_lab import (
    CRASH_LINE,
    LabScript,
    SimulatedKill,
    review_form,
    target_responder,
)


@pytest.fixture
def lab_script() -> Iterator[LabScript]:
    """The scripted lab model registered as ``scripted/lab`` (and the target model)."""
    script = LabScript()
    register_script("lab", script)
    # Labs see the dev split only: alternate right/wrong over the dev problems.
    problems = {p.problem: p.answer for p in get_benchmark("math500").problems("dev")}
    register_script("target", target_responder(problems))
    yield script
    unregister_script("lab")
    unregister_script("target")


class LabKit:
    """Helpers for lab tests: configs, runtimes and runs with the scripted models."""

    SimulatedKill = SimulatedKill
    CRASH_LINE = CRASH_LINE

    def __init__(self, tmp_path: Path, script: LabScript) -> None:
        self.tmp_path, self.script = tmp_path, script

    @staticmethod
    def review_form(overall: int = 6) -> dict[str, Any]:
        """A valid review form."""
        return review_form(overall)

    def config(self, **overrides: Any) -> LabConfig:
        """A small, fast config for the scripted lab."""
        data = {
            "topic": "prompting techniques that improve MATH-500 accuracy",
            "lab_name": "test-lab",
            "output_dir": str(self.tmp_path / "labs"),
            "model": "scripted/lab",
            "target_model": "scripted/target",
            "problem_limit": 4,
            "papers_to_review": 1,
            "literature_steps": 3,
            "mle_solver_steps": 1,
            "mle_candidates": 1,
            "mle_max_repairs": 1,
            "paper_solver_steps": 1,
            "latex": False,
            "sandbox": {"wall_s": 120},
        }
        data.update(overrides)
        return parse_config(data)

    def runtime(self, config: LabConfig, *, resume: bool = False, server: Any = None) -> LabRuntime:
        """A runtime with the scripted models (uncached) and, if given, a live archive."""
        archive, url = None, ""
        if server is not None:
            from agentrxiv.client import ArchiveClient

            archive, url = ArchiveClient(server.url, token=server.token), server.url
        return build_runtime(config, resume=resume, archive=archive, archive_url=url, cache=False)

    @staticmethod
    def seed_archive(server: Any, title: str = "Majority voting for MATH-500 prompting") -> Any:
        """Publish a prior paper on the topic (from another lab) and return it."""
        from agentrxiv.archive.schemas import PaperCreate, ResultIn
        from agentrxiv.client import ArchiveClient

        with ArchiveClient(server.url, token=server.new_token("prior-lab")) as client:
            return client.submit(
                PaperCreate(
                    title=title,
                    abstract="Prompting techniques with majority voting improve MATH-500 accuracy.",
                    body="We sample answers and vote.",
                    results=[ResultIn(benchmark="math500", metric="accuracy", value=0.41, n=20)],
                )
            )

    def run(self, config: LabConfig, *, resume: bool = False, server: Any = None) -> LabRuntime:
        """Build a runtime and run the lab to the end."""
        rt = self.runtime(config, resume=resume, server=server)
        run_lab(rt)
        return rt


@pytest.fixture
def labkit(tmp_path: Path, lab_script: LabScript) -> LabKit:
    """Lab test helpers bound to this test's directory and script."""
    return LabKit(tmp_path, lab_script)
