"""Search over a real database (SQLite and PostgreSQL) with the real MiniLM embedder: ranking
quality on a 30-paper corpus, filters, paging, aggregations, versions, withdrawals, input
that must not break the full-text parser, and no paper embedding at query time."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from agentrxiv.archive import repository
from agentrxiv.archive.auth import Principal, get_or_create_lab
from agentrxiv.archive.db import Database, migrate
from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.archive.search import SearchFilters, hybrid, search
from agentrxiv.archive.search.aggregate import aggregate
from agentrxiv.archive.search.embedder import get_embedder, search_text
from agentrxiv.archive.search.index import prefetch_embeddings
from agentrxiv.archive.tables import Paper, PaperVersion
from agentrxiv.config import Settings
from agentrxiv.errors import ArchiveError, NotFoundError

CORPUS = json.loads((Path(__file__).parent / "data" / "search_corpus.json").read_text())
MODES = ["keyword", "semantic", "hybrid"]


def _conftest():
    """The root conftest module (for ``postgres_database``; not importable by name)."""
    spec = importlib.util.spec_from_file_location(
        "agentrxiv_root_conftest", Path(__file__).parents[1] / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while executing
    spec.loader.exec_module(module)
    return module


@dataclass
class Archive:
    """A migrated database holding the corpus, and the paper id of each corpus key."""

    db: Database
    ids: dict[str, str]
    labs: dict[str, Principal]

    def key(self, paper_id: str) -> str:
        """The corpus key of a paper id."""
        return {v: k for k, v in self.ids.items()}[paper_id]

    def keys(self, query: str, mode: str, k: int = 10, **filters: object) -> list[str]:
        """Corpus keys of the results, best first."""
        with self.db.read() as session:
            response = search(session, query, mode, k=k, filters=SearchFilters(**filters))
        return [self.key(hit.id) for hit in response.items]


def _paper(entry: dict) -> PaperCreate:
    return PaperCreate(
        title=entry["title"],
        abstract=entry["abstract"],
        body=entry["body"],
        categories=entry["categories"],
        results=entry["results"],
        authors=[{"name": f"{entry['lab']} agent", "lab": entry["lab"], "models": ["gpt-4o"]}],
    )


def build_archive(url: str) -> Archive:
    """Migrate ``url`` and publish the corpus through the repository, with its dates."""
    migrate(url)
    db = Database(url)
    with db.write() as session:
        labs = {}
        for name in sorted({entry["lab"] for entry in CORPUS}):
            lab = get_or_create_lab(session, name)
            labs[name] = Principal(lab_id=lab.id, lab_name=lab.name, is_admin=False)
    prefetch_embeddings([_paper(e).model_dump() for e in CORPUS])
    ids = {}
    for entry in CORPUS:
        ids[entry["key"]] = repository.create_paper(db, labs[entry["lab"]], _paper(entry)).id
    with db.write() as session:
        for entry in CORPUS:
            moment = datetime.fromisoformat(entry["date"] + "T12:00:00+00:00")
            paper_id = ids[entry["key"]]
            session.execute(update(Paper).where(Paper.id == paper_id).values(created_at=moment))
            session.execute(
                update(PaperVersion)
                .where(PaperVersion.paper_id == paper_id)
                .values(created_at=moment)
            )
    return Archive(db=db, ids=ids, labs=labs)


def _urls(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'archive.sqlite'}"
    else:
        yield from _conftest().postgres_database()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    """The corpus in a fresh database, shared by the module's read-only tests."""
    for url in _urls(request.param, tmp_path_factory.mktemp("search")):
        built = build_archive(url)
        yield built
        built.db.dispose()


@pytest.fixture
def small_archive(tmp_path: Path) -> Iterator[tuple[Database, Principal]]:
    """An empty migrated SQLite archive for tests that write."""
    url = f"sqlite:///{tmp_path / 'small.sqlite'}"
    migrate(url)
    db = Database(url)
    with db.write() as session:
        lab = get_or_create_lab(session, "writer-lab")
        principal = Principal(lab_id=lab.id, lab_name=lab.name, is_admin=True)
    yield db, principal
    db.dispose()


# ------------------------------------------------------------------------- ranking quality


@pytest.mark.parametrize(
    ("query", "mode", "expected"),
    [
        ("self-consistency majority voting", "keyword", "selfcons"),
        ("averaging divergent drafts", "keyword", "sda"),
        ("SDA", "keyword", "sda"),
        # Paraphrases sharing (almost) no words with the relevant paper.
        (
            "generate multiple answers and choose the one most of them agree on",
            "semantic",
            "selfcons",
        ),
        ("how do amino acid chains fold into 3D shapes", "semantic", "folding_md"),
        ("machine learning over graph structured data", "semantic", "gcn"),
        ("step by step reasoning prompts for math word problems", "hybrid", "cot"),
        ("self-consistency majority voting", "hybrid", "selfcons"),
        ("averaging divergent drafts", "hybrid", "sda"),
    ],
)
def test_relevant_paper_ranks_first(archive: Archive, query: str, mode: str, expected: str) -> None:
    assert archive.keys(query, mode, k=3)[0] == expected


def test_keyword_ranks_title_above_body(archive: Archive) -> None:
    # "graph" is in both graph papers' titles; the citation-graph body mention ranks lower.
    keys = archive.keys("graph", "keyword")
    assert set(keys[:2]) == {"gcn", "gat"}


@pytest.mark.parametrize(
    "query", ['"foo', "AND OR (", "NEAR(x", "*", "title:foo", "a\"b'c;--", "((", "🙂", "-x"]
)
@pytest.mark.parametrize("mode", MODES)
def test_syntax_in_query_is_text_not_error(archive: Archive, query: str, mode: str) -> None:
    with archive.db.read() as session:
        response = search(session, query, mode, k=5)
    assert response.total >= 0


def test_keyword_falls_back_to_any_term(archive: Archive) -> None:
    # No paper has every word; the paper with most of them still ranks first.
    assert archive.keys("self-consistency voting zebra xylophone", "keyword", k=1) == ["selfcons"]


# ------------------------------------------------------------------------------ filters


@pytest.mark.parametrize("mode", MODES)
def test_category_filter(archive: Archive, mode: str) -> None:
    keys = archive.keys("image recognition", mode, k=100, category="cs.CV")
    if mode == "keyword":
        assert set(keys) == {"resnet", "vit"}
    else:
        assert set(keys) == {"resnet", "vit", "diffusion"}


@pytest.mark.parametrize("mode", MODES)
def test_lab_benchmark_min_value_and_date_filters(archive: Archive, mode: str) -> None:
    assert set(archive.keys("reasoning", mode, k=100, lab="lab-zeta")) <= {
        "resnet",
        "vit",
        "diffusion",
        "speech",
    }
    math = set(archive.keys("reasoning prompting", mode, k=100, benchmark="math500"))
    if mode != "keyword":
        assert math == {"cot", "selfcons", "sda", "dccp", "tot", "zeroshot", "prm"}
    strong = set(archive.keys("reasoning", mode, k=100, benchmark="math500", min_value=0.55))
    assert strong <= {"sda", "dccp", "prm"}
    if mode != "keyword":
        assert strong == {"sda", "dccp", "prm"}
    dated = archive.keys("model", mode, k=100, date_from=date(2025, 6, 1), date_to=date(2025, 6, 9))
    assert set(dated) <= {"verifier", "diffusion"}
    if mode != "keyword":
        assert set(dated) == {"verifier", "diffusion"}


def test_filter_validation() -> None:
    with pytest.raises(ArchiveError, match="min_value needs a benchmark"):
        SearchFilters(min_value=0.5)
    with pytest.raises(ArchiveError, match="date_from is after date_to"):
        SearchFilters(date_from=date(2025, 2, 1), date_to=date(2025, 1, 1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": "  "}, "q must not be empty"),
        ({"query": "x", "k": 0}, "k must be between"),
        ({"query": "x", "k": 101}, "k must be between"),
        ({"query": "x", "offset": -1}, "offset must be between"),
        ({"query": "x", "mode": "fuzzy"}, "mode must be"),
    ],
)
def test_search_validation(archive: Archive, kwargs: dict, message: str) -> None:
    with archive.db.read() as session, pytest.raises(ArchiveError, match=message) as info:
        search(session, **kwargs)
    assert info.value.status == 422


# ------------------------------------------------------------------------------- paging


@pytest.mark.parametrize("mode", MODES)
def test_paging_is_consistent(archive: Archive, mode: str) -> None:
    with archive.db.read() as session:
        full = search(session, "language model", mode, k=12)
        pages = [
            search(session, "language model", mode, k=4, offset=offset) for offset in (0, 4, 8)
        ]
    assert [h.id for p in pages for h in p.items] == [h.id for h in full.items]
    assert {p.total for p in pages} == {full.total}
    assert full.total >= 10
    assert len(full.items) == min(12, full.total)
    scores = [h.score for h in full.items]
    assert scores == sorted(scores, reverse=True)


# -------------------------------------------------------------------------- aggregations


def test_best_per_benchmark(archive: Archive) -> None:
    with archive.db.read() as session:
        rows = aggregate(session, "best-per-benchmark").items
    best = {(r.benchmark, r.metric): (archive.key(r.paper_id), r.value, r.lab) for r in rows}
    assert best == {
        ("math500", "accuracy"): ("prm", 0.78, "lab-beta"),
        ("gsm8k", "accuracy"): ("selfcons", 0.74, "lab-alpha"),
        ("cora", "accuracy"): ("gat", 0.83, "lab-epsilon"),
        ("imagenet", "top1"): ("vit", 0.88, "lab-zeta"),
        ("glue", "score"): ("bert", 80.5, "lab-alpha"),
    }


def test_papers_per_lab_and_category(archive: Archive) -> None:
    with archive.db.read() as session:
        labs = {r.key: r.papers for r in aggregate(session, "papers-per-lab").items}
        cats = {r.key: r.papers for r in aggregate(session, "papers-per-category").items}
    expected_labs: dict[str, int] = {}
    expected_cats: dict[str, int] = {}
    for entry in CORPUS:
        expected_labs[entry["lab"]] = expected_labs.get(entry["lab"], 0) + 1
        for cat in entry["categories"]:
            expected_cats[cat] = expected_cats.get(cat, 0) + 1
    assert labs == expected_labs
    assert cats == expected_cats
    assert cats["cs.CL"] == 11


def test_results_over_time(archive: Archive) -> None:
    with archive.db.read() as session:
        agg = aggregate(session, "results-over-time", benchmark="math500")
    months = [(p.month, p.results, p.best_in_month, p.best_so_far) for p in agg.items]
    assert agg.metric == "accuracy"
    assert months == [
        ("2025-01", 2, 0.5, 0.5),
        ("2025-02", 2, 0.55, 0.55),
        ("2025-03", 1, 0.61, 0.61),
        ("2025-05", 1, 0.35, 0.61),
        ("2025-06", 1, 0.78, 0.78),
    ]
    assert archive.key(agg.items[-1].best_paper_id) == "prm"


def test_aggregate_errors(archive: Archive) -> None:
    with archive.db.read() as session:
        with pytest.raises(NotFoundError, match="unknown aggregation"):
            aggregate(session, "papers-per-moon")
        with pytest.raises(ArchiveError, match="needs benchmark"):
            aggregate(session, "results-over-time")
        assert aggregate(session, "results-over-time", benchmark="nothing").items == []


# ---------------------------------------------------------------- versions, withdrawals


def _create(db: Database, principal: Principal, title: str, abstract: str) -> str:
    data = PaperCreate(title=title, abstract=abstract, categories=["cs.LG"])
    return repository.create_paper(db, principal, data).id


@pytest.mark.parametrize("mode", MODES)
def test_new_version_replaces_old_and_withdrawn_disappear(
    small_archive: tuple[Database, Principal], mode: str
) -> None:
    db, principal = small_archive
    graph = _create(db, principal, "Graph neural networks", "Message passing over graph nodes.")
    other = _create(db, principal, "Protein structure", "Predicting how amino acid chains fold.")

    def hits(query: str) -> list[tuple[str, int]]:
        with db.read() as session:
            return [(h.id, h.version) for h in search(session, query, mode, k=10).items]

    assert (graph, 1) in hits("graph message passing")
    revised = PaperCreate(
        title="Ocean heat uptake", abstract="Oceans absorb most excess heat.", categories=["x"]
    )
    repository.add_version(db, principal, graph, revised)
    assert (graph, 1) not in hits("graph message passing")
    assert hits("ocean heat")[0] == (graph, 2)
    assert [pid for pid, _ in hits("ocean heat")].count(graph) == 1
    repository.withdraw(db, principal, other, "duplicate")
    assert other not in [pid for pid, _ in hits("protein amino acid folding")]
    with db.read() as session:
        assert {r.key: r.papers for r in aggregate(session, "papers-per-category").items} == {
            "x": 1
        }


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("self-consistency majority voting", SearchFilters()),
        ("step by step reasoning prompts for math word problems", SearchFilters()),
        ("reasoning", SearchFilters(category="cs.CL")),
        ("zzqx unmatched words", SearchFilters()),
    ],
)
def test_concurrent_hybrid_equals_sequential(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, query: str, filters: SearchFilters
) -> None:
    with archive.db.read() as session:
        assert hybrid.concurrent_engine(session) is not None  # file/server databases
        concurrent = search(session, query, "hybrid", k=20, filters=filters)
        monkeypatch.setattr(hybrid, "concurrent_engine", lambda _session: None)
        sequential = search(session, query, "hybrid", k=20, filters=filters)
    assert concurrent.model_dump() == sequential.model_dump()
    assert concurrent.total == sequential.total


def test_only_the_query_is_embedded(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = get_embedder()
    calls: list[list[str]] = []
    original = embedder.encode

    def spy(texts: list[str], batch_size: int = 32):
        calls.append(list(texts))
        return original(texts, batch_size)

    monkeypatch.setattr(embedder, "encode", spy)
    with archive.db.read() as session:
        for mode in MODES:
            search(session, "protein folding", mode, k=5)
    assert calls == [["protein folding"], ["protein folding"]]


def test_bfloat16_embeddings_match_float32() -> None:
    # The embedder computes in bfloat16 where the CPU has it; vectors must stay float32-close.
    texts = [search_text(e["title"], e["abstract"], e["body"]) for e in CORPUS[:12]]
    texts.append("protein folding")
    embedder = get_embedder()
    reduced = embedder.encode(texts, bf16=True)
    full = embedder.encode(texts, bf16=False)
    assert float((reduced * full).sum(axis=1).min()) >= 0.9999
    single = embedder.encode(texts[:1], bf16=False)[0]
    assert float(single @ full[0]) >= 0.99999  # one text alone or in a batch: same vector


def test_embed_on_write_off_still_keyword_searchable(
    small_archive: tuple[Database, Principal], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRXIV_EMBED_ON_WRITE", "false")
    from agentrxiv.config import get_settings

    get_settings.cache_clear()
    db, principal = small_archive
    paper = _create(db, principal, "Unembedded paper on tides", "Tidal forces and moons.")
    with db.read() as session:
        assert [h.id for h in search(session, "tides", "keyword").items] == [paper]
        assert search(session, "tides", "semantic").total == 0
        hybrid = search(session, "tides", "hybrid")
    assert [h.id for h in hybrid.items] == [paper]
    assert hybrid.total == 1


def test_matrix_reloads_when_it_missed_a_version(
    small_archive: tuple[Database, Principal],
) -> None:
    from agentrxiv.archive.search import semantic

    db, principal = small_archive
    paper = _create(db, principal, "Tidal forces", "Moons raise tides on oceans.")
    with db.read() as session:
        assert search(session, "moon tides", "semantic").items[0].id == paper
        matrix = semantic._matrix_of(session)
        # As if the version had committed out of id order, beyond the rescan window.
        version_id = matrix.latest_of_paper.pop(paper)
        matrix._drop(version_id)
        matrix.next_recount = 0.0
    with db.read() as session:
        assert [h.id for h in search(session, "moon tides", "semantic").items] == [paper]


# ------------------------------------------------------------------------- relevance floor
# The default floor (0.3) sits between the best off-topic cosine on this corpus (0.25) and
# the lowest cosine of an on-topic query's expected paper (0.41): benchmarks/search_floor.py.
FLOOR = Settings().search_min_score


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_off_topic_query_finds_no_close_match(archive: Archive, mode: str) -> None:
    with archive.db.read() as session:
        found = search(session, "quantum chromodynamics lattice QCD", mode, min_score=FLOOR)
        unfloored = search(session, "quantum chromodynamics lattice QCD", mode)
    assert found.total == 0 and found.items == []
    assert found.min_score == FLOOR and found.note and "no close matches" in found.note
    assert unfloored.total > 0  # without the floor every embedded paper is a "match"


@pytest.mark.parametrize(
    ("query", "mode", "expected"),
    [
        (
            "generate multiple answers and choose the one most of them agree on",
            "semantic",
            "selfcons",
        ),
        ("machine learning over graph structured data", "semantic", "gcn"),
        ("step by step reasoning prompts for math word problems", "hybrid", "cot"),
        ("SDA", "hybrid", "sda"),  # a keyword match stays, whatever its cosine
    ],
)
def test_on_topic_queries_keep_their_hits_above_the_floor(
    archive: Archive, query: str, mode: str, expected: str
) -> None:
    with archive.db.read() as session:
        found = search(session, query, mode, k=5, min_score=FLOOR)
    assert [archive.key(hit.id) for hit in found.items][0] == expected
    assert found.note is None and found.total >= 1
    if mode == "semantic":
        assert all(hit.score >= FLOOR for hit in found.items)
        assert found.total < len(CORPUS)  # the floor drops the unrelated papers


def test_floor_is_ignored_by_keyword_and_checked(archive: Archive) -> None:
    with archive.db.read() as session:
        keyword = search(session, "graph", "keyword", min_score=0.99)
        assert keyword.total > 0 and keyword.min_score is None
        with pytest.raises(ArchiveError, match="min_score"):
            search(session, "graph", "semantic", min_score=1.5)
