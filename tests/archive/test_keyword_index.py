"""The keyword index (tantivy) that proposes keyword candidates in large SQLite archives, on a
real SQLite database of 1,200 papers, the threshold lowered to 500 and every query sent
through the index: keyword and hybrid results match the database's own ranking
of every match (recall@10 >= 0.95, identical scores), new papers and versions count before
and after the index catches up, a restart loads the saved index, an index from another
database is rebuilt, and input tantivy's parser would reject still gets answers. PostgreSQL
ranks every match itself (no index).

Papers are drawn from a Zipfian vocabulary of pseudo-words, so two-word queries match
hundreds of papers with spread-out scores; vectors are synthetic (no MiniLM)."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import postgres_database

from agentrxiv.archive import repository
from agentrxiv.archive.auth import Principal, get_or_create_lab
from agentrxiv.archive.db import Database, migrate
from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.archive.search import index, keyword, keyword_index, search, semantic
from agentrxiv.archive.search.embedder import EMBEDDING_DIM, to_bytes
from agentrxiv.config import get_settings

pytestmark = pytest.mark.timeout(1800)
PAPERS = 1_200
QUERIES = 30
_SYLLABLES = ["ka", "lo", "mi", "ru", "te", "zan", "po", "vel", "dri", "su", "nor", "ex"]
VOCABULARY = sorted(
    {a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("n", "s", "x", "r")}
)[:300]
_WEIGHTS = [1.0 / (rank + 1) for rank in range(len(VOCABULARY))]


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(VOCABULARY, weights=_WEIGHTS, k=count))


def _vector(seed: str) -> np.ndarray:
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16))
    vector = rng.standard_normal(EMBEDDING_DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def fake_embedding(fields: dict[str, str]) -> bytes:
    return to_bytes(_vector(fields["title"]))


class FakeEmbedder:
    def encode_one(self, text: str) -> np.ndarray:
        return _vector(text)


def _paper(n: int) -> PaperCreate:
    rng = random.Random(n)
    return PaperCreate(
        title=f"{_words(rng, 6)} study {n}",
        abstract=_words(rng, 60),
        body=_words(rng, 120),
        categories=["cs.AI" if n % 3 else "cs.LG"],
    )


def _queries() -> list[str]:
    rng = random.Random(7)
    common = VOCABULARY[:40]
    return [" ".join(rng.sample(common, 2)) for _ in range(QUERIES)]


@dataclass
class Corpus:
    db: Database
    lab: Principal
    url: str
    home: Path

    @property
    def directory(self) -> Path:
        path = keyword_index.keyword_index_path(self.url, self.home)
        assert path is not None
        return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    directory = tmp_path_factory.mktemp("keywords")
    url = f"sqlite:///{directory / 'archive.sqlite'}"
    migrate(url)
    db = Database(url)
    with db.write() as session:
        owner = get_or_create_lab(session, "keyword-lab")
        lab = Principal(lab_id=owner.id, lab_name=owner.name, is_admin=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "prepare_embedding", fake_embedding)
        for n in range(PAPERS):
            repository.create_paper(db, lab, _paper(n))
    yield Corpus(db, lab, url, directory / "home")
    db.dispose()
    semantic.forget_matrices()
    keyword_index.forget_keyword_indexes()


@pytest.fixture
def indexed(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> Corpus:
    """The corpus with the threshold at 500, every query through the keyword index (which
    is built or loaded), and the fake embedder for queries and new papers."""
    monkeypatch.setenv("AGENTRXIV_HOME", str(corpus.home))
    monkeypatch.setenv("AGENTRXIV_SEARCH_INDEX_MIN_PAPERS", "500")
    get_settings.cache_clear()
    monkeypatch.setattr(keyword, "EXACT_MATCHES", 0)
    monkeypatch.setattr(index, "prepare_embedding", fake_embedding)
    fake = FakeEmbedder()
    monkeypatch.setattr("agentrxiv.archive.search.hybrid.get_embedder", lambda: fake)
    with corpus.db.read() as session:
        assert keyword_index.wait_for_keyword_index(session, timeout=300)
    yield corpus
    get_settings.cache_clear()


def _hits(db: Database, query: str, mode: str = "keyword", k: int = 10) -> list[tuple[str, float]]:
    with db.read() as session:
        return [(hit.id, hit.score) for hit in search(session, query, mode, k=k).items]


def _database_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyword, "ready_index", lambda session: None)


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_results_through_the_index_match_the_database_ranking(
    indexed: Corpus, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    queries = _queries()
    with indexed.db.read() as session:
        assert keyword_index.keyword_index_state(session)["indexed"] == PAPERS
        matches = keyword.keyword_matches(session, queries[0])[1]
    assert matches > 50  # the queries match many papers, so the index chooses candidates
    through_index = {q: _hits(indexed.db, q, mode) for q in queries}
    with monkeypatch.context() as patch:
        _database_only(patch)
        exact = {q: _hits(indexed.db, q, mode) for q in queries}
    found = sum(len({i for i, _ in through_index[q]} & {i for i, _ in exact[q]}) for q in queries)
    recall = found / sum(len(exact[q]) for q in queries)
    print(f"{mode} recall@10 through the keyword index: {recall:.3f}")
    assert recall >= 0.95
    if mode == "keyword":  # the database scored the candidates: same scores
        for q in queries:
            wanted = dict(exact[q])
            for paper_id, score in through_index[q]:
                if paper_id in wanted:
                    assert score == pytest.approx(wanted[paper_id], rel=1e-6)


def test_totals_are_the_database_count(indexed: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    query = _queries()[1]
    with indexed.db.read() as session:
        total = search(session, query, "keyword", k=10).total
        with monkeypatch.context() as patch:
            _database_only(patch)
            assert search(session, query, "keyword", k=10).total == total


def test_new_papers_and_versions_count_before_and_after_catching_up(
    indexed: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, lab = indexed.db, indexed.lab
    common = f"{VOCABULARY[0]} {VOCABULARY[1]}"
    loud = PaperCreate(
        title=f"{common} {common} {common} quokka",
        abstract=f"{common} " * 20,
        categories=["cs.AI"],
    )
    fresh = repository.create_paper(db, lab, loud).id
    assert _hits(db, common)[0][0] == fresh  # newer than the index: the database scores it
    old = _hits(db, common)[1][0]
    repository.add_version(
        db, lab, old, PaperCreate(title="Rewritten without those words", abstract="Nothing.")
    )
    assert old not in [i for i, _ in _hits(db, common, k=50)]
    monkeypatch.setattr(keyword_index, "CATCH_UP_AFTER", 1)
    with db.read() as session:
        before = keyword_index.keyword_index_state(session)["watermark"]
        assert keyword_index.wait_for_keyword_index(session, timeout=120)
        state = keyword_index.keyword_index_state(session)
    assert state["watermark"] > before
    assert state["indexed"] == PAPERS + 1  # one added; the replaced version dropped
    assert _hits(db, common)[0][0] == fresh
    assert old not in [i for i, _ in _hits(db, common, k=50)]


def test_a_restart_loads_the_saved_index(indexed: Corpus) -> None:
    keyword_index.forget_keyword_indexes()  # as a restarted server: nothing in memory
    files = {p.name: p.stat().st_mtime_ns for p in indexed.directory.iterdir()}
    with indexed.db.read() as session:
        assert keyword_index.wait_for_keyword_index(session, timeout=120)
        assert keyword_index.keyword_index_state(session)["loaded"] is True
    assert all(
        (indexed.directory / name).stat().st_mtime_ns == mtime
        for name, mtime in files.items()
        if name.endswith(".store")
    )
    assert _hits(indexed.db, _queries()[2])


def test_an_index_from_another_database_is_rebuilt(indexed: Corpus) -> None:
    meta_file = indexed.directory / keyword_index.META_FILE
    meta = json.loads(meta_file.read_text())
    meta["sample"] = {key: "0" * 16 for key in meta["sample"]}  # other titles
    meta_file.write_text(json.dumps(meta))
    keyword_index.forget_keyword_indexes()
    with indexed.db.read() as session:
        assert keyword_index.wait_for_keyword_index(session, timeout=300)
        state = keyword_index.keyword_index_state(session)
    assert state["loaded"] is False
    assert json.loads(meta_file.read_text())["sample"] != meta["sample"]


@pytest.mark.parametrize(
    "query", ["AND OR NOT", "x_y under_score", "über straße", "a" * 60, "TO [1 TO 2]"]
)
def test_queries_tantivy_would_reject_are_answered(indexed: Corpus, query: str) -> None:
    with indexed.db.read() as session:
        response = search(session, f"{VOCABULARY[0]} {query}", "keyword", k=10)
    assert response.total >= len(response.items)


@pytest.mark.postgres
def test_postgresql_ranks_every_match_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRXIV_SEARCH_INDEX_MIN_PAPERS", "1")
    get_settings.cache_clear()
    for url in postgres_database():
        migrate(url)
        db = Database(url)
        with db.write() as session:
            owner = get_or_create_lab(session, "keyword-lab")
            lab = Principal(lab_id=owner.id, lab_name=owner.name, is_admin=True)
        monkeypatch.setattr(index, "prepare_embedding", fake_embedding)
        repository.create_paper(db, lab, _paper(1))
        with db.read() as session:
            assert keyword_index.ready_index(session) is None
            assert not keyword_index.wait_for_keyword_index(session, timeout=1)
        db.dispose()
    get_settings.cache_clear()
