"""The lab's public entry point: ``run_lab_result`` runs a lab with its after-publish steps
(held-out verification here) against a real server, the real sandbox and the scripted
agents, and returns a typed ``LabResult``; a second call resumes the finished lab without
repeating the steps."""

from __future__ import annotations

import pytest

from agentrxiv.client import ArchiveClient
from agentrxiv.lab.session import LabStopped, outcome_of, run_lab_result
from agentrxiv.llm.scripted import register_script
from agentrxiv.testing.scripted_lab import gold_answers, target_responder

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_run_lab_result_publishes_verifies_and_reports(labkit, sqlite_server) -> None:  # noqa: ANN001
    # A target that knows the test split too, so the verification measures something.
    register_script("target", target_responder(gold_answers()))
    verifier = sqlite_server.new_token("verifier-lab")
    config = labkit.config(
        after_publish={"verify": True, "verify_limit": 4, "verify_token": verifier}
    ).model_dump(mode="json")
    result = run_lab_result(config, server=sqlite_server.url, token=sqlite_server.token)

    assert result.outcome == "published" and result.paper_id and not result.resumable
    assert result.claim is not None
    assert (result.claim.benchmark, result.claim.split, result.claim.n) == ("math500", "dev", 4)
    # The scripted target is right on every problem when told to check, on every second
    # one otherwise: the technique's claim beats the zero-shot baseline of the same run.
    assert result.baseline is not None and result.claim.value > result.baseline
    assert result.technique == "technique.py:solve"
    assert result.tokens > 0 and result.wall_s > 0
    check = result.verification
    assert check is not None and check.n == 4 and check.value is not None, check
    # 4 test problems cannot back a claim (the server's rule: n < 10 is inconclusive)
    assert check.status == "inconclusive", check.status
    with ArchiveClient(sqlite_server.url) as client:
        paper = client.get(result.paper_id)
    assert [v.verifier for v in paper.verifications] == ["verifier-lab"]
    record = result.record()
    assert record["claimed"] == result.claim.value and record["verified_n"] == 4
    summary = (labkit.tmp_path / "labs" / "test-lab" / "summary.md").read_text()
    assert "## After publishing" in summary and f"verification of {result.paper_id}" in summary

    again = run_lab_result(config, server=sqlite_server.url, token=sqlite_server.token)
    assert again.paper_id == result.paper_id and again.verification == check
    with ArchiveClient(sqlite_server.url) as client:
        assert len(client.get(result.paper_id).verifications) == 1  # not verified twice


def test_outcomes_say_how_a_run_ended() -> None:
    assert outcome_of(LabStopped("by the campaign")) == ("stopped: by the campaign", True)
    assert outcome_of(KeyboardInterrupt())[0].startswith("crashed: KeyboardInterrupt")
