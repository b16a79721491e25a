"""A simulated kill in every phase, each followed by ``--resume``: the lab finishes and nothing
completed is redone or lost (agent calls are counted per task by the scripted model)."""

from __future__ import annotations

from typing import Any

import pytest

from agentrxiv.client import ArchiveClient
from agentrxiv.errors import ConfigError
from agentrxiv.lab.checkpoint import load_state
from agentrxiv.lab.loop import run_lab

KILLS = [  # (phase killed, agent task that dies, its n-th call over the whole test)
    ("literature", "literature", 1),
    ("plan", "plan_final", 1),
    ("data_prep", "data_prep", 1),
    ("experiments", "reflect", 1),
    ("interpretation", "interp_final", 1),
    ("report", "write_section", 3),
    ("review", "review", 2),
]


class KillOnFirstReview:
    """An archive client that dies when posting the first review (a kill inside publish)."""

    def __init__(self, inner: Any, kill: type[BaseException]) -> None:
        self.inner, self.kill, self.killed = inner, kill, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def review(self, *args: Any, **kwargs: Any) -> Any:
        if not self.killed:
            self.killed = True
            raise self.kill("killed while posting reviews")
        return self.inner.review(*args, **kwargs)


@pytest.mark.integration
def test_kill_in_every_phase_then_resume_loses_nothing(labkit, sqlite_server):
    labkit.seed_archive(sqlite_server)
    config = labkit.config(lab_name="killed")
    script = labkit.script
    resume = False
    for phase, task, nth in KILLS:
        script.kill_at = (task, nth)
        rt = labkit.runtime(config, resume=resume, server=sqlite_server)
        with pytest.raises(labkit.SimulatedKill):
            run_lab(rt)
        state = load_state(rt.lab_dir)
        assert phase not in state.completed, phase
        assert state.summary(phase).outcome.startswith("stopped: SimulatedKill")
        resume = True
    script.kill_at = None
    state = load_state(config.lab_dir)
    assert state.literature.papers and state.experiments.pending == []
    assert len(state.report.sections) == 8 and len(state.review_rounds[0].reviews) == 1

    rt = labkit.runtime(config, resume=True, server=sqlite_server)
    rt.archive = KillOnFirstReview(rt.archive, labkit.SimulatedKill)
    with pytest.raises(labkit.SimulatedKill):
        run_lab(rt)
    published = load_state(config.lab_dir).published_id
    assert published

    rt = labkit.runtime(config, resume=True, server=sqlite_server)
    state = run_lab(rt)
    assert state.finished and state.published_id == published
    # Completed work was never redone: only the killed call itself was asked again.
    assert script.tasks.count("improve") == 1
    assert script.tasks.count("write_section") == 8 + 1
    assert script.tasks.count("review") == 3 + 1
    assert script.tasks.count("plan_final") == 1 + 1
    assert len([p for p in state.experiments.tried if p.origin == "seed"]) == 1
    with ArchiveClient(sqlite_server.url) as client:
        assert len(client.reviews(published)) == 3
        assert client.get(published).title == state.report.title


def test_resume_refuses_missing_or_different_checkpoint(labkit):
    config = labkit.config(lab_name="fresh")
    with pytest.raises(ConfigError, match="nothing to resume"):
        labkit.runtime(config, resume=True)
    labkit.runtime(config)
    with pytest.raises(ConfigError, match="already holds a lab run"):
        labkit.runtime(config)
    other = labkit.config(lab_name="fresh", topic="a different research topic")
    with pytest.raises(ConfigError, match="different topic"):
        labkit.runtime(other, resume=True)
