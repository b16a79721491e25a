"""Documentation stays complete: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from agentrxiv.cli.main import app
from agentrxiv.config import Settings

REPO = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented() -> None:
    text = (REPO / "docs/configuration.md").read_text()
    missing = [
        f"AGENTRXIV_{name.upper()}"
        for name in Settings.model_fields
        if f"AGENTRXIV_{name.upper()}" not in text
    ]
    assert not missing, f"undocumented settings: {missing}"


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert {"serve", "demo", "bench", "lab"} <= set(commands)
    missing = [name for name in commands if f"agentrxiv {name}" not in readme]
    assert not missing, f"commands missing from README: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci/run").read_text()
    assert "python -m pytest" in readme
    assert "python -m pytest" in ci
