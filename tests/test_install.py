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
INSTALL = "bash scripts/install.sh"
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
    assert INSTALL in readme and INSTALL in ci
    script = (REPO / "scripts/install.sh").read_text()
    assert "pip install torch==2.13.0" in script and "pip install -r requirements.txt" in script
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


def test_ci_proves_the_install_on_a_machine_without_bubblewrap() -> None:
    ci = (REPO / ".ci/run").read_text()
    removed, installed = ci.index("apt-get remove -y -qq bubblewrap"), ci.index(INSTALL)
    assert removed < installed, "CI removes bwrap before the README's install command runs"


def test_the_install_script_installs_bubblewrap_when_it_is_missing(tmp_path: Path) -> None:
    """Runs the script's first step with a PATH that has no bwrap and a recording apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    fake_apt = bin_dir / "apt-get"
    # The stand-in package manager "installs" bwrap by creating it, as apt would.
    fake_apt.write_text(
        f'#!/bin/sh\necho "apt-get $*" >> {log}\n'
        f'case "$*" in *install*) printf "#!/bin/sh\\n" > {bin_dir}/bwrap; '
        f"chmod +x {bin_dir}/bwrap;; esac\n"
    )
    fake_apt.chmod(0o755)
    fake_python = bin_dir / "python-stub"
    fake_python.write_text(f'#!/bin/sh\necho "python $*" >> {log}\n')
    fake_python.chmod(0o755)
    fake_sudo = bin_dir / "sudo"  # when the tests do not run as root
    fake_sudo.write_text('#!/bin/sh\nexec "$@"\n')
    fake_sudo.chmod(0o755)
    for name in ("bash", "id", "env", "dirname", "chmod"):
        (bin_dir / name).symlink_to(shutil.which(name) or f"/usr/bin/{name}")
    result = subprocess.run(
        ["bash", str(REPO / "scripts/install.sh")],
        env={"PATH": str(bin_dir), "PYTHON": str(fake_python)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert any("install -y -qq bubblewrap" in call for call in calls), calls
    assert calls[-2:] == [
        "python -m pip install torch==2.13.0",
        "python -m pip install -r requirements.txt",
    ]
