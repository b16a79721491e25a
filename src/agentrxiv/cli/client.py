"""Client commands: ``agentrxiv submit PAPER.md`` (Markdown with YAML front matter) and
``agentrxiv search QUERY``. ``--server``/``--token`` fall back to ``AGENTRXIV_SERVER``/
``AGENTRXIV_TOKEN``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from agentrxiv.archive.attachments import collect_attachments
from agentrxiv.archive.frontmatter import read_front_matter
from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.cli.app import app
from agentrxiv.client import ArchiveClient
from agentrxiv.config import get_settings
from agentrxiv.errors import ConfigError

SERVER_OPTION = typer.Option(None, "--server", help="Server URL (AGENTRXIV_SERVER).")


def _server(server: str | None) -> str:
    return server or get_settings().server


def _token(token: str | None) -> str:
    chosen = token or get_settings().token
    if not chosen:
        raise ConfigError(
            "no write token", hint="pass --token or set AGENTRXIV_TOKEN ('agentrxiv token create')"
        )
    return chosen


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """``---\\nYAML\\n---\\nbody`` -> (metadata, body); ids and names read as written."""
    return read_front_matter(text, source)


def _describe(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'paper'}: {err['msg']}" for err in exc.errors()
    ]
    return "; ".join(parts[:5])


def attach_code(meta: dict[str, Any], code: list[Path]) -> None:
    """Add each file to the front matter's ``code_files`` under its file name."""
    files = dict(meta.get("code_files") or {})
    for file in code:
        if file.name in files:
            raise ConfigError(f"two code files are named {file.name!r}; rename one")
        try:
            files[file.name] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read code file {file}: {exc}") from exc
    meta["code_files"] = files


def load_paper(path: Path, pdf: Path | None = None, code: list[Path] | None = None) -> PaperCreate:
    """A ``PaperCreate`` from a Markdown file with YAML front matter (and an optional PDF and
    code files; ``technique: FILE:function`` in the front matter must name one of them)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    meta, body = split_front_matter(text, str(path))
    # Images the body shows by relative path (![fig](figures/a.png)) travel with the paper.
    attachments = collect_attachments(body, path.parent)
    if attachments:
        meta["attachments"] = attachments
    if code:
        attach_code(meta, code)
    if pdf is not None:
        try:
            meta["pdf_base64"] = base64.b64encode(pdf.read_bytes()).decode("ascii")
        except OSError as exc:
            raise ConfigError(f"cannot read {pdf}: {exc}") from exc
    try:
        return PaperCreate.model_validate({**meta, "body": body})
    except ValidationError as exc:
        raise ConfigError(f"{path}: front matter: {_describe(exc)}") from exc


@app.command()
def submit(
    paper: Path = typer.Argument(..., help="Markdown file with YAML front matter."),
    server: str | None = SERVER_OPTION,
    token: str | None = typer.Option(None, "--token", help="Write token (AGENTRXIV_TOKEN)."),
    pdf: Path | None = typer.Option(None, "--pdf", help="Attach this PDF."),
    version_of: str | None = typer.Option(
        None, "--version-of", help="Publish as a new version of this paper id."
    ),
    code: list[Path] = typer.Option(
        [], "--code", help="Attach a code file (repeatable); name it in 'technique: FILE:function'."
    ),
) -> None:
    """Publish a paper and print its id (and nothing else)."""
    data = load_paper(paper, pdf, code)
    with ArchiveClient(_server(server), token=_token(token)) as client:
        published = client.new_version(version_of, data) if version_of else client.submit(data)
    typer.echo(published.id)


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    server: str | None = SERVER_OPTION,
    mode: str = typer.Option("hybrid", "--mode", help="keyword, semantic or hybrid."),
    k: int = typer.Option(10, "--k", min=1, max=100, help="How many results."),
    category: str | None = typer.Option(None, "--category", help="Only this category."),
    lab: str | None = typer.Option(None, "--lab", help="Only this lab's papers."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON response."),
    min_score: float | None = typer.Option(
        None,
        "--min-score",
        min=-1.0,
        max=1.0,
        help="Relevance floor (cosine) for semantic/hybrid; default the server's; -1: none.",
    ),
) -> None:
    """Search the archive and print a table (or JSON)."""
    if mode not in ("keyword", "semantic", "hybrid"):
        raise ConfigError(f"unknown search mode {mode!r}: use keyword, semantic or hybrid")
    floor = {} if min_score is None else {"min_score": min_score}
    with ArchiveClient(_server(server)) as client:
        found = client.search(query, mode=mode, k=k, category=category, lab=lab, **floor)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), indent=2))
        return
    table = Table(title=f"{found.total} result(s) for {query!r} ({found.mode})")
    for column in ("id", "score", "title", "lab", "categories"):
        table.add_column(column)
    for hit in found.items:
        score = "" if hit.score is None else f"{hit.score:.3f}"
        mark = " [withdrawn]" if hit.withdrawn else ""
        table.add_row(hit.id, score, hit.title + mark, hit.lab, ", ".join(hit.categories))
    Console().print(table)
    if found.note:
        typer.echo(found.note, err=True)
