"""Reads that name their papers (``paper_id IN ...``) never walk every latest version through
the latest-version index: SQLite without statistics prefers that index when a query also
says ``is_latest``, which at 1M papers cost 1.4 s per search page and 2.4 s per paper page
(benchmarks/search_bench.py --served). The plans do not depend on the table's size without
statistics, so 3,000 papers show the same plan as a million."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, insert, update

from agentrxiv.archive import lineage, reads, verifications
from agentrxiv.archive.auth import get_or_create_lab
from agentrxiv.archive.db import Database, migrate
from agentrxiv.archive.search.filters import SearchFilters, candidates
from agentrxiv.archive.tables import Paper, PaperVersion

PAPERS = 3_000
WALK = "ix_paper_versions_latest"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    """3,000 papers with one version each, the first withdrawn."""
    path = tmp_path / "archive.sqlite"
    migrate(f"sqlite:///{path}")
    db = Database(f"sqlite:///{path}")
    now = datetime.now(UTC)
    ids = [f"2601.{n:05d}" for n in range(1, PAPERS + 1)]
    with db.write() as session:
        lab_id = get_or_create_lab(session, "plan-lab").id
        rows = [{"id": i, "lab_id": lab_id, "created_at": now, "updated_at": now} for i in ids]
        session.execute(insert(Paper), rows)
        versions = [
            {"paper_id": i, "version": 1, "title": i, "abstract": "", "created_at": now}
            for i in ids
        ]
        session.execute(insert(PaperVersion), versions)
        session.execute(update(Paper).where(Paper.id == ids[0]).values(withdrawn=True))
    yield db, path
    db.dispose()


def _plans_of_reads(db: Database, path: Path) -> list[str]:
    """The SQLite plans of the statements the paper-naming reads run."""
    statements: list[tuple[str, object]] = []

    def record(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        statements.append((sql, params))

    event.listen(db.engine, "before_cursor_execute", record)
    ids = [f"2601.{n:05d}" for n in range(1, 11)]
    with db.read() as session:
        verifications.claimed_values(session, ids)
        lineage.latest_parents(session, ids)
        lineage.latest_children(session, ids)
        assert candidates(session, SearchFilters()).blocked  # the withdrawn paper's version
    event.remove(db.engine, "before_cursor_execute", record)
    with sqlite3.connect(path) as raw:
        return [
            " ".join(row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
            if sql.lstrip().upper().startswith("SELECT")
        ]


def test_reads_that_name_papers_look_them_up_by_id(archive: tuple[Database, Path]) -> None:
    plans = _plans_of_reads(*archive)
    assert len(plans) >= 4
    assert all(WALK not in plan for plan in plans), plans


def test_the_same_read_with_is_latest_in_sql_walks(archive: tuple[Database, Path]) -> None:
    """The plan this guards against, so the test above can tell it apart."""
    with sqlite3.connect(archive[1]) as raw:
        plan = raw.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM paper_versions "
            "WHERE is_latest = 1 AND paper_id IN ('2601.00001', '2601.00002', '2601.00003')"
        ).fetchall()
    assert WALK in " ".join(row[-1] for row in plan)


def test_listings_by_lab_or_campaign_count_papers_not_versions(
    archive: tuple[Database, Path],
) -> None:
    """A lab holding a million papers took 5.3 s per listing page: its total was counted
    over the join with every latest version. One latest version per paper: count papers."""
    db, _ = archive
    now = datetime.now(UTC)
    with db.write() as session:  # a second version of one paper: still one latest each
        session.execute(update(PaperVersion).values(is_latest=False).where(PaperVersion.id == 2))
        session.execute(
            insert(PaperVersion),
            [
                {
                    "paper_id": "2601.00002",
                    "version": 2,
                    "title": "v2",
                    "abstract": "",
                    "created_at": now,
                }
            ],
        )
        session.execute(update(Paper).where(Paper.id == "2601.00002").values(latest_version=2))
        session.execute(update(Paper).where(Paper.id == "2601.00003").values(campaign_id="c1"))
    counts: list[str] = []

    def record(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        if "count(" in sql.lower():
            counts.append(sql)

    event.listen(db.engine, "before_cursor_execute", record)
    with db.read() as session:
        by_lab = reads.list_papers(session, limit=5, lab="plan-lab")
        by_campaign = reads.list_papers(session, limit=5, campaign="c1")
        nobody = reads.list_papers(session, limit=5, lab="no-such-lab")
    event.remove(db.engine, "before_cursor_execute", record)
    assert (by_lab.total, by_campaign.total, nobody.total) == (PAPERS, 1, 0)
    assert [item.id for item in by_campaign.items] == ["2601.00003"]
    assert len(counts) == 3 and all("paper_versions" not in sql for sql in counts), counts


def _listing_plans(db: Database, path: Path, **filters: str) -> list[str]:
    statements: list[tuple[str, object]] = []

    def record(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if "ORDER BY papers.created_at DESC" in sql:  # the listing itself
            statements.append((sql, params))

    event.listen(db.engine, "before_cursor_execute", record)
    with db.read() as session:
        listed = reads.list_papers(session, limit=5, **filters)
    event.remove(db.engine, "before_cursor_execute", record)
    assert len(listed.items) == 5
    with sqlite3.connect(path) as raw:
        return [
            " ".join(row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
        ]


def test_a_large_lab_is_listed_newest_first_without_sorting_its_papers(
    archive: tuple[Database, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a lab's papers by its index sorts them all: 5 s for a lab with 1M papers."""
    db, path = archive
    with db.write() as session:
        session.execute(update(Paper).values(campaign_id="c-all"))
    small = _listing_plans(db, path, lab="plan-lab")  # 3,000 papers: below the threshold
    assert any("ix_papers_lab_id" in plan for plan in small), small
    monkeypatch.setattr(reads, "LARGE_SELECTION", 1_000)
    for filters in ({"lab": "plan-lab"}, {"campaign": "c-all"}):
        plans = _listing_plans(db, path, **filters)
        assert plans and all("TEMP B-TREE" not in plan for plan in plans), plans
        assert any("ix_papers_created_at" in plan for plan in plans), plans
