"""The install path is pinned and portable: README, CI and the requirements file agree, every
dependency has an exact pin, and the installed llama.cpp CPU library contains no AVX-512."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTALL = "pip install torch==2.13.0 && pip install -r requirements.txt"
PORTABLE_FLAGS = ("-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON", "-DGGML_AVX512=OFF")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not an exact pin"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_readme_and_ci_install_from_the_pinned_requirements() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci/run").read_text()
    assert INSTALL in readme
    assert "pip install -q torch==2.13.0" in ci and "pip install -q -r requirements.txt" in ci
    requirements = (REPO / "requirements.txt").read_text()
    assert "-c constraints.txt" in requirements
    llama = next(ln for ln in requirements.splitlines() if ln.startswith("llama-cpp-python=="))
    assert all(flag in llama for flag in PORTABLE_FLAGS)


def test_every_dependency_is_pinned_to_what_pyproject_allows() -> None:
    pins = _pins()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "llama-cpp-python==0.3.36" in project["dependencies"]
    assert pins["llama-cpp-python"] == "0.3.36"
    editable = re.search(r"^-e \.\[([\w,]+)\]", (REPO / "requirements.txt").read_text(), re.M)
    assert editable, "requirements.txt installs the project with its extras"
    names = list(project["dependencies"])
    for extra in editable.group(1).split(","):
        names += project["optional-dependencies"][extra]
    for requirement in names:
        name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in pins, f"{name} has no pin"


def test_installed_versions_match_the_pins() -> None:
    pins = _pins()
    for name in ("llama-cpp-python", "fastapi", "sqlalchemy", "pydantic"):
        assert metadata.version(name) == pins[name], name


def _cpu_library() -> Path:
    pytest.importorskip("llama_cpp")
    import llama_cpp

    found = sorted((Path(llama_cpp.__file__).parent / "lib").glob("libggml-cpu*.so*"))
    if not found:
        pytest.skip("no separate ggml CPU library in this build")
    return found[0]


def test_the_llama_cpp_cpu_library_has_no_avx512_instructions() -> None:
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    disassembly = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", str(_cpu_library())],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "ymm" in disassembly  # AVX2 code is there ...
    assert "zmm" not in disassembly  # ... AVX-512 (512-bit registers) is not
