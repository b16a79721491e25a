"""Each phase with the scripted model, including the failure paths: invalid commands, crash
then repair, repair exhausted, unmeasured results, budget exceeded, reviewers sending the
paper back, co-pilot notes."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from agentrxiv.errors import BudgetExceededError, ConfigError
from agentrxiv.lab.actions import Plan, WriteSection
from agentrxiv.lab.copilot import Copilot
from agentrxiv.lab.loop import run_lab
from agentrxiv.lab.phases import experiments, literature, plan
from agentrxiv.lab.rendered_sections import measured_variants
from agentrxiv.lab.runtime import LabPhaseError
from agentrxiv.llm.base import ChatResult
from agentrxiv.llm.errors import StructuredOutputError

PLAN = Plan(
    title="Checking answers",
    hypothesis="Checking helps.",
    technique_name="check-work",
    technique_instruction="Solve it and check it.",
    samples=1,
    evaluation="accuracy",
)
UNMEASURED = (
    "from agentrxiv.sandbox.experiment_api import write_result\n"
    "def solve(problem, model):\n    return ''\n"
    "write_result({'benchmark': 'math500', 'metric': 'accuracy', 'value': 1.0, 'n': 4,"
    " 'model': 'x', 'split': 's'})\n"
)


def test_literature_review_retries_invalid_command_and_adds_archive_paper(labkit, sqlite_server):
    prior = labkit.seed_archive(sqlite_server)
    labkit.script.override("literature", "not json at all")  # invalid, then the default
    rt = labkit.runtime(labkit.config(lab_name="lit"), server=sqlite_server)
    outcome = literature.run(rt)
    lit = rt.state.literature
    assert prior.id in lit.seen and [p.paper_id for p in lit.papers] == [prior.id]
    assert "1 papers added" in outcome
    assert labkit.script.tasks.count("literature") == 2  # one invalid reply, one retry
    assert rt.ledger.totals("lab/lit/literature").calls == 2


def test_literature_review_without_server_is_skipped_cleanly(labkit):
    rt = labkit.runtime(labkit.config(lab_name="nolit"))
    assert literature.run(rt) == "no archive server configured"
    assert labkit.script.tasks == []


def test_plan_exhausted_retries_stop_the_lab_with_clear_error_then_resume(labkit):
    config = labkit.config(lab_name="badplan", structured_retries=1)
    labkit.script.override("plan_final", "{}", '{"title": 3}')
    rt = labkit.runtime(config)
    with pytest.raises(LabPhaseError, match="plan formulation failed"):
        run_lab(rt)
    summary = json.loads((rt.lab_dir / "summary.json").read_text())
    assert "plan formulation failed" in summary["stopped_reason"]
    assert summary["phases"][1]["failed_actions"] == 1
    rt2 = labkit.runtime(config, resume=True)
    rt2.state.experiments.seed_done = False
    assert plan.run(rt2) == "plan: check-work"


def test_structured_output_error_is_raised_when_exhausted(labkit):
    labkit.script.override("plan_final", "nope", "still nope", "never")
    rt = labkit.runtime(labkit.config(lab_name="exhaust", structured_retries=2))
    agent = rt.agent("phd", "plan")
    with pytest.raises(StructuredOutputError):
        agent.act("plan", "plan_final", Plan, literature="", reviews="", notes=[])
    assert agent.stats.failures == 1 and labkit.script.tasks.count("plan_final") == 3


def test_reply_cut_off_by_token_cap_is_salvaged_without_retry(labkit):
    cut = ChatResult(
        text='{"text": "Checking answers is cheap and', model="", finish_reason="length"
    )
    labkit.script.override("write_section", cut)
    rt = labkit.runtime(labkit.config(lab_name="salvage"))
    agent = rt.agent("phd", "report")
    reply = agent.act(
        "report",
        "write_section",
        WriteSection,
        section="methods",
        plan="",
        results="",
        interpretation="",
        literature="",
        notes=[],
    )
    assert reply.text == "Checking answers is cheap and"
    assert agent.stats.salvaged == 1 and labkit.script.tasks == ["write_section"]


def test_mle_solver_repairs_crash_gives_up_when_exhausted_and_rejects_unmeasured(labkit):
    config = labkit.config(lab_name="mle", mle_candidates=3, mle_max_repairs=1)
    rt = labkit.runtime(config)
    rt.state.plan = PLAN
    lines = experiments.seed_program(rt).splitlines()
    main_line = lines.index("def main():") + 1
    crash = {
        "change": {
            "command": "edit",
            "start": main_line,
            "end": main_line,
            "lines": [labkit.CRASH_LINE, "def main():"],
        }
    }
    broken_code = "def solve(problem, model):\n    return ''\n\nraise SystemExit(3)\n"
    broken = {"change": {"command": "replace", "code": broken_code}}
    unmeasured = {"change": {"command": "replace", "code": UNMEASURED}}
    labkit.script.override("improve", crash, crash, unmeasured)
    labkit.script.override("repair", None, broken)  # None: the default reply (removes the crash)
    experiments.run(rt)
    exp = rt.state.experiments
    seed, fixed, exhausted, rejected = exp.tried
    assert seed.origin == "seed" and seed.score == pytest.approx(1.0)
    assert fixed.repairs == 1 and fixed.score == pytest.approx(1.0) and not fixed.error
    assert exhausted.score is None and exhausted.repairs == 1
    assert "exit code 3" in exhausted.error
    assert rejected.score is None and "must be measured" in rejected.error
    assert exp.best().score == pytest.approx(1.0) and exp.best().origin == "seed"
    assert len(exp.reflections) == 1
    assert labkit.script.tasks.count("repair") == 3


def test_budget_exceeded_stops_with_checkpoint_and_summary(labkit):
    config = labkit.config(lab_name="budget", budget={"max_tokens": 200})
    rt = labkit.runtime(config)
    with pytest.raises(BudgetExceededError, match="token budget"):
        run_lab(rt)
    summary = json.loads((rt.lab_dir / "summary.json").read_text())
    assert "token budget" in summary["stopped_reason"]
    assert summary["tokens"] > 0
    assert not rt.state.finished


def test_reviewers_send_paper_back_to_planning_with_their_reviews(labkit):
    low = labkit.review_form(overall=2)
    labkit.script.override("review", low, low, low)
    config = labkit.config(lab_name="revise", mle_solver_steps=0, paper_solver_steps=0)
    rt = labkit.run(config)
    rounds = rt.state.review_rounds
    assert [r.decision for r in rounds] == ["revise", "publish"]
    assert rounds[0].mean_overall == 2.0 and rt.state.round == 2
    assert rt.state.previous_rounds[0]["score"] == pytest.approx(1.0)
    assert labkit.script.tasks.count("plan_final") == 2
    assert labkit.script.tasks.count("review") == 6


def test_copilot_notes_rerun_the_phase_with_the_notes_and_progress_is_shown(labkit):
    config = labkit.config(lab_name="copilot", mle_solver_steps=0, paper_solver_steps=0)
    rt = labkit.runtime(config)
    answers = ["approve", "notes: compare against chain of thought", "approve"]
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    copilot = Copilot(True, answers, console=console)
    run_lab(rt, copilot, console)
    assert rt.state.copilot_notes == {"plan": ["compare against chain of thought"]}
    assert labkit.script.tasks.count("plan_final") == 2
    assert [a.action for _, a in copilot.log][:3] == ["approve", "notes", "approve"]
    shown = screen.getvalue()
    assert "co-pilot: plan" in shown and "check-work" in shown  # the plan artifact
    assert "agent lab copilot" in shown and "tokens" in shown  # the live progress view


def test_sections_left_to_code_cost_no_model_call_and_quote_the_lab(labkit):
    """``report_written_sections``: the PhD agent writes those; the others are rendered from
    the plan, the start and the measurements, with no model call."""
    config = labkit.config(
        lab_name="rendered",
        mle_solver_steps=0,
        paper_solver_steps=0,
        report_written_sections=["abstract", "discussion"],
    )
    rt = labkit.run(config)
    assert labkit.script.tasks.count("write_section") == 2
    sections = rt.state.report.sections
    plan = rt.state.plan
    assert plan.technique_name in sections["methods"]
    assert plan.hypothesis in sections["introduction"]
    assert sections["background"].startswith("Start: the zero-shot template")
    variants = rt.state.experiments.variants_measured()
    assert measured_variants(variants) in sections["experimental_setup"]
    assert measured_variants(1) == "1 program variant was measured"
    paper = (rt.lab_dir / "paper" / "paper.md").read_text()
    assert "## Methods" in paper and plan.technique_name in paper


def test_report_written_sections_must_name_sections(labkit):
    with pytest.raises(ConfigError, match="report_written_sections"):
        labkit.config(report_written_sections=["abstract", "conclusion"])
