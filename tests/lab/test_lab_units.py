"""Fast unit tests: config validation, memory folding, the number check, program edits,
co-pilot answers, checkpoint atomicity, prompt rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentrxiv.errors import ConfigError
from agentrxiv.lab.actions import (
    EditProgram,
    EditSection,
    LabReviewForm,
    LiteratureCommand,
    ReplaceProgram,
    WriteSection,
)
from agentrxiv.lab.agents import REVIEWER_PERSONAS, ROLES, load_prompts, render
from agentrxiv.lab.checkpoint import LabState, load_state, save_state
from agentrxiv.lab.config import PHASES, load_config, parse_config
from agentrxiv.lab.copilot import load_answers, parse_answer
from agentrxiv.lab.memory import Memory
from agentrxiv.lab.paper import (
    REMOVED,
    allowed_numbers,
    collapse_repeats,
    strip_unsupported_numbers,
)
from agentrxiv.lab.phases.experiments import apply_change, numbered
from agentrxiv.lab.salvage import salvage

EXAMPLE = Path(__file__).resolve().parents[2] / "src/agentrxiv/lab/example_math500.yaml"
RESULT = {
    "benchmark": "math500",
    "metric": "accuracy",
    "value": 0.45,
    "n": 20,
    "model": "m",
    "split": "s",
    "details": {"baseline": {"accuracy": 0.3, "correct": 6, "n": 20}},
}


def test_example_config_loads_with_every_key_documented():
    config = load_config(EXAMPLE)
    assert config.papers_to_retrieve == 5 and config.papers_to_review == 5
    text = EXAMPLE.read_text()
    for key in type(config).model_fields:
        assert f"{key}:" in text, key
    assert config.output_dir.is_absolute()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"topic": "x" * 10, "mle_solver_step": 3}, "mle_solver_step: Extra inputs"),
        ({"topic": "x" * 10, "reviewers": ["nice"]}, "unknown reviewer persona 'nice'"),
        ({"topic": "x" * 10, "budget": {"max_tokens": -1}}, "budget.max_tokens"),
        ({"lab_name": "a"}, "topic: Field required"),
        ({"topic": "x" * 10, "task_notes": {"writing": ["a"]}}, "task_notes.writing"),
        (["topic"], "expected a mapping"),
    ],
)
def test_bad_configs_give_one_line_errors(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("topic: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_memory_folds_old_turns_into_bounded_summary():
    memory = Memory(max_turns=4, max_chars=5_000)
    for i in range(50):
        memory.add("user", f"turn {i}\nshort detail")
    assert [t["content"][:7] for t in memory.turns] == ["turn 46", "turn 47", "turn 48", "turn 49"]
    assert "turn 45" in memory.summary and "detail" not in memory.summary
    for i in range(50, 60):
        memory.add("user", f"turn {i}\n" + "detail " * 2000)
    assert len(memory.turns) == 1 and memory.turns[0]["content"].startswith("turn 59")
    assert memory.turns[0]["content"].endswith("[... truncated]")
    assert len(memory.summary) <= 2_100 and "turn 58" in memory.summary
    messages = memory.messages()
    assert messages[0]["content"].startswith("Summary of earlier turns")
    assert sum(len(m["content"]) for m in messages) < 9_000


def test_number_check_keeps_measured_numbers_and_removes_invented_ones():
    allowed = allowed_numbers(RESULT, ["MATH-500"])
    text = "We reach 45.0% (0.45) vs 30%, on 20 problems of MATH-500, up from 97.3% and 0.52."
    clean, removed = strip_unsupported_numbers(text, allowed)
    assert removed == 2 and clean.count(REMOVED) == 2
    for kept in ("45.0%", "0.45", "30%", "20", "500"):
        assert kept in clean
    assert "97.3" not in clean and "0.52" not in clean
    assert strip_unsupported_numbers("Figure 2 shows step 3.", allowed) == (
        "Figure 2 shows step 3.",
        0,
    )


def test_apply_change_edits_replaces_and_reports_errors():
    code = "a = 1\nb = 2\nprint(a + b)\n"
    new, error = apply_change(code, EditProgram(start=2, end=2, lines=["b = 5"]))
    assert (new, error) == ("a = 1\nb = 5\nprint(a + b)\n", "")
    _, error = apply_change(code, EditProgram(start=2, end=9, lines=[]))
    assert "out of range 1-3" in error
    _, error = apply_change(code, ReplaceProgram(code="def broken(:\n"))
    assert error.startswith("SyntaxError")
    assert numbered(code).splitlines()[1] == "   2| b = 2"


def test_literature_command_union_validates_and_rejects():
    ok = LiteratureCommand.model_validate_json(
        '{"action": {"command": "add", "paper_id": "2611.00001", "notes": "n"}}'
    )
    assert ok.action.command == "add"
    with pytest.raises(ValueError):
        LiteratureCommand.model_validate_json('{"action": {"command": "add", "paper_id": "x"}}')


def test_copilot_answers_parse_and_file_validation(tmp_path):
    assert parse_answer("").action == "approve"
    assert parse_answer("redo").action == "redo"
    assert parse_answer("notes: use 5 samples") == parse_answer("use 5 samples")
    path = tmp_path / "answers.yaml"
    path.write_text("- approve\n- 'notes: more'\n")
    assert load_answers(path) == ["approve", "notes: more"]
    path.write_text("approve: yes\n")
    with pytest.raises(ConfigError, match="YAML list"):
        load_answers(path)


def test_checkpoint_is_atomic_json_and_roundtrips(tmp_path):
    tmp_path = tmp_path / "lab"
    state = LabState(fingerprint="abc", completed=["literature"])
    save_state(tmp_path, state)
    save_state(tmp_path, state)
    assert load_state(tmp_path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp files left
    (tmp_path / "state.json").write_text("{broken")
    with pytest.raises(ConfigError, match="unreadable"):
        load_state(tmp_path)


def test_every_prompt_file_renders_strictly():
    assert set(PHASES) >= {"literature", "publish"}
    for role in ROLES:
        prompts = load_prompts(role)
        assert prompts["system"] and prompts["tasks"]
    assert set(load_prompts("reviewer")["personas"]) == set(REVIEWER_PERSONAS)
    with pytest.raises(ConfigError, match="not given"):
        render("{{ missing }}")


def test_salvage_recovers_commands_cut_off_by_the_token_cap():
    assert salvage('{"text": "Checking answers hel', WriteSection).text == "Checking answers hel"
    review = salvage(
        '{"originality": 2, "quality": 3, "clarity": 3, "significance": 2, "soundness": 3, '
        '"presentation": 3, "contribution": 2, "overall": 5, "confidence": 3, '
        '"decision": "Accept", "summary": "a long summary that never en',
        LabReviewForm,
    )
    assert review.overall == 5 and review.to_form().summary.startswith("a long summary")
    assert salvage('{"overall": 5, "summ', LabReviewForm) is None  # scores missing: no
    assert salvage("no json here", WriteSection) is None
    cut_in_key = '{"section": "results", "text": "ok", "te'
    assert salvage(cut_in_key, EditSection).text == "ok"


def test_collapse_repeats_drops_looping_sentences():
    text = "It works. It is cheap. It works. It works! It is cheap."
    assert collapse_repeats(text) == "It works. It is cheap. It works!"


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        ("shared", {"campaign": "c-1"}),
        ("own", {"campaign": "c-1", "lab": "c-1-lab-a"}),
        ("none", None),
    ],
)
def test_archive_filters_follow_the_access_mode(access: str, expected: object) -> None:
    config = parse_config(
        {
            "topic": "x" * 10,
            "campaign_id": "c-1",
            "archive_access": access,
            "archive_lab": "c-1-lab-a",
        }
    )
    assert config.archive_filters() == expected
    own = parse_config({"topic": "x" * 10, "archive_access": "own", "lab_name": "solo"})
    assert own.archive_filters() == {"lab": "solo"}  # no campaign: the lab's own name
