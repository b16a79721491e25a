"""The arXiv ``search_query`` language: a pyparsing grammar into a small AST, and its
translation into a SQLAlchemy condition over the latest paper versions.

Grammar (as the arXiv API user manual describes it)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := operand (["AND" | "ANDNOT"] operand)*     # no operator = AND, as arXiv does
    operand  := DATE_RANGE | PREFIX "(" query ")" | PREFIX TERM | "(" query ")" | TERM
    TERM     := '"phrase"' | word | word*                  # trailing * = prefix match
    PREFIX   := ti: | au: | abs: | co: | cat: | all: | id: | jr: | rn:
    DATE_RANGE := submittedDate:[YYYYMMDD[HHMM[SS]] TO YYYYMMDD[HHMM[SS]]]  (or lastUpdatedDate)

``AND``/``ANDNOT`` bind tighter than ``OR``; operators are case-sensitive like arXiv's, so a
lower-case ``and`` is an ordinary search word. A term without prefix searches ``all:``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pyparsing as pp
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from agentrxiv.archive.id_format import PAPER_REF_RE
from agentrxiv.archive.search.index import paper_categories
from agentrxiv.archive.tables import Paper, PaperVersion
from agentrxiv.errors import ArchiveError

MAX_QUERY_CHARS = 4000
FIELDS = ("ti", "au", "abs", "co", "cat", "all", "id", "jr", "rn")
DATE_FIELDS = ("submittedDate", "lastUpdatedDate")
# FTS5 column (SQLite) and tsvector weight (PostgreSQL) of each full-text field.
FTS_COLUMNS = {"ti": "title", "abs": "abstract", "au": "authors", "all": None}
TS_WEIGHTS = {"ti": "a", "abs": "b", "au": "c", "all": None}
# Relevance weights of the FTS5 columns (title, abstract, authors, categories, body): a
# match in the title counts most, as PostgreSQL's ts_rank does for weight A.
BM25_WEIGHTS = (10.0, 4.0, 2.0, 1.0, 1.0)


class ArxivQueryError(ArchiveError):
    """A malformed arXiv API request; answered with an error feed and HTTP 400."""

    status = 400


@dataclass(frozen=True)
class Term:
    """One search term: a word, a ``"quoted phrase"`` or a ``word*`` prefix, in a field."""

    field: str
    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class DateRange:
    """``submittedDate:[A TO B]``: ``start`` inclusive, ``end`` exclusive, None = open."""

    field: str
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class BoolOp:
    """``left OP right`` with OP one of AND, OR, ANDNOT."""

    op: Literal["AND", "OR", "ANDNOT"]
    left: Node
    right: Node


Node = Term | DateRange | BoolOp


# ---------------------------------------------------------------------------------- parsing


def _parse_stamp(digits: str, *, end: bool) -> datetime | None:
    """``YYYYMMDD[HHMM[SS]]`` (GMT) to a datetime; an end bound becomes exclusive."""
    if digits == "*":
        return None
    formats = {8: ("%Y%m%d", timedelta(days=1)), 12: ("%Y%m%d%H%M", timedelta(minutes=1))}
    formats[14] = ("%Y%m%d%H%M%S", timedelta(seconds=1))
    if len(digits) not in formats:
        raise ArxivQueryError(f"invalid date {digits!r}: expected YYYYMMDDHHMM")
    fmt, step = formats[len(digits)]
    try:
        stamp = datetime.strptime(digits, fmt).replace(tzinfo=UTC)
    except ValueError:
        raise ArxivQueryError(f"invalid date {digits!r}: expected YYYYMMDDHHMM") from None
    return stamp + step if end else stamp


def _date_range(tokens: pp.ParseResults) -> DateRange:
    start = _parse_stamp(tokens["start"], end=False)
    end = _parse_stamp(tokens["end"], end=True)
    if start and end and start >= end:
        raise ArxivQueryError("invalid date range: the start is after the end")
    return DateRange(field=tokens["field"], start=start, end=end)


def _word(tokens: pp.ParseResults) -> Term:
    text = tokens[0]
    unknown = re.match(r"^([A-Za-z_]+):", text)
    if unknown and unknown.group(1) in DATE_FIELDS:
        raise ArxivQueryError(
            f"malformed date range {text!r}: expected {unknown.group(1)}:[YYYYMMDDHHMM TO "
            "YYYYMMDDHHMM]"
        )
    if unknown and unknown.group(1) in FIELDS:
        raise ArxivQueryError(f"missing or malformed search term after {unknown.group(1)}:")
    if unknown:
        raise ArxivQueryError(
            f"unknown field prefix {unknown.group(1)!r}: use one of "
            + ", ".join(f"{f}:" for f in FIELDS)
        )
    if text.endswith("*") and len(text.rstrip("*")) > 0:
        return Term(field="all", text=text.rstrip("*"), prefix=True)
    return Term(field="all", text=text)


def _with_field(node: Node, field: str) -> Node:
    """Give ``field`` to every term of ``node`` that was written without a prefix."""
    if isinstance(node, BoolOp):
        return replace(
            node, left=_with_field(node.left, field), right=_with_field(node.right, field)
        )
    if isinstance(node, Term) and node.field == "all":
        return replace(node, field=field)
    return node


def _fold(tokens: pp.ParseResults) -> Node:
    items = list(tokens[0]) if isinstance(tokens[0], pp.ParseResults) else list(tokens)
    node = items[0]
    for op, right in zip(items[1::2], items[2::2], strict=True):
        node = BoolOp(op=op, left=node, right=right)
    return node


def _prefixed(tokens: pp.ParseResults) -> Node:
    """``field:term`` or ``field:(group)``: the field applies to every unprefixed term."""
    node = tokens[1][0] if isinstance(tokens[1], pp.ParseResults) else tokens[1]
    return _with_field(node, tokens[0])


def _action(fn: Callable[[pp.ParseResults], Any]) -> Callable[[str, int, pp.ParseResults], Any]:
    """``fn`` as a parse action with pyparsing's full ``(string, loc, tokens)`` signature.

    For shorter signatures pyparsing finds the arity by calling and catching TypeError, with
    state shared by every thread: under concurrent requests the count overshoots and the
    grammar stays broken for good (a burst of 200 arXiv queries answered 199 x 500)."""

    def action(_string: str, _loc: int, tokens: pp.ParseResults) -> Any:
        return fn(tokens)

    return action


def _build_grammar() -> pp.ParserElement:
    and_kw, or_kw, andnot_kw = pp.Keyword("AND"), pp.Keyword("OR"), pp.Keyword("ANDNOT")
    keyword = and_kw | or_kw | andnot_kw
    lpar, rpar = pp.Suppress("("), pp.Suppress(")")
    query = pp.Forward()

    prefix = pp.Regex(r"(?P<f>" + "|".join(FIELDS) + r"):").set_parse_action(
        _action(lambda t: t["f"])
    )
    date_range = pp.Regex(
        r"(?P<field>" + "|".join(DATE_FIELDS) + r"):\[\s*(?P<start>\d+|\*)\s+TO\s+"
        r"(?P<end>\d+|\*)\s*\]"
    ).set_parse_action(_action(_date_range))
    phrase = pp.QuotedString('"', esc_char="\\").set_parse_action(
        _action(lambda t: Term(field="all", text=t[0], phrase=True))
    )
    word = (~keyword + pp.Regex(r'[^\s()"]+')).set_parse_action(_action(_word))
    term = phrase | word
    group = lpar + query + rpar
    prefixed = (prefix + pp.Group(group) | prefix + term).set_parse_action(_action(_prefixed))
    operand = date_range | prefixed | group | term
    implicit_and = pp.Opt(and_kw | andnot_kw, default="AND")
    and_expr = pp.Group(operand + pp.ZeroOrMore(implicit_and + operand)).set_parse_action(
        _action(_fold)
    )
    or_expr = pp.Group(and_expr + pp.ZeroOrMore(or_kw + and_expr))
    or_expr.set_parse_action(_action(_fold))
    query <<= or_expr
    grammar = query + pp.StringEnd()
    grammar.streamline()  # done once here: streamlining mutates the grammar
    return grammar


_GRAMMAR = _build_grammar()
# pyparsing promises no thread safety; parsing a query takes well under a millisecond.
_GRAMMAR_LOCK = threading.Lock()


def parse_query(text: str) -> Node:
    """Parse an arXiv ``search_query`` into an AST; raise ArxivQueryError if malformed."""
    text = text.strip()
    if not text:
        raise ArxivQueryError("empty search_query")
    if len(text) > MAX_QUERY_CHARS:
        raise ArxivQueryError(f"search_query is longer than {MAX_QUERY_CHARS} characters")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text):
        raise ArxivQueryError("search_query contains control characters")
    try:
        with _GRAMMAR_LOCK:
            return _GRAMMAR.parse_string(text, parse_all=True)[0]
    except pp.ParseBaseException as exc:
        near = text[exc.loc : exc.loc + 20] or "end of query"
        raise ArxivQueryError(
            f"malformed search_query at position {exc.loc + 1}, near {near!r}"
        ) from None
    except RecursionError:
        raise ArxivQueryError("search_query is nested too deeply") from None


def parse_paper_ref(ref: str) -> tuple[str, int | None]:
    """``YYMM.NNNNN`` or ``YYMM.NNNNNvN`` into (paper id, version or None)."""
    match = PAPER_REF_RE.match(ref.strip())
    if not match:
        raise ArxivQueryError(f"malformed id {ref!r}: expected YYMM.NNNNN or YYMM.NNNNNvN")
    version = match.group("version")
    return match.group("id"), int(version) if version else None


# ------------------------------------------------------------------------------ translation


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts5_string(term: Term) -> str | None:
    """The FTS5 query of one term (a quoted string, so no FTS5 syntax leaks through)."""
    if not re.search(r"\w", term.text):
        return None
    quoted = '"' + term.text.replace('"', '""') + '"'
    if term.prefix:
        quoted += " *"
    column = FTS_COLUMNS[term.field]
    return f"{{{column}}} : {quoted}" if column else quoted


def _sqlite_fulltext(term: Term) -> ColumnElement[bool]:
    expression = _fts5_string(term)
    if expression is None:
        return sa.false()
    fts = sa.table("paper_fts", sa.column("rowid"))
    matching = sa.select(fts.c.rowid).where(sa.literal_column("paper_fts").op("MATCH")(expression))
    return PaperVersion.id.in_(matching)


def _pg_tsquery(term: Term) -> ColumnElement | None:
    if term.prefix:
        lexeme = re.sub(r"\W", "", term.text)
        if not lexeme:
            return None
        return sa.func.to_tsquery("english", lexeme + ":*")
    if not re.search(r"\w", term.text):
        return None
    maker = sa.func.phraseto_tsquery if term.phrase else sa.func.plainto_tsquery
    return maker("english", term.text)


def _pg_vector(field: str) -> ColumnElement:
    vector = sa.literal_column("paper_versions.search_vector")
    weight = TS_WEIGHTS[field]
    if weight is None:
        return vector
    # Constant, so safe to inline; ts_filter keeps only the lexemes of that field's weight.
    return sa.func.ts_filter(vector, sa.literal_column(f"'{{{weight}}}'::\"char\"[]"))


def _pg_fulltext(term: Term) -> ColumnElement[bool]:
    query = _pg_tsquery(term)
    if query is None:
        return sa.false()
    return _pg_vector(term.field).op("@@")(query)


def category_condition(category: str, prefix: bool = False) -> ColumnElement[bool]:
    """Latest versions listing ``category`` (or, with ``prefix``, a category starting with
    it; case-insensitive). Read from the category index, which lists every category of every
    latest version (the primary one is the first): matching each version's stored list read
    every version's row, 4.8 s for ``cat:`` alone at 1M papers."""
    text = _like_escape(category)
    listing = sa.select(paper_categories.c.version_id).where(
        paper_categories.c.category.ilike(f"{text}%" if prefix else text, escape="\\")
    )
    return PaperVersion.id.in_(listing)


def _paper_id(term: Term) -> ColumnElement[bool]:
    if term.prefix:
        return PaperVersion.paper_id.like(_like_escape(term.text) + "%", escape="\\")
    match = PAPER_REF_RE.match(term.text)
    return PaperVersion.paper_id == match.group("id") if match else sa.false()


def _term_condition(term: Term, dialect: str) -> ColumnElement[bool]:
    if term.field in FTS_COLUMNS:
        return _pg_fulltext(term) if dialect == "postgresql" else _sqlite_fulltext(term)
    if term.field == "cat":
        return category_condition(term.text, prefix=term.prefix)
    if term.field == "co":
        suffix = "%" if term.prefix else ""
        pattern = f"%{_like_escape(term.text)}{suffix}%"
        return PaperVersion.comment.ilike(pattern, escape="\\")
    if term.field == "id":
        return _paper_id(term)
    return sa.false()  # jr: and rn: (journal refs, report numbers) do not exist here


def to_condition(node: Node, dialect: str) -> ColumnElement[bool]:
    """The WHERE condition (over PaperVersion joined with Paper) that ``node`` means."""
    if isinstance(node, Term):
        return _term_condition(node, dialect)
    if isinstance(node, DateRange):
        column = Paper.created_at if node.field == "submittedDate" else Paper.updated_at
        bounds = [column >= node.start] if node.start else []
        bounds += [column < node.end] if node.end else []
        return sa.and_(sa.true(), *bounds)
    left, right = to_condition(node.left, dialect), to_condition(node.right, dialect)
    if node.op == "OR":
        return sa.or_(left, right)
    if node.op == "ANDNOT":
        return sa.and_(left, sa.not_(right))
    return sa.and_(left, right)


def positive_text_terms(node: Node) -> list[Term]:
    """The full-text terms that count towards relevance (not those after ANDNOT)."""
    if isinstance(node, Term):
        return [node] if node.field in FTS_COLUMNS else []
    if isinstance(node, DateRange):
        return []
    right = [] if node.op == "ANDNOT" else positive_text_terms(node.right)
    return positive_text_terms(node.left) + right


@dataclass(frozen=True)
class Relevance:
    """A per-row relevance score (higher is better) and, on SQLite, the table of scores the
    query outer-joins on ``version_id`` for it."""

    score: ColumnElement
    scores: sa.Subquery | None = None


def relevance(node: Node, dialect: str) -> Relevance | None:
    """How to rank the query's matches, or None if the query has no text terms."""
    terms = positive_text_terms(node)
    if dialect == "postgresql":
        queries = [q for q in (_pg_tsquery(t) for t in terms) if q is not None]
        if not queries:
            return None
        combined = queries[0]
        for query in queries[1:]:
            combined = combined.op("||")(query)
        vector = sa.literal_column("paper_versions.search_vector")
        return Relevance(sa.func.coalesce(sa.func.ts_rank(vector, combined), 0.0))
    expressions = [e for e in (_fts5_string(t) for t in terms) if e]
    if not expressions:
        return None
    match = " OR ".join(f"({e})" for e in expressions)
    fts = sa.table("paper_fts", sa.column("rowid"))
    # One pass over the matches, joined by version id: a subquery per row re-ran the
    # full-text query for every matching row (117 s for a word in 6% of 1M papers).
    # bm25() is smaller for better matches, so negate it into "higher is better".
    bm25 = -sa.func.bm25(sa.literal_column("paper_fts"), *BM25_WEIGHTS)
    scores = (
        sa.select(fts.c.rowid.label("version_id"), bm25.label("score"))
        .select_from(fts)
        .where(sa.literal_column("paper_fts").op("MATCH")(match))
        .subquery("relevance")
    )
    return Relevance(sa.func.coalesce(scores.c.score, 0.0), scores)
