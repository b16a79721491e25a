"""The archive's command line, run as a real subprocess: ``token create``, ``db upgrade``,
``submit`` (Markdown with YAML front matter) and ``search``, including their one-line
errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect
from tests.conftest import LiveServer, cli, free_port

from agentrxiv.archive.db import make_engine

pytestmark = pytest.mark.integration

PAPER_MD = """---
title: "{title}"
abstract: Voting over five sampled solutions raises MATH-500 accuracy.
authors:
  - name: Agent Smith
    lab: cli-lab
    models: [smollm2]
  - Plain Name
categories: [cs.AI, math.NA]
results:
  - {{benchmark: math500, metric: accuracy, value: 0.47, n: 500}}
parents: []
comment: 3 pages
---
# Method

We sample five answers and take the majority.
"""


def run_cli(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the CLI without raising, for checking failures."""
    full_env = {**os.environ, "AGENTRXIV_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_paper(tmp_path: Path, title: str) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.md"
    path.write_text(PAPER_MD.format(title=title), encoding="utf-8")
    return path


def assert_one_line_error(proc: subprocess.CompletedProcess[str], contains: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("Error:") and contains in proc.stderr, proc.stderr


def test_token_create_prints_only_the_token(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tokens.sqlite'}"
    out = cli("token", "create", "some-lab", "--db", db, home=tmp_path)
    admin = cli("token", "create", "ops", "--admin", "--db", db, home=tmp_path)
    assert re.fullmatch(r"arx_[A-Za-z0-9_\-]{40,}\n", out)
    assert re.fullmatch(r"arx_[A-Za-z0-9_\-]{40,}\n", admin) and admin != out
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            hashes = conn.exec_driver_sql("SELECT token_hash FROM api_tokens").scalars().all()
    finally:
        engine.dispose()
    assert len(hashes) == 2 and out.strip() not in hashes  # only hashes are stored


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    cli("db", "upgrade", "--db", db, home=tmp_path)
    engine = make_engine(db)
    try:
        assert {"papers", "paper_versions", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_submit_then_search(sqlite_server: LiveServer, tmp_path: Path) -> None:
    title = f"Majority voting {uuid.uuid4().hex[:6]}"
    paper = write_paper(tmp_path, title)
    out = cli(
        "submit", str(paper), "--server", sqlite_server.url, "--token", sqlite_server.token,
        home=tmp_path,
    )  # fmt: skip
    paper_id = out.strip()
    assert re.fullmatch(r"\d{4}\.\d{5}", paper_id), out
    env = {"AGENTRXIV_SERVER": sqlite_server.url, "AGENTRXIV_TOKEN": sqlite_server.token}
    revised = run_cli("submit", str(paper), "--version-of", paper_id, home=tmp_path, env=env)
    assert revised.returncode == 0 and revised.stdout.strip() == paper_id, revised.stderr

    found = run_cli("search", title, "--mode", "keyword", "--json", home=tmp_path, env=env)
    assert found.returncode == 0, found.stderr
    response = json.loads(found.stdout)
    assert response["mode"] == "keyword"
    hit = next(item for item in response["items"] if item["id"] == paper_id)
    assert hit["title"] == title and hit["version"] == 2
    assert [a["name"] for a in hit["authors"]] == ["Agent Smith", "Plain Name"]
    table = run_cli("search", title, "--mode", "keyword", home=tmp_path, env=env)
    assert table.returncode == 0 and paper_id in table.stdout


def test_submit_errors_are_one_line(sqlite_server: LiveServer, tmp_path: Path) -> None:
    env = {"AGENTRXIV_SERVER": sqlite_server.url, "AGENTRXIV_TOKEN": sqlite_server.token}
    no_front = tmp_path / "plain.md"
    no_front.write_text("# Just markdown\n")
    assert_one_line_error(run_cli("submit", str(no_front), home=tmp_path, env=env), "front matter")
    missing_title = tmp_path / "untitled.md"
    missing_title.write_text("---\nabstract: x\n---\nbody\n")
    proc = run_cli("submit", str(missing_title), home=tmp_path, env=env)
    assert_one_line_error(proc, "title: Field required")
    good = write_paper(tmp_path, "fine")
    bad_token = run_cli("submit", str(good), "--token", "arx_nope", home=tmp_path, env=env)
    assert_one_line_error(bad_token, "invalid or revoked token")
    down = f"http://127.0.0.1:{free_port()}"
    unreachable = run_cli("submit", str(good), "--server", down, home=tmp_path, env=env)
    assert_one_line_error(unreachable, "cannot reach the archive")
    no_token = run_cli("submit", str(good), home=tmp_path, env={**env, "AGENTRXIV_TOKEN": ""})
    assert_one_line_error(no_token, "no write token")
