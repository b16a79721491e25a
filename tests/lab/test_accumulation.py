"""Research that accumulates code: in shared mode a second lab's experiments start from the
first paper's technique.py and the paper records ``builds_on_technique`` (API and page, with
the diff); ``none`` mode never does; variants tried are on the record."""

from __future__ import annotations

import httpx
import pytest

from agentrxiv.client import ArchiveClient
from agentrxiv.lab.technique_space import options_of

pytestmark = pytest.mark.integration
PLAN = {
    "title": "A careful instruction",
    "hypothesis": "Asking to check the work helps.",
    "technique_name": "careful",
    "technique_instruction": "Solve it.",  # no "check": the scripted target errs half the time
    "samples": 1,
    "evaluation": "accuracy against zero-shot",
}


def test_second_paper_in_shared_mode_builds_on_the_first_papers_technique(labkit, sqlite_server):
    labkit.script.override("plan_final", PLAN)
    labkit.script.override("choose_technique", {"instruction": "careful", "shots": 2})
    first = labkit.run(
        labkit.config(lab_name="acc-first", mle_solver_steps=0, paper_solver_steps=0),
        server=sqlite_server,
    )
    exp = first.state.experiments
    assert [p.origin for p in exp.tried] == ["seed", "plan"]
    assert exp.tried[0].score == pytest.approx(0.5) and exp.tried[1].score == pytest.approx(1.0)
    assert first.state.builds_on is None  # nothing in scope yet: the template seed
    with ArchiveClient(sqlite_server.url) as client:
        parent = client.get(first.state.published_id)
    assert parent.builds_on_technique is None and parent.variants_tried == 2
    parent_code = parent.code_files["technique.py"]
    assert options_of(parent_code).instruction == "careful"

    second = labkit.run(
        labkit.config(lab_name="acc-second", mle_solver_steps=0, paper_solver_steps=0),
        server=sqlite_server,
    )
    state = second.state
    assert state.builds_on.paper_id == parent.id and state.builds_on.label == "claimed"
    start = state.experiments.tried[0]
    assert start.origin == "parent" and start.code.startswith(parent_code.rstrip())
    # The plan repeated the parent's options: the lab measured a neighbour (one option
    # changed) next to the unchanged parent, so the round still tries something new.
    assert [p.origin for p in state.experiments.tried] == ["parent", "plan"]
    choice = state.technique
    assert choice.source == "neighbour" and choice.start == options_of(parent_code).model_dump()
    changed = {k for k, v in choice.options.items() if choice.start[k] != v}
    assert changed and changed <= {
        "shots",
        "instruction",
        "samples",
        "temperature",
        "reasoning",
        "format_hint",
    }
    assert options_of(state.experiments.tried[1].code).model_dump() == choice.options
    with ArchiveClient(sqlite_server.url) as client:
        child = client.get(state.published_id)
    assert child.builds_on_technique == parent.id and parent.id in child.parents
    assert child.variants_tried == 2
    assert f"neighbour of the start ({choice.changed})" in child.body
    if state.experiments.best().origin == "parent":
        assert "No variant beat the parent's technique on dev" in child.body
    page = httpx.get(f"{sqlite_server.url}/abs/{child.id}").text
    assert f'href="/abs/{parent.id}"' in page and "Builds on the technique of" in page
    assert "Variants measured on dev before this claim was chosen" in page

    labkit.script.override("choose_technique", {"shots": 4})
    isolated = labkit.run(
        labkit.config(
            lab_name="acc-none", archive_access="none", mle_solver_steps=0, paper_solver_steps=0
        ),
        server=sqlite_server,
    )
    assert isolated.state.builds_on is None
    assert isolated.state.experiments.tried[0].origin == "seed"
    with ArchiveClient(sqlite_server.url) as client:
        lone = client.get(isolated.state.published_id)
    assert lone.builds_on_technique is None and lone.variants_tried == 2


def test_builds_on_technique_must_name_a_known_paper(sqlite_server):
    paper = {"title": "t", "abstract": "a", "builds_on_technique": "2601.99999"}
    with httpx.Client(
        base_url=sqlite_server.url, headers={"Authorization": f"Bearer {sqlite_server.token}"}
    ) as client:
        unknown = client.post("/api/v1/papers", json=paper)
        malformed = client.post("/api/v1/papers", json={**paper, "builds_on_technique": "x"})
    assert unknown.status_code == 422 and "unknown paper 2601.99999" in unknown.text
    assert malformed.status_code == 422


def _submit(client: ArchiveClient, title: str, value: float) -> str:
    from agentrxiv.archive.schemas import PaperCreate, ResultIn

    code = f"TITLE = {title!r}\n\ndef solve(problem, model):\n    return ''\n"
    paper = PaperCreate(
        title=title,
        abstract="a",
        results=[ResultIn(benchmark="math500", metric="accuracy", value=value, n=4, split="dev")],
        code_files={"technique.py": code},
        technique="technique.py:solve",
    )
    return client.submit(paper).id


def test_the_parent_is_the_best_verified_technique_else_the_best_claimed(labkit, tmp_path):
    from tests.conftest import start_server, stop_server

    from agentrxiv.archive.checks import verification_from_marks
    from agentrxiv.lab import accumulate

    (tmp_path / "home").mkdir()
    server = start_server(tmp_path / "home", f"sqlite:///{tmp_path / 'a.sqlite'}")
    try:
        with ArchiveClient(server.url, token=server.new_token("authors")) as client:
            low = _submit(client, "verified lower", 0.6)
            high = _submit(client, "claimed higher", 0.9)
        rt = labkit.runtime(labkit.config(lab_name="picker"), server=server)
        picked = accumulate.find_parent(rt)
        assert (picked.paper_id, picked.label) == (high, "claimed")
        with ArchiveClient(server.url, token=server.new_token("verifier")) as client:
            # 15 of 30 right: numbers the server accepts (they follow from per-problem marks)
            record = verification_from_marks(
                [True] * 15 + [False] * 15,
                [True] * 5 + [False] * 25,
                benchmark="math500",
                code_files=client.get(low).code_files,
            )
            client.post_verification(low, record)
        picked = accumulate.find_parent(rt)
        assert (picked.paper_id, picked.label, picked.value) == (low, "verified", 0.5)
        own = labkit.runtime(labkit.config(lab_name="own-lab", archive_access="own"), server=server)
        assert accumulate.find_parent(own) is None  # its own scope holds no paper
    finally:
        stop_server(server)


@pytest.mark.parametrize("target_cache", [True, False])
def test_target_cache_measures_a_repeated_request_once(labkit, sqlite_server, target_cache):
    """With ``target_cache`` the plan's run answers the zero-shot baseline, already measured
    by the seed's run, from the cache; agent calls are never cached."""
    labkit.script.override("plan_final", PLAN)
    labkit.script.override("choose_technique", {"instruction": "careful", "shots": 2})
    config = labkit.config(
        lab_name=f"cache-{target_cache}",
        archive_access="none",  # the template seed, whatever the shared archive holds
        mle_solver_steps=0,
        paper_solver_steps=0,
        target_cache=target_cache,
    )
    rt = labkit.run(config, server=sqlite_server)
    assert [p.origin for p in rt.state.experiments.tried] == ["seed", "plan"]
    target = rt.ledger.totals(rt.tag("experiments", "target"))
    agents = [r for r in rt.ledger.records if not r.tag.endswith("/target")]
    assert agents and not any(r.cached for r in agents)
    baseline_n = rt.state.experiments.tried[1].result["details"]["baseline"]["n"]
    if target_cache:
        assert target.cached_calls >= baseline_n > 0  # the second baseline, at least
    else:
        assert target.cached_calls == 0
    scores = [p.score for p in rt.state.experiments.tried]
    assert scores == [pytest.approx(0.5), pytest.approx(1.0)]  # the same measurements
