"""The lab refuses to run generated code where no sandbox boundary can be made, and records
unsafe mode (summary, published comment) when it is asked to run without one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentrxiv.sandbox import UNSAFE_WARNING, SandboxUnavailableError, bwrap


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A machine without bwrap (for this process and for CLI subprocesses)."""
    monkeypatch.setenv("AGENTRXIV_BWRAP", str(tmp_path / "no-bwrap"))
    bwrap.probe.cache_clear()
    yield dict(os.environ)
    monkeypatch.delenv("AGENTRXIV_BWRAP")
    bwrap.probe.cache_clear()


def test_lab_refuses_without_a_boundary_and_records_unsafe_mode(
    labkit, no_bwrap: dict[str, str], tmp_path: Path
) -> None:
    from agentrxiv.lab.loop import SUMMARY_MD, write_summary
    from agentrxiv.lab.phases.publish import _comment

    with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap"):
        labkit.runtime(labkit.config(lab_name="refused"))
    rt = labkit.runtime(labkit.config(lab_name="unsafe", unsafe_sandbox=True))
    assert rt.runner.unsafe
    write_summary(rt)
    assert (rt.lab_dir / SUMMARY_MD).read_text().startswith(f"**{UNSAFE_WARNING}**")
    assert UNSAFE_WARNING in _comment(True) and UNSAFE_WARNING not in _comment(False)
    config = tmp_path / "lab.yaml"
    config.write_text(f"topic: refusal test\noutput_dir: {tmp_path / 'labs'}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "lab", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=no_bwrap,
    )
    assert proc.returncode == 1
    assert "refusing to run generated code without a sandbox boundary" in proc.stderr
    assert "Traceback" not in proc.stderr
