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


def test_every_lab_config_key_is_in_the_example_config() -> None:
    from agentrxiv.lab.config import LabConfig

    text = (REPO / "src/agentrxiv/lab/example_math500.yaml").read_text()
    missing = [name for name in LabConfig.model_fields if f"{name}:" not in text]
    assert not missing, f"lab config keys missing from the example config: {missing}"


def test_literature_source_keys_are_in_the_lab_docs() -> None:
    text = (REPO / "docs/lab.md").read_text()
    keys = [
        "literature_sources",
        "arxiv_base_url",
        "arxiv_min_interval_s",
        "arxiv_max_retries",
        "arxiv_backoff_s",
        "arxiv_timeout_s",
        "literature_cache_days",
        "full_text_chars",
        "report_reference_steps",
    ]
    missing = [key for key in keys if key not in text]
    assert not missing, f"literature keys missing from docs/lab.md: {missing}"


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


def test_every_nested_lab_config_key_is_documented() -> None:
    """Keys of the lab config's sections (budget, sandbox, publish_rule, after_publish) are in
    the example config; the after-publish steps also in docs/configuration.md."""
    from pydantic import BaseModel

    from agentrxiv.lab.config import AfterPublish, LabConfig

    example = (REPO / "src/agentrxiv/lab/example_math500.yaml").read_text()
    missing = []
    for name, field in LabConfig.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            missing += [
                f"{name}.{key}" for key in section.model_fields if f"  {key}:" not in example
            ]
    assert not missing, f"lab config keys missing from example_math500.yaml: {missing}"
    text = (REPO / "docs/configuration.md").read_text()
    undocumented = [
        key for key in AfterPublish.model_fields if f"`after_publish.{key}`" not in text
    ]
    assert not undocumented, (
        f"after_publish keys missing from docs/configuration.md: {undocumented}"
    )
