"""Cross-lab memory and novelty in the lab, with scripted agents, a real server and real
embeddings: insights distilled from a scripted lab's verified paper (and from a negative
result) reach a later lab's planning prompt; the plan phase revises a duplicate plan and
records it; distillation output that never validates leaves the paper without insights."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from agentrxiv.archive.checks import verification_from_marks
from agentrxiv.archive.schemas import PaperCreate, ResultIn, VerificationCreate
from agentrxiv.client import ArchiveClient
from agentrxiv.lab import insights
from agentrxiv.lab.after_publish import run_after_publish
from agentrxiv.lab.config import AfterPublish
from agentrxiv.lab.loop import write_summary
from agentrxiv.lab.phases import literature, plan
from agentrxiv.llm.registry import get_model
from agentrxiv.llm.scripted import register_script, scripted_model, unregister_script

pytestmark = [pytest.mark.integration, pytest.mark.slow]
POSITIVE = {
    "benchmark": "math500",
    "model": "scripted/target",
    "split": "test",
    "delta": 0.25,
    "delta_low": 0.05,
    "delta_high": 0.45,
    "status": "reproduced",
}
NEGATIVE = {**POSITIVE, "delta": -0.1, "delta_low": -0.3, "delta_high": 0.1}
NEGATIVE["status"] = "not reproduced"
# Per-problem marks (technique, baseline) giving those differences on 20 problems:
# +0.25 (15 vs 10 right) and -0.10 (0 vs 2 right; 0/20 rules out the failed paper's 0.2).
POSITIVE_MARKS = ([True] * 15 + [False] * 5, [True] * 10 + [False] * 10)
NEGATIVE_MARKS = ([False] * 20, [True] * 2 + [False] * 18)
DUPLICATE_PLAN = {
    "title": "Majority voting over sampled answers on MATH-500",
    "hypothesis": "Sampling five answers and taking the majority vote improves accuracy.",
    "technique_name": "majority-vote",
    "technique_instruction": "Solve the problem; several answers are sampled and voted on.",
    "samples": 5,
    "evaluation": "accuracy against zero-shot",
}
REVISED_PLAN = {
    "title": "Units and magnitude sanity checks before answering",
    "hypothesis": "Checking units and orders of magnitude catches arithmetic slips.",
    "technique_name": "sanity-check",
    "technique_instruction": "Before the final answer, check units and magnitude.",
    "samples": 1,
    "evaluation": "accuracy against zero-shot",
}


@pytest.fixture
def extra_tasks(labkit: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Teach the scripted lab model this feature's two tasks (replies come from overrides)."""
    markers = sys.modules[type(labkit.script).__module__].TASK_MARKERS
    monkeypatch.setitem(markers, "Phase: insight distillation", "distil")
    monkeypatch.setitem(markers, "Phase: novelty revision", "plan_revise")
    return labkit.script


@pytest.fixture
def distiller() -> Any:
    """A scripted distillation model answering from a queue."""
    replies: list[str] = []
    register_script("distiller", replies)
    yield scripted_model("distiller")
    unregister_script("distiller")


def _record(marks: tuple[list[bool], list[bool]], code: dict[str, str]) -> VerificationCreate:
    """A verification the server accepts: numbers from per-problem marks on math500."""
    return verification_from_marks(
        *marks, benchmark="math500", code_files=code, model="scripted/target", split="test"
    )


def _distillation(strategies: list[str], pitfalls: list[str]) -> str:
    return json.dumps({"strategies": strategies, "pitfalls": pitfalls})


def _submit_failed_paper(server: Any) -> Any:
    with ArchiveClient(server.url, token=server.new_token("failing-lab")) as client:
        return client.submit(
            PaperCreate(
                title="Asking the model to double its answer length on MATH-500",
                abstract="Longer answers did not improve accuracy of a small model.",
                body="## Methods\n\nWe asked for answers twice as long.",
                results=[ResultIn(benchmark="math500", metric="accuracy", value=0.2, n=20)],
            )
        )


def test_insights_from_verified_papers_reach_a_later_labs_planning_prompt(
    labkit, sqlite_server, distiller
):
    rt_a = labkit.run(labkit.config(lab_name="lab-a"), server=sqlite_server)
    paper_a = rt_a.state.published_id
    failed = _submit_failed_paper(sqlite_server)
    distiller.push(
        _distillation(["Ask the model to check its work before answering."], []),
        _distillation([], ["Doubling the answer length did not help a small model."]),
    )
    model = get_model("scripted/distiller", cache=False)
    with ArchiveClient(sqlite_server.url, token=sqlite_server.new_token("verifier")) as client:
        code = client.get(paper_a).code_files
        client.post_verification(paper_a, _record(POSITIVE_MARKS, code))
        stored_negative = client.post_verification(failed.id, _record(NEGATIVE_MARKS, {}))
    # The lab's own after-publish step, with the distiller as the lab's interpretation model.
    rt_a.config = rt_a.config.model_copy(
        update={
            "use_insights": True,
            "phase_models": {"interpretation": "scripted/distiller"},
            "after_publish": AfterPublish(distil_insights=True),
        }
    )
    assert run_after_publish(rt_a)
    write_summary(rt_a)
    positive = rt_a.state.distillation
    assert rt_a.state.verification == {"status": "off"}  # distillation only, as configured
    with ArchiveClient(sqlite_server.url, token=sqlite_server.new_token("failing-lab")) as client:
        negative = insights.distil_and_post(client, failed.id, model, stored_negative)
        stored = client.insights(paper=failed.id)
    assert positive["status"] == "posted" and negative.status == "posted"
    assert stored.items[0].kind == "pitfall"
    assert stored.items[0].evidence.status == "not reproduced"
    assert stored.items[0].evidence.difference == -0.1
    summary = (rt_a.lab_dir / "summary.md").read_text()
    assert "1 strategies, 0 pitfalls posted" in summary and "reproduced: difference" in summary

    lab = scripted_model("lab")
    first_call = len(lab.calls)
    config = labkit.config(lab_name="lab-b", use_insights=True, insights_to_retrieve=5)
    rt_b = labkit.runtime(config, server=sqlite_server)
    literature.run(rt_b)
    plan.run(rt_b)
    prompts = [
        call.messages[-1]["content"]
        for call in lab.calls[first_call:]
        if "Write the final plan" in call.messages[-1]["content"]
    ]
    assert prompts, "the plan phase never asked for the final plan"
    assert "Ask the model to check its work before answering." in prompts[-1]
    assert "Doubling the answer length did not help" in prompts[-1]
    assert f"paper {paper_a}" in prompts[-1] and "+0.250" in prompts[-1]
    assert "not reproduced" in prompts[-1]


def test_plan_phase_revises_a_duplicate_plan_and_records_it(labkit, sqlite_server, extra_tasks):
    duplicate = insights.plan_text(insights.Plan(**DUPLICATE_PLAN))
    with ArchiveClient(sqlite_server.url, token=sqlite_server.new_token("voting-lab")) as client:
        original = client.submit(
            PaperCreate(
                title=DUPLICATE_PLAN["title"],
                abstract=duplicate,
                body=f"## Methods\n\n{DUPLICATE_PLAN['technique_instruction']}",
            )
        )
    extra_tasks.override("plan_final", DUPLICATE_PLAN)
    extra_tasks.override("plan_revise", REVISED_PLAN)
    config = labkit.config(lab_name="novel-lab", novelty_check=True, novelty_max_revisions=2)
    rt = labkit.runtime(config, server=sqlite_server)
    outcome = plan.run(rt)
    checks = rt.state.novelty["checks"]
    assert rt.state.plan.technique_name == "sanity-check"
    assert checks[0]["duplicate_of"] == original.id and checks[1]["duplicate_of"] is None
    assert "revised 1x" in outcome and extra_tasks.tasks.count("plan_revise") == 1
    write_summary(rt)
    summary = (rt.lab_dir / "summary.md").read_text()
    assert f"near-duplicate of {original.id}" in summary and "revised 1x" in summary


def test_plan_revision_is_bounded(labkit, sqlite_server, extra_tasks):
    text = insights.plan_text(insights.Plan(**DUPLICATE_PLAN))
    with ArchiveClient(sqlite_server.url, token=sqlite_server.new_token("voting-lab-2")) as c:
        c.submit(PaperCreate(title=DUPLICATE_PLAN["title"], abstract=text, body=""))
    extra_tasks.override("plan_final", DUPLICATE_PLAN)
    extra_tasks.override("plan_revise", DUPLICATE_PLAN)  # the agent keeps proposing it
    config = labkit.config(lab_name="stubborn", novelty_check=True, novelty_max_revisions=1)
    rt = labkit.runtime(config, server=sqlite_server)
    outcome = plan.run(rt)
    assert "still a near-duplicate" in outcome and len(rt.state.novelty["checks"]) == 2


def test_invalid_distillation_retries_then_keeps_the_paper_without_insights(
    sqlite_server, distiller
):
    too_many = _distillation([f"Strategy {i} helps a lot." for i in range(4)], [])
    distiller.push("not json", too_many, _distillation([], []))
    paper = _submit_failed_paper(sqlite_server)
    model = get_model("scripted/distiller", cache=False)
    with ArchiveClient(sqlite_server.url) as client:
        outcome = insights.distil_and_post(client, paper.id, model, NEGATIVE, retries=2)
        stored = client.insights(paper=paper.id)
    assert outcome.status == "kept without insights"
    assert "did not validate after 3 attempts" in outcome.line()
    assert len(distiller.calls) == 3 and stored.total == 0
    with ArchiveClient(sqlite_server.url) as client:
        assert client.get(paper.id).id == paper.id  # the paper itself is kept
