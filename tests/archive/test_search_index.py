"""The approximate nearest-neighbour index of semantic search, on a real SQLite and a real
PostgreSQL database of 2,000 papers each, the threshold lowered to 500: semantic and hybrid
results match exact search (recall@10 >= 0.95 over 40 queries), the index follows new papers,
new versions and withdrawals, survives a restart (loaded from its file, reconciled with what
was written meanwhile), is rebuilt from a damaged or foreign file, is built with the
configured threads, and loses nothing to concurrent writers.

Paper vectors are synthetic (topics: a centroid plus noise), written through the repository's
write path, so building the corpus takes seconds, not the minutes MiniLM would; queries are
embedded the same way (near one topic's centroid), so the relevance floor selects a topic."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import postgres_database

from agentrxiv.archive import repository
from agentrxiv.archive.auth import Principal, get_or_create_lab
from agentrxiv.archive.db import Database, migrate
from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.archive.search import approximate, index, search, semantic
from agentrxiv.archive.search.ann import index_path
from agentrxiv.archive.search.embedder import EMBEDDING_DIM, to_bytes
from agentrxiv.config import get_settings

# Written through the repository's write path: ~1 min on a quiet 2-core machine, 10 at load 20.
pytestmark = pytest.mark.timeout(1800)
PAPERS = 2_000
TOPICS = 60
QUERIES = 40
_CENTROIDS = np.random.default_rng(1).standard_normal((TOPICS, EMBEDDING_DIM)).astype(np.float32)
_CENTROIDS /= np.linalg.norm(_CENTROIDS, axis=1, keepdims=True)


def _vector(topic: int, seed: str, noise: float) -> np.ndarray:
    """A unit vector near ``topic``'s centroid, a pure function of ``seed``."""
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16))
    v = _CENTROIDS[topic] + noise * rng.standard_normal(EMBEDDING_DIM) / np.sqrt(EMBEDDING_DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def _topic_of(text: str) -> int:
    return int(text.split("topic")[1].split()[0]) if "topic" in text else 0


def fake_embedding(fields: dict[str, str]) -> bytes:
    """The synthetic embedding of a paper (its title names its topic)."""
    return to_bytes(_vector(_topic_of(fields["title"]), fields["title"], 1.3))


class FakeEmbedder:
    """Embeds a query ``"topic N words"`` near topic N's centroid."""

    def encode_one(self, text: str) -> np.ndarray:
        return _vector(_topic_of(text), text, 0.5)


def _paper(n: int, topic: int) -> PaperCreate:
    return PaperCreate(
        title=f"Paper {n} on topic{topic} words",
        abstract=f"Synthetic abstract {n} about topic{topic}.",
        categories=["cs.AI" if n % 3 else "cs.LG"],
    )


@dataclass
class Corpus:
    db: Database
    lab: Principal
    url: str
    home: Path  # the data directory: where a PostgreSQL database's index file is kept

    @property
    def index_file(self) -> Path:
        path = index_path(self.url, self.home)
        assert path is not None
        return path


def _database_urls(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'archive.sqlite'}"
    else:
        yield from postgres_database()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    """2,000 papers with synthetic embeddings in a fresh SQLite or PostgreSQL database."""
    directory = tmp_path_factory.mktemp("ann")
    for url in _database_urls(request.param, directory):
        migrate(url)
        db = Database(url)
        with db.write() as session:
            owner = get_or_create_lab(session, "index-lab")
            lab = Principal(lab_id=owner.id, lab_name=owner.name, is_admin=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(index, "prepare_embedding", fake_embedding)
            for n in range(PAPERS):
                repository.create_paper(db, lab, _paper(n, n % TOPICS))
        yield Corpus(db, lab, url, directory / "home")
        db.dispose()
        semantic.forget_matrices()


@pytest.fixture
def indexed(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> Corpus:
    """The corpus with the threshold at 500 papers, the index built, and the fake
    embedder for queries and new papers."""
    monkeypatch.setenv("AGENTRXIV_HOME", str(corpus.home))  # one index file for the module
    monkeypatch.setenv("AGENTRXIV_SEARCH_INDEX_MIN_PAPERS", "500")
    get_settings.cache_clear()
    monkeypatch.setattr(index, "prepare_embedding", fake_embedding)
    fake = FakeEmbedder()
    monkeypatch.setattr("agentrxiv.archive.search.hybrid.get_embedder", lambda: fake)
    with corpus.db.read() as session:
        assert semantic.wait_for_index(session, timeout=120)
    return corpus


def _ids(db: Database, query: str, mode: str, k: int = 10, **kwargs: object) -> list[str]:
    with db.read() as session:
        return [hit.id for hit in search(session, query, mode, k=k, **kwargs).items]


def _exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "approximate_rank", lambda *args: None)


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_results_with_the_index_match_exact_search(
    indexed: Corpus, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    queries = [f"topic{q % TOPICS} query {q}" for q in range(QUERIES)]
    with indexed.db.read() as session:
        assert semantic.index_state(session)["indexed"] == PAPERS
    approximate_hits = {q: _ids(indexed.db, q, mode, min_score=None) for q in queries}
    floored = {q: _ids(indexed.db, q, mode, min_score=0.3) for q in queries[:10]}
    with monkeypatch.context() as exact_only:
        _exact(exact_only)
        exact_hits = {q: _ids(indexed.db, q, mode, min_score=None) for q in queries}
        exact_floored = {q: _ids(indexed.db, q, mode, min_score=0.3) for q in queries[:10]}
    found = sum(len(set(approximate_hits[q]) & set(exact_hits[q])) for q in queries)
    recall = found / sum(len(exact_hits[q]) for q in queries)
    print(f"{mode} recall@10 against exact search: {recall:.3f}")
    assert recall >= 0.95
    assert all(len(approximate_hits[q]) == 10 for q in queries)
    floored_found = sum(len(set(floored[q]) & set(exact_floored[q])) for q in floored)
    assert floored_found >= 0.95 * sum(len(v) for v in exact_floored.values())


def test_totals_with_a_floor_are_close_to_exact(
    indexed: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "topic7 totals"
    with indexed.db.read() as session:
        estimated = search(session, query, "semantic", k=10, min_score=0.3).total
        unfloored = search(session, query, "semantic", k=10, min_score=None).total
        with monkeypatch.context() as exact_only:
            _exact(exact_only)
            exact = search(session, query, "semantic", k=10, min_score=0.3).total
    assert unfloored == PAPERS
    assert exact > 10  # a topic's ~33 papers are above the floor, the others not
    assert abs(estimated - exact) <= max(10, exact)  # an estimate from a sample


def test_filters_use_the_index_or_the_exact_scan_correctly(
    indexed: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentrxiv.archive.search import SearchFilters

    query = "topic3 filtered"
    broad = SearchFilters(category="cs.AI")  # two thirds of the papers: the index
    with monkeypatch.context() as exact_only:
        _exact(exact_only)
        expected = _ids(indexed.db, query, "semantic", filters=broad, min_score=None)
    got = _ids(indexed.db, query, "semantic", filters=broad, min_score=None)
    assert len(set(got) & set(expected)) >= 9
    assert len(got) == 10
    with indexed.db.read() as session:
        hits = search(session, query, "semantic", k=10, filters=broad).items
    assert all("cs.AI" in hit.categories for hit in hits)


def test_new_papers_versions_and_withdrawals_reach_the_index(indexed: Corpus) -> None:
    db, lab = indexed.db, indexed.lab
    fresh = repository.create_paper(db, lab, _paper(10_001, 11)).id
    query = "Paper 10001 on topic11 words"  # the paper's own title: its nearest vector
    assert _ids(db, query, "semantic", k=1)[0] == fresh
    revised = _paper(10_002, 12)
    repository.add_version(db, lab, fresh, revised)
    with db.read() as session:
        hits = search(session, "Paper 10002 on topic12 words", "semantic", k=10).items
        assert (hits[0].id, hits[0].version) == (fresh, 2)
        assert fresh not in _ids(db, query, "semantic", k=10)
        state = semantic.index_state(session)
    assert state["indexed"] == state["papers"] == PAPERS + 1
    repository.withdraw(db, lab, fresh, "test withdrawal")
    assert fresh not in _ids(db, "Paper 10002 on topic12 words", "semantic", k=10)
    assert fresh not in _ids(db, "Paper 10002 on topic12 words", "hybrid", k=10)


def test_concurrent_writers_lose_nothing(indexed: Corpus) -> None:
    db, lab = indexed.db, indexed.lab

    def write(first: int) -> list[str]:
        return [
            repository.create_paper(db, lab, _paper(n, 20)).id for n in range(first, first + 25)
        ]

    with ThreadPoolExecutor(4) as pool:
        written = [pid for ids in pool.map(write, range(20_000, 20_100, 25)) for pid in ids]
    with db.read() as session:
        _ids(db, "topic20 refresh", "semantic")
        matrix = semantic._matrix_of(session)
        with matrix.lock:
            indexed_ids = set(matrix.ann.keys().tolist())
            latest = {matrix.latest_of_paper[pid] for pid in written}
    assert latest <= indexed_ids
    for n in (20_000, 20_050, 20_099):
        assert _ids(db, f"Paper {n} on topic20 words", "semantic", k=1)[0] in written


def test_restart_loads_the_saved_index_and_catches_up(indexed: Corpus) -> None:
    db, lab = indexed.db, indexed.lab
    saved = indexed.index_file
    assert saved.is_file()
    semantic.forget_matrices()  # as a restarted server: nothing in memory
    written_meanwhile = repository.create_paper(db, lab, _paper(30_000, 30)).id
    with db.read() as session:
        assert semantic.wait_for_index(session, timeout=120)
    assert _ids(db, "Paper 30000 on topic30 words", "semantic", k=1) == [written_meanwhile]


@pytest.mark.parametrize("damage", ["truncated", "foreign vectors"])
def test_a_damaged_or_foreign_index_file_is_rebuilt(
    indexed: Corpus, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    saved = indexed.index_file
    if damage == "truncated":  # as a process killed while writing without the rename
        saved.write_bytes(saved.read_bytes()[:5000])
    else:  # another database's index at this path
        with indexed.db.read() as session:
            matrix = semantic._matrix_of(session)
            with matrix.lock:
                keys = matrix.ann.keys()
        foreign = approximate.AnnIndex()
        noise = np.random.default_rng(5).standard_normal((len(keys), EMBEDDING_DIM))
        foreign.add(keys, noise.astype(np.float32))
        foreign.save(saved)
    semantic.forget_matrices()
    query = "topic5 rebuilt"
    with indexed.db.read() as session:
        assert semantic.wait_for_index(session, timeout=120)
    got = _ids(indexed.db, query, "semantic", min_score=None)
    with monkeypatch.context() as exact_only:
        _exact(exact_only)
        expected = _ids(indexed.db, query, "semantic", min_score=None)
    assert len(set(got) & set(expected)) >= 9


def test_below_the_threshold_search_is_exact(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRXIV_SEARCH_INDEX_MIN_PAPERS", str(10 * PAPERS))
    get_settings.cache_clear()
    semantic.forget_matrices()
    monkeypatch.setattr("agentrxiv.archive.search.hybrid.get_embedder", FakeEmbedder)
    with corpus.db.read() as session:
        assert not semantic.wait_for_index(session, timeout=1)
        search(session, "topic1 exact", "semantic")
        assert semantic.index_state(session)["in_use"] is False


def test_the_build_uses_the_configured_threads(
    indexed: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed.index_file.unlink()
    monkeypatch.setenv("AGENTRXIV_SEARCH_INDEX_BUILD_THREADS", "3")
    get_settings.cache_clear()
    threads_by_count: dict[int, int] = {}  # vectors added at once -> threads
    real_add = approximate.AnnIndex.add

    def recording_add(
        self: approximate.AnnIndex, keys: np.ndarray, vectors: object, threads: int = 1
    ) -> None:
        threads_by_count[len(keys)] = threads
        real_add(self, keys, vectors, threads=threads)  # type: ignore[arg-type]

    monkeypatch.setattr(approximate.AnnIndex, "add", recording_add)
    semantic.forget_matrices()
    with indexed.db.read() as session:
        assert semantic.wait_for_index(session, timeout=120)
        state = semantic.index_state(session)
    assert state["indexed"] == state["papers"] >= PAPERS  # earlier tests add papers
    assert threads_by_count[state["papers"]] == 3  # the build (a catch-up after it adds none)
