"""Property-based fuzzing of the JSON API with Schemathesis, driven by the running server's
own ``/openapi.json``: every generated request (valid and invalid, with an admin token so
write paths run too) must get an answer that is not a server error."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_EXAMPLES = os.environ.get("AGENTRXIV_FUZZ_EXAMPLES", "8")
SEED = os.environ.get("AGENTRXIV_FUZZ_SEED", "20261122")
SERVER_ERROR_LINE = re.compile(r'" 5\d\d ')


def _schemathesis() -> list[str]:
    found = shutil.which("st") or str(Path(sys.executable).parent / "st")
    if not Path(found).exists():
        pytest.skip("the schemathesis CLI ('st') is not installed")
    return [found]


def test_no_server_errors_under_fuzzing(sqlite_server: LiveServer, tmp_path: Path) -> None:
    command = [
        *_schemathesis(),
        "run",
        f"{sqlite_server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--include-path-regex",
        "^/api/v1/",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "2",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--no-color",
        "-H",
        f"Authorization: Bearer {sqlite_server.admin_token}",
    ]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=540)
    output = run.stdout + run.stderr
    summary = re.search(r"(\d+) generated, (\d+) passed(?:, (\d+) failed)?", output)
    assert summary, output[-5000:]
    generated, failed = int(summary.group(1)), int(summary.group(3) or 0)
    assert generated > 100, output[-3000:]
    assert failed == 0, output[-8000:]
    server_log = (sqlite_server.home / "server.log").read_text(errors="replace")
    assert not SERVER_ERROR_LINE.search(server_log), server_log[-5000:]
    assert '" 201 ' in server_log  # the token let generated uploads through
    assert "unexpected error" not in server_log
