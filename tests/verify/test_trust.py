"""What makes a verification trustworthy, over HTTP against a real server on SQLite and
PostgreSQL: the one claim rule, small samples that cannot decide, the effect over the
baseline, records the server re-checks, model use, and near-duplicates on leaderboards."""

from __future__ import annotations

import httpx
import pytest

from agentrxiv.archive.checks import verification_from_marks
from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.verify import verify_paper

from .conftest import FABRICATED, HONEST, make_labs, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ORACLE = "scripted/arith-oracle"


def test_claim_in_percent_is_read_as_a_fraction_everywhere(live_server) -> None:
    labs = make_labs(live_server)
    paper = PaperCreate(
        title="Percent claims",
        abstract="A claim written in percent.",
        body="Body.",
        results=[
            {"benchmark": "arith", "metric": "baseline_accuracy", "value": 12.0, "model": "m"},
            {"benchmark": "arith", "metric": "accuracy", "value": 78.2, "model": "m"},
        ],
    )
    paper_id = labs.author.submit(paper).id
    api = httpx.get(f"{live_server.url}/api/v1/papers/{paper_id}", timeout=30).json()
    assert api["claimed_value"] == pytest.approx(0.782)
    listed = httpx.get(f"{live_server.url}/api/v1/papers", timeout=30).json()["items"]
    assert next(p for p in listed if p["id"] == paper_id)["claimed_value"] == pytest.approx(0.782)


def test_four_problems_decide_nothing(live_server, oracle) -> None:
    labs = make_labs(live_server)
    zero = publish(labs.author, FABRICATED, 0.40, title="Zero of four")
    record = verify_paper(labs.verifier, zero, limit=4)
    assert record.value == 0.0 and record.n == 4
    assert record.status == "inconclusive"  # 0/4 cannot back a claim of 0.40
    honest = publish(labs.author, HONEST, 0.95, title="Four of four")
    record = verify_paper(labs.verifier, honest, limit=4)
    assert record.value == 1.0 and record.effect != "confirmed"
    stored = httpx.get(f"{live_server.url}/api/v1/papers/{honest}/verifications", timeout=30)
    assert stored.json()[-1]["effect"] == "inconclusive"


COMPUTES = r"""
import re


def solve(problem, model):
    expression = re.search(r"What is ([0-9+\-* ]+)\?", problem).group(1)
    return "\\boxed{%d}" % eval(expression)
"""
ASKS_THEN_COMPUTES = r"""
import re


def solve(problem, model):
    model.chat([{"role": "user", "content": problem}], temperature=0.0)
    expression = re.search(r"What is ([0-9+\-* ]+)\?", problem).group(1)
    return "\\boxed{%d}" % eval(expression)
"""


def test_technique_without_model_calls_is_marked_and_ranked_apart(live_server, oracle) -> None:
    labs = make_labs(live_server)
    # Distinct topics, so that novelty does not group the three papers on the leaderboard.
    computes = labs.author.submit(paper(COMPUTES, 0.99, "python arithmetic")).id
    honest = labs.author.submit(paper(HONEST, 0.90, "careful prompting")).id
    asks = labs.author.submit(paper(ASKS_THEN_COMPUTES, 0.95, "asking then computing")).id
    marked = verify_paper(labs.verifier, computes, limit=12)
    assert marked.value == 1.0 and marked.no_model_use == 12
    assert marked.details["model_use"] == "no model use on 12 of 12 problems"
    for paper_id in (honest, asks):
        record = verify_paper(labs.verifier, paper_id, limit=12)
        assert record.value == 1.0 and record.no_model_use == 0, record.details
    stored = httpx.get(f"{live_server.url}/api/v1/papers/{computes}/verifications", timeout=30)
    assert stored.json()[-1]["no_model_use"] == 12
    page = httpx.get(f"{live_server.url}/abs/{computes}", timeout=30).text
    assert "no model use on 12 of 12 problems" in page
    board = labs.author.leaderboard("arith")
    order = [e.paper_id for e in board.entries]
    assert order[-1] == computes and set(order[:2]) == {honest, asks}
    assert board.entries[-1].model_use_note == "no model use on 12 of 12 problems"
    html = httpx.get(f"{live_server.url}/leaderboard/arith", timeout=30).text
    assert "no model use on 12 of 12 problems" in html


ORIGINAL = '''
def solve(problem, model):
    """Ask the model to work carefully."""
    reply = model.chat([{"role": "user", "content": "CAREFUL " + problem}], temperature=0.0)
    return reply.text
'''
# The same technique with other comments, docstrings, quotes and layout.
DISGUISES = [
    ORIGINAL.replace('"""Ask the model to work carefully."""', '"""A new idea!"""'),
    "# Our novel method\n" + ORIGINAL.replace("reply.text", "reply.text  # the answer"),
    ORIGINAL.replace('"CAREFUL "', "'CAREFUL '").replace("temperature=0.0", "temperature = 0.0"),
    ORIGINAL.replace('    """Ask the model to work carefully."""\n', ""),
    ORIGINAL.replace("[{", "[\n        {").replace("}]", "}\n    ]"),
]
TOPICS = ["chains of thought", "voting", "reflection", "tool use", "scratchpads", "planning"]


def paper(code: str, claimed: float, topic: str) -> PaperCreate:
    """A paper on its own topic (so that only the code can make it a near-duplicate)."""
    return PaperCreate(
        title=f"Arithmetic with {topic}",
        abstract=f"We study {topic} for small language models on sums.",
        body=f"## Method\n\nA study of {topic}: {topic} applied to arithmetic problems.",
        results=[
            {
                "benchmark": "arith",
                "metric": "accuracy",
                "value": claimed,
                "model": ORACLE,
                "split": "dev",
            }
        ],
        code_files={"technique.py": code},
        technique="technique.py:solve",
    )


def test_disguised_copies_are_grouped_under_the_earliest_paper(live_server) -> None:
    labs = make_labs(live_server)
    original = labs.author.submit(paper(ORIGINAL, 0.50, TOPICS[0])).id
    copies = [
        labs.verifier.submit(paper(code, 0.99 - i / 100, topic)).id
        for i, (code, topic) in enumerate(zip(DISGUISES, TOPICS[1:], strict=True))
    ]
    distinct = labs.author.submit(paper(FABRICATED, 0.70, "bananas")).id
    for copy in copies:
        assert labs.author.paper_novelty(copy).near_duplicate_of == original
    board = labs.author.leaderboard("arith")
    assert [e.paper_id for e in board.entries] == [distinct, original]
    assert sorted(board.entries[1].near_duplicates) == sorted(copies)
    html = httpx.get(f"{live_server.url}/leaderboard/arith", timeout=30).text
    assert "near-duplicates grouped here" in html and copies[0] in html


def test_novelty_is_checked_on_every_version_without_withdrawn_papers(live_server) -> None:
    labs = make_labs(live_server)
    original = labs.author.submit(paper(ORIGINAL, 0.5, "chains of thought")).id
    own_v2 = labs.author.new_version(original, paper(ORIGINAL, 0.6, "chains of thought"))
    assert own_v2.version == 2  # its own earlier version is not a near-duplicate
    assert labs.author.paper_novelty(original).near_duplicate_of is None
    other = labs.verifier.submit(paper(FABRICATED, 0.5, "bananas")).id
    assert labs.author.paper_novelty(other).near_duplicate_of is None
    labs.verifier.new_version(other, paper(DISGUISES[1], 0.5, "bananas"))
    assert labs.author.paper_novelty(other).near_duplicate_of == original
    labs.admin.withdraw(original, "retracted")
    late = labs.verifier.submit(paper(DISGUISES[2], 0.5, "planning")).id
    assert labs.author.paper_novelty(late).near_duplicate_of != original


def test_server_checks_what_it_stores(live_server) -> None:
    labs = make_labs(live_server)
    paper_id = publish(labs.author, HONEST, 0.90, title="Claims ninety")
    other_id = publish(labs.author, FABRICATED, 0.90, title="Another paper")
    url = f"{live_server.url}/api/v1/papers"
    headers = labs.verifier._http.headers
    wrong = [False] * 12  # 0 of 12 right: the claim of 0.90 is ruled out
    honest = verification_from_marks(
        wrong, wrong, benchmark="arith", code_files={"technique.py": HONEST}
    ).model_dump(mode="json")

    def post(body: dict, target: str = paper_id) -> httpx.Response:
        return httpx.post(f"{url}/{target}/verifications", json=body, headers=headers, timeout=60)

    lying = post({**honest, "status": "reproduced", "claimed_value": 0.0, "effect": "confirmed"})
    assert lying.status_code == 201, lying.text
    stored = lying.json()
    assert stored["status"] == "not reproduced"  # the server's decision, not the posted one
    assert stored["claimed_value"] == pytest.approx(0.90) and stored["effect"] == "inconclusive"
    other_code = post(honest, target=other_id)
    assert other_code.status_code == 422 and "content_hash" in other_code.json()["error"]
    inflated = post({**honest, "value": 0.5, "ci_low": 0.25, "ci_high": 0.75})
    assert inflated.status_code == 422 and "inconsistent" in inflated.json()["error"]
    narrow = post({**honest, "delta_low": -0.01, "delta_high": 0.01})
    assert narrow.status_code == 422 and "delta_low" in narrow.json()["error"]
    no_marks = post({**honest, "details": {}})
    assert no_marks.status_code == 422 and "technique_correct" in no_marks.json()["error"]
    listed = httpx.get(f"{url}/{paper_id}/verifications", timeout=30).json()
    assert [v["status"] for v in listed] == ["not reproduced"]

    # Insight evidence comes from a stored verification of the same paper.
    batch = {
        "paper_id": other_id,
        "insights": [{"kind": "pitfall", "text": "Bananas are not numbers."}],
        "evidence": {"verification_id": stored["id"], "difference": 0.5, "status": "reproduced"},
    }
    author = labs.author._http.headers
    foreign = httpx.post(f"{live_server.url}/api/v1/insights", json=batch, headers=author)
    assert foreign.status_code == 422 and "not a stored verification" in foreign.json()["error"]
    batch["paper_id"] = paper_id
    own = httpx.post(f"{live_server.url}/api/v1/insights", json=batch, headers=author)
    assert own.status_code == 201, own.text
    evidence = own.json()[0]["evidence"]
    assert evidence["status"] == "not reproduced" and evidence["difference"] == 0.0
