"""Keyword candidates for large archives: a tantivy full-text index of the latest versions,
kept beside the database, that finds a query's best few hundred matches in milliseconds
where SQLite FTS5 scores every match (bm25 over the ~64,000 matches of a topic query took
75-142 ms at 1,000,000 papers).

The database stays the judge: ``keyword`` scores the candidates again with the database's
own ranking, together with every version newer than the index, so scores and order are the
exact ranker's and only which matches get scored is approximate (its recall is measured by
``benchmarks/search_bench.py`` and ``tests/archive/test_keyword_index.py``). Versions replaced
since the index last caught up cannot come back: the database's full-text index no longer
holds them.

SQLite only: PostgreSQL's ``ts_rank_cd`` ranks by how close the words stand, which an index
of word counts proposes poorly (recall@10 0.92 on the test corpus), so it ranks every match.

One index per database per process, like the embedding matrix: built in a background
thread once the archive holds ``search_index_min_papers`` latest versions, into a private
directory renamed into place (``archive.sqlite`` -> ``archive.sqlite.keywords-v1``), so a
killed build leaves nothing half-written, and loaded from there by the next process. Caught
up in the background once ``CATCH_UP_AFTER`` newer versions exist. A directory that does
not match the database (its watermark beyond the newest version, or sampled titles that
differ) is rebuilt."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tantivy
from sqlalchemy import Engine, false, func, select, true
from sqlalchemy.orm import Session

from agentrxiv.archive.search.ann import FILE_SUFFIX as ANN_FILE_SUFFIX
from agentrxiv.archive.search.ann import index_path
from agentrxiv.archive.search.approximate import build_threads
from agentrxiv.archive.tables import PaperVersion
from agentrxiv.config import get_settings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DIR_SUFFIX = f".keywords-v{SCHEMA_VERSION}"
META_FILE = "agentrxiv-keywords.json"
# Field weights, in paper_fts column order; FTS5's bm25 uses them too (keyword.BM25_WEIGHTS).
# FTS5 applies them to term frequencies (a word once in the title counts as 10 occurrences)
# before one BM25 saturation; the index reproduces that by holding each field's words
# ``weight`` times in one field. Boosting separate fields instead (a BM25 per field, summed)
# ranked title matches far above FTS5's order: recall@10 0.94 on the test corpus.
FIELD_BOOSTS = {"title": 10.0, "abstract": 5.0, "authors": 3.0, "categories": 3.0, "body": 1.0}
_REPEATS = {name: int(weight) for name, weight in FIELD_BOOSTS.items()}
# Porter-like stemming, as FTS5's 'porter unicode61' does.
TOKENIZER = "en_stem"
# Versions newer than the index that start a background catch-up.
CATCH_UP_AFTER = 2_000
# Versions below the watermark re-read at each catch-up and always scored by the database,
# in case a writer commits out of id order (as the embedding matrix's window).
RESCAN_WINDOW = 256
RECHECK_SECONDS = 10.0
WRITER_HEAP_BYTES = 256_000_000
SAMPLE_TITLES = 8
_READ_BATCH = 5_000
# Tantivy tokenizes on runs of letters and digits; a \w term with '_' or marks would become
# a phrase, which needs positions this index does not store.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Signed: tantivy-py's unsigned fields crash the writer (0.27.0).
    builder.add_integer_field("version_id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name=TOKENIZER, index_option="freq")
    return builder.build()


def _weighted_text(fields: dict[str, str]) -> str:
    """The fields' words, each field ``weight`` times (see FIELD_BOOSTS)."""
    return " ".join(" ".join([fields[name]] * _REPEATS[name]) for name in FIELD_BOOSTS)


def keyword_index_path(url: str, home: Path) -> Path | None:
    """The directory of the keyword index of the database at ``url`` (None: in memory)."""
    # The approximate index's naming: beside an SQLite file, else under ``home``.
    base = index_path(url, home)
    if base is None:
        return None
    return base.with_name(base.name.removesuffix(ANN_FILE_SUFFIX) + DIR_SUFFIX)


def tantivy_query(terms: list[str], any_term: bool) -> str:
    """The tantivy query for ``terms`` (all required unless ``any_term``), lower-cased so no
    word is read as an operator."""
    tokens = [token.lower() for term in terms for token in _TOKEN.findall(term)]
    prefix = "" if any_term else "+"
    return " ".join(prefix + token for token in tokens)


@dataclass
class KeywordIndex:
    """A tantivy index holding every latest version up to ``watermark``."""

    index: tantivy.Index
    path: Path
    watermark: int = 0

    def candidates(self, terms: list[str], any_term: bool, fetch: int) -> list[int]:
        """The version ids of the index's best ``fetch`` matches of ``terms``."""
        text = tantivy_query(terms, any_term)
        if not text:
            return []
        query = self.index.parse_query(text, ["text"])
        searcher = self.index.searcher()
        hits = searcher.search(query, fetch, count=False).hits
        return [int(v) for v in searcher.fast_field_values("version_id", [a for _, a in hits])]

    def __len__(self) -> int:
        return self.index.searcher().num_docs


def _latest_rows(session: Session, after: int) -> Iterator[tuple[int, tantivy.Document]]:
    """(id, document) for the latest versions above ``after``, in id order."""
    statement = (
        select(
            PaperVersion.id,
            PaperVersion.title,
            PaperVersion.abstract,
            PaperVersion.authors_text,
            PaperVersion.categories,
            PaperVersion.body,
        )
        .where(PaperVersion.is_latest == true(), PaperVersion.id > after)
        .order_by(PaperVersion.id)
        .execution_options(yield_per=_READ_BATCH)
    )
    for version_id, title, abstract, authors, categories, body in session.execute(statement):
        fields = {
            "title": title or "",
            "abstract": abstract or "",
            "authors": authors or "",
            "categories": " ".join(categories or []),
            "body": body or "",
        }
        yield (
            int(version_id),
            tantivy.Document(version_id=int(version_id), text=_weighted_text(fields)),
        )


def _title_digest(title: str) -> str:
    return hashlib.sha256(title.encode()).hexdigest()[:16]


def _sample(session: Session, watermark: int) -> dict[str, str]:
    """Digests of a few versions' titles (a version's title never changes), to recognise the
    database the index was built from."""
    if watermark <= 0:
        return {}
    ids = {max(1, watermark * i // SAMPLE_TITLES) for i in range(1, SAMPLE_TITLES + 1)}
    rows = session.execute(
        select(PaperVersion.id, PaperVersion.title).where(PaperVersion.id.in_(sorted(ids)))
    )
    return {str(version_id): _title_digest(title or "") for version_id, title in rows}


def _write_meta(directory: Path, watermark: int, sample: dict[str, str]) -> None:
    meta = {"schema": SCHEMA_VERSION, "watermark": watermark, "sample": sample}
    temporary = directory / f"{META_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(meta))
    os.replace(temporary, directory / META_FILE)


def _read_meta(directory: Path) -> dict | None:
    try:
        meta = json.loads((directory / META_FILE).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("schema") == SCHEMA_VERSION else None


def _matches_database(session: Session, meta: dict) -> bool:
    newest = session.scalar(select(func.max(PaperVersion.id))) or 0
    watermark = int(meta.get("watermark", -1))
    if not 0 <= watermark <= newest:
        return False
    return _sample(session, watermark) == meta.get("sample")


def _load(session: Session, path: Path) -> KeywordIndex | None:
    """The index saved at ``path`` if it was built from this database, else None."""
    meta = _read_meta(path)
    if meta is None or not _matches_database(session, meta):
        return None
    try:
        index = tantivy.Index.open(str(path))
    except (OSError, ValueError) as exc:
        log.warning("keyword index %s unreadable (%s); rebuilding", path, exc)
        return None
    return KeywordIndex(index, path, int(meta["watermark"]))


def _add_all(index: tantivy.Index, session: Session, threads: int) -> int:
    """Add every latest version to an empty index; the highest id added."""
    writer = index.writer(WRITER_HEAP_BYTES, threads)
    highest = 0
    for version_id, document in _latest_rows(session, 0):
        writer.add_document(document)
        highest = version_id
    writer.commit()
    writer.wait_merging_threads()
    return highest


def _build(session: Session, path: Path, threads: int) -> KeywordIndex:
    """Build the index of every latest version, in a private directory renamed to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    private = path.with_name(f"{path.name}.building-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(private, ignore_errors=True)
    private.mkdir()
    watermark = _add_all(tantivy.Index(_schema(), path=str(private)), session, threads)
    _write_meta(private, watermark, _sample(session, watermark))
    stale = path.with_name(f"{path.name}.stale-{os.getpid()}-{threading.get_ident()}")
    if path.exists():
        path.rename(stale)
    private.rename(path)
    shutil.rmtree(stale, ignore_errors=True)
    return KeywordIndex(tantivy.Index.open(str(path)), path, watermark)


def _removed_since(session: Session, watermark: int) -> list[int]:
    """Versions the index may hold that are no longer latest."""
    return list(
        session.scalars(
            select(PaperVersion.id).where(
                PaperVersion.is_latest == false(), PaperVersion.id <= watermark
            )
        )
    )


def _catch_up(session: Session, keywords: KeywordIndex, threads: int) -> None:
    """Add what is newer than the index and drop what is no longer latest."""
    since = max(0, keywords.watermark - RESCAN_WINDOW)
    removed = _removed_since(session, keywords.watermark)
    writer = keywords.index.writer(WRITER_HEAP_BYTES, threads)
    for version_id in removed:
        writer.delete_documents_by_term("version_id", version_id)
    highest = keywords.watermark
    for version_id, document in _latest_rows(session, since):
        writer.delete_documents_by_term("version_id", version_id)
        writer.add_document(document)
        highest = max(highest, version_id)
    writer.commit()
    writer.wait_merging_threads()
    keywords.index.reload()
    _write_meta(keywords.path, highest, _sample(session, highest))
    keywords.watermark = highest  # only now: until the reload, the database scores them


@dataclass
class _State:
    """A database's keyword index in this process and its background work."""

    keywords: KeywordIndex | None = None
    busy: bool = False
    next_check: float = 0.0
    build_seconds: float = 0.0
    loaded: bool = False  # from its directory, not built by this process
    lock: threading.Lock = field(default_factory=threading.Lock)


_states: dict[str, _State] = {}
_states_lock = threading.Lock()


def _state_of(engine: Engine) -> _State:
    with _states_lock:
        return _states.setdefault(engine.url.render_as_string(hide_password=False), _State())


def _work(engine: Engine, state: _State, path: Path) -> None:
    """Load or build the index, or catch it up (a background thread)."""
    threads = build_threads()
    began = time.perf_counter()
    try:
        with Session(engine) as session:
            if state.keywords is not None:
                _catch_up(session, state.keywords, threads)
                return
            keywords = _load(session, path) if path.exists() else None
            state.loaded = keywords is not None
            if keywords is None:
                keywords = _build(session, path, threads)
            if keywords.watermark < (session.scalar(select(func.max(PaperVersion.id))) or 0):
                _catch_up(session, keywords, threads)
            state.keywords = keywords
            state.build_seconds = time.perf_counter() - began
        log.info(
            "keyword index of %d papers ready in %.1f s (%s)",
            len(keywords),
            state.build_seconds,
            "loaded" if state.loaded else "built",
        )
    except Exception:  # the database's exact ranking keeps answering; retried later
        log.exception("keyword index work failed")
    finally:
        state.busy = False


def _due(session: Session, state: _State) -> bool:
    """Whether to start background work: a build once the archive is large enough, a
    catch-up once many versions are newer than the index (checked every few seconds)."""
    if state.busy or time.monotonic() < state.next_check:
        return False
    state.next_check = time.monotonic() + RECHECK_SECONDS
    newest = session.scalar(select(func.max(PaperVersion.id))) or 0
    if state.keywords is not None and newest < state.keywords.watermark:
        state.keywords = None  # the database was recreated under us: load or build again
    if state.keywords is not None:
        return newest - state.keywords.watermark >= CATCH_UP_AFTER
    minimum = get_settings().search_index_min_papers
    if newest < minimum:
        return False
    latest = session.scalar(
        select(func.count()).select_from(PaperVersion).where(PaperVersion.is_latest == true())
    )
    return (latest or 0) >= minimum


def ready_index(session: Session) -> KeywordIndex | None:
    """The database's keyword index if it is in use, starting its build or catch-up in the
    background when due; None for PostgreSQL, an in-memory database or a session
    not bound to an engine."""
    engine = session.get_bind()
    # PostgreSQL ranks by cover density (how close the words stand), which a BM25 index of
    # word counts cannot propose well (recall@10 0.92 on the test corpus): it ranks every match.
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return None
    url = engine.url.render_as_string(hide_password=False)
    path = keyword_index_path(url, get_settings().home)
    if path is None:
        return None
    state = _state_of(engine)
    with state.lock:
        if _due(session, state):
            state.busy = True
            threading.Thread(target=_work, args=(engine, state, path), daemon=True).start()
        return state.keywords


def wait_for_keyword_index(session: Session, timeout: float) -> bool:
    """Start the index's build if due and wait up to ``timeout`` s for it (tests, benchmarks)."""
    engine = session.get_bind()
    if not isinstance(engine, Engine):
        return False
    state = _state_of(engine)
    state.next_check = 0.0
    ready_index(session)
    deadline = time.monotonic() + timeout
    while state.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    return state.keywords is not None


def keyword_index_state(session: Session) -> dict[str, float | int | bool]:
    """The keyword index's state for ``session``'s database (benchmarks, diagnostics)."""
    engine = session.get_bind()
    state = _state_of(engine) if isinstance(engine, Engine) else _State()
    keywords = state.keywords
    return {
        "in_use": keywords is not None,
        "indexed": len(keywords) if keywords is not None else 0,
        "watermark": keywords.watermark if keywords is not None else 0,
        "build_seconds": state.build_seconds,
        "loaded": state.loaded,
    }


def forget_keyword_indexes() -> None:
    """Drop every loaded keyword index (tests and tools that recreate databases)."""
    with _states_lock:
        _states.clear()
