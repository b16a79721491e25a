"""Small pure parts of verification: status rule, claims, hashes, the driver payload and
what the lab's literature phase shows its agents."""

from __future__ import annotations

from datetime import UTC, datetime

from agentrxiv.archive.schemas import LineageWarning, PaperPublic, ResultPublic
from agentrxiv.bench.math500 import Problem
from agentrxiv.lab.phases.literature import verification_note
from agentrxiv.verify import content_hash, decide_status
from agentrxiv.verify.core import as_fraction, canonical_benchmark, read_claim
from agentrxiv.verify.sandboxed import driver_source


def _paper(**fields: object) -> PaperPublic:
    now = datetime.now(UTC)
    base = dict(
        id="2612.00001",
        version=1,
        title="T",
        abstract="A",
        authors=[],
        categories=[],
        lab="lab",
        withdrawn=False,
        created_at=now,
        updated_at=now,
        body="",
        comment=None,
        parents=[],
        results=[],
        code_files={},
        has_pdf=False,
        versions=[1],
    )
    return PaperPublic(**{**base, **fields})


def test_status_rule() -> None:
    assert decide_status(0.5, 100, 0.4, 0.6) == "reproduced"  # inside the interval
    assert decide_status(0.2, 100, 0.4, 0.6) == "reproduced"  # below it
    assert decide_status(0.6, 100, 0.4, 0.6) == "reproduced"  # on the upper bound
    assert decide_status(0.9, 100, 0.4, 0.6) == "not reproduced"
    assert decide_status(None, 4, 0.0, 0.49) == "reproduced"  # transfer: nothing claimed


def test_claims_and_names() -> None:
    results = [
        ResultPublic(benchmark="arith", metric="baseline_accuracy", value=0.1, model="m"),
        ResultPublic(benchmark="MATH-500", metric="accuracy", value=78.2, model="m", split="dev"),
    ]
    claim = read_claim(_paper(results=results))
    assert claim is not None and claim.benchmark == "MATH-500" and claim.split == "dev"
    assert claim.value == 0.782 and as_fraction(0.5) == 0.5 and as_fraction(None) is None
    assert canonical_benchmark("MATH-500") == "math500" and canonical_benchmark("arith") == "arith"
    assert read_claim(_paper()) is None


def test_content_hash_is_order_independent_and_exact() -> None:
    one = content_hash({"a.py": "x", "b.py": "y"})
    assert one == content_hash({"b.py": "y", "a.py": "x"})
    assert one != content_hash({"a.py": "xb.py", "": "y"})
    assert len(one) == 64


def test_driver_never_sees_gold_answers() -> None:
    problem = Problem(
        problem="What is 2 + 2?",
        solution="SECRET-SOLUTION",
        answer="SECRET-4",
        subject="s",
        level=1,
        unique_id="p1",
    )
    source = driver_source(
        {"t.py": "def solve(p, m):\n    return ''\n"}, "t.py:solve", [problem], 2
    )
    assert "What is 2 + 2?" in source and "SECRET" not in source
    compile(source, "driver", "exec")


def test_literature_phase_shows_status_and_warnings() -> None:
    warning = LineageWarning(
        ancestor_id="2612.00009",
        ancestor_title="Bananas",
        status="not reproduced",
        message="builds on 2612.00009 ('Bananas'): its claimed result was not reproduced",
    )
    paper = _paper(verification_status="reproduced", verified_value=0.41, warnings=[warning])
    note = verification_note(paper)
    assert "verification: reproduced, verified 0.410" in note
    assert "WARNING: builds on 2612.00009" in note
    assert verification_note(_paper()) == ""
