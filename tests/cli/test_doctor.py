"""``agentrxiv doctor``: the real embedded model, the real sandbox probe and real databases;
exit code 1 exactly when something the configured run needs is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentrxiv.cli.doctor import check_build, compiled_features

PORTABLE = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | OPENMP = 1 |"
NATIVE = PORTABLE + " AVX512 = 1 | AMX_INT8 = 1 |"
HASWELL = {"pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2"}


def doctor(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``agentrxiv doctor`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "doctor", *args],
        env={**os.environ, "AGENTRXIV_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_build_check_reads_the_compiled_features() -> None:
    assert compiled_features(PORTABLE) == {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "OPENMP"}
    assert check_build(PORTABLE, HASWELL).status == "ok"
    native = check_build(NATIVE, HASWELL | {"avx512f", "amx_int8"})
    assert native.status == "warn" and "--no-cache-dir --force-reinstall" in native.detail
    old_cpu = check_build(PORTABLE, {"pni", "ssse3", "avx"})  # no AVX2: it would crash
    assert old_cpu.status == "fail" and "AVX2" in old_cpu.detail


@pytest.mark.model
def test_doctor_reports_a_ready_machine(isolated_home: Path) -> None:
    out = doctor(home=isolated_home)
    lines = out.stdout.splitlines()
    assert any(line.startswith("ok   python: 3.") for line in lines), out.stdout
    assert "llama-cpp-python 0.3.36" in out.stdout
    model = next(line for line in lines if "model local/smollm2" in line)
    assert model.startswith("ok") and "tokens/s" in model
    assert any(line.startswith("ok   llama.cpp build: portable") for line in lines), out.stdout
    assert any(line.startswith("ok   archive database") for line in lines)
    assert "skip PostgreSQL: not configured" in out.stdout
    sandbox = next(line for line in lines if line.split()[1] == "sandbox:")
    # Ready exactly when the bwrap boundary works here (CI installs bubblewrap).
    assert (out.returncode == 0) == sandbox.startswith("ok"), out.stdout
    assert lines[-1] == ("ready" if out.returncode == 0 else "not ready: sandbox")


def test_doctor_names_every_missing_piece_and_exits_1(isolated_home: Path, tmp_path: Path) -> None:
    out = doctor(
        "--model",
        f"local/{tmp_path / 'missing.gguf'}",
        "--db",
        "postgresql+psycopg://postgres@127.0.0.1:9/none",
        home=isolated_home,
        AGENTRXIV_BWRAP=str(tmp_path / "no-bwrap"),
    )
    assert out.returncode == 1
    assert "fail model local/" in out.stdout and "GGUF file not found" in out.stdout
    assert "fail sandbox: no bubblewrap" in out.stdout
    assert "fail PostgreSQL: postgresql+psycopg://postgres@127.0.0.1:9/none" in out.stdout
    assert (
        out.stdout.splitlines()[-1]
        == "not ready: model local/" + str(tmp_path / "missing.gguf") + ", sandbox, PostgreSQL"
    )
    assert "Traceback" not in out.stderr


def test_doctor_checks_the_models_a_lab_config_names(isolated_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "lab.yaml"
    remote = "openai/gpt-4o-mini"
    config.write_text(yaml.safe_dump({"topic": "t" * 5, "model": remote, "target_model": remote}))
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    out = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "doctor", "--config", str(config)],
        env={**env, "AGENTRXIV_HOME": str(isolated_home), "AGENTRXIV_BWRAP": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1
    assert "fail model openai/gpt-4o-mini: remote model needs OPENAI_API_KEY" in out.stdout
