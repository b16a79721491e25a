"""Escapes that get past a Python-level sandbox (C-level file access through ``sqlite3`` and
``ctypes``, libc calls the audit hook does not know, hard and symbolic links to another lab's
result, ``/proc`` tricks, reading other labs, the archive database and ``$HOME``) must meet
the bwrap boundary. Each program runs twice: through ``agentrxiv sandbox run`` (a CLI
subprocess) and through the lab's ``SandboxRunner``; each test checks a concrete outcome on
the host: the database is unchanged, no file appeared, the other lab's file is unchanged,
the canary secret is in no output."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentrxiv.sandbox import (
    BOUNDARY,
    SandboxConfig,
    SandboxRunner,
    SandboxUnavailableError,
    SubprocessSandbox,
    boundary_status,
    bwrap,
    read_result,
)

pytestmark = pytest.mark.skipif(
    bwrap.probe() is not None, reason=f"no bwrap boundary here: {bwrap.probe()}"
)
CANARY = f"canary-{uuid.uuid4().hex}"
LIBC = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
# A fresh interpreter started with execveat (a libc call the audit hook does not know) runs
# with no hook at all: only the boundary stands between it and the host.
UNHOOKED = (
    LIBC + "import sys\n"
    "def unhooked(code):\n"
    "    argv = (ctypes.c_char_p * 4)(sys.executable.encode(), b'-c', code.encode(), None)\n"
    "    envp = (ctypes.c_char_p * 1)(None)\n"
    "    libc.execveat(-100, sys.executable.encode(), argv, envp, 0)\n"
    "    print('execveat failed', ctypes.get_errno())\n"
)


@dataclass
class World:
    """The host around a sandboxed program: another lab, the archive, a home, a marker."""

    root: Path
    archive_db: Path
    other_result: Path
    home_secret: Path
    outside: Path

    def digest(self) -> dict[str, str]:
        """Hashes of every file that must stay unchanged."""
        files = (self.archive_db, self.other_result, self.home_secret)
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    def tokens(self) -> list[tuple[str]]:
        with sqlite3.connect(self.archive_db) as db:
            return db.execute("SELECT token FROM tokens ORDER BY token").fetchall()

    def appeared(self) -> list[str]:
        """Files anywhere in the outside directory or named in ``/tmp`` by the programs."""
        found = [str(p) for p in self.outside.rglob("*")]
        return found + [str(p) for p in Path("/tmp").glob(f"escape-{CANARY}*")]


@pytest.fixture
def world(tmp_path: Path, isolated_home: Path) -> Iterator[World]:
    archive = isolated_home / "archive.sqlite"
    with sqlite3.connect(archive) as db:
        db.execute("CREATE TABLE tokens (token TEXT)")
        db.execute("INSERT INTO tokens VALUES ('arx_real_admin')")
    other = tmp_path / "labs" / "other-lab" / "runs" / "r1step1"
    other.mkdir(parents=True)
    (other / "result.json").write_text(json.dumps({"value": 0.25, "secret": CANARY}))
    home_secret = Path.home() / f".agentrxiv-escape-{uuid.uuid4().hex}"
    home_secret.write_text(CANARY)
    outside = tmp_path / "outside"
    outside.mkdir()
    yield World(tmp_path, archive, other / "result.json", home_secret, outside)
    home_secret.unlink()
    for stray in Path("/tmp").glob(f"escape-{CANARY}*"):
        stray.unlink()


@dataclass
class Outcome:
    """What one program printed and how it ended (from either entry point)."""

    exit_code: int
    output: str
    workdir: Path

    def lab_reads(self) -> tuple[dict | None, str]:
        """What the lab's ``read_result`` makes of the program's ``result.json``."""
        return read_result(self.workdir, None)


def via_cli(code: str, workdir: Path, env: dict[str, str]) -> Outcome:
    """Run ``code`` through ``agentrxiv sandbox run`` in a subprocess."""
    workdir.mkdir(parents=True, exist_ok=True)
    program = workdir.parent / f"{workdir.name}-program.py"
    program.write_text(code)
    proc = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "sandbox", "run", str(program)]
        + ["--workdir", str(workdir), "--wall-s", "20"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert f"({BOUNDARY};" in proc.stderr, proc.stderr
    return Outcome(proc.returncode, proc.stdout + proc.stderr, workdir)


def via_runner(code: str, workdir: Path, env: dict[str, str]) -> Outcome:
    """Run ``code`` through the lab's ``SandboxRunner`` (the experiment phase's path)."""
    runner = SandboxRunner(workdir.parent, None, "lab/escape", SandboxConfig(wall_s=20))
    run = runner.run(code, workdir.name, with_model=False)
    assert runner.isolation == BOUNDARY
    return Outcome(run.exit_code, run.stdout + run.stderr + run.error, workdir)


Runner = Callable[[str], Outcome]


@pytest.fixture(params=["cli", "runner"])
def run(request: pytest.FixtureRequest, world: World, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Runs a program as "my-lab" next to "other-lab", with a canary secret in the env."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("AGENTRXIV_TOKEN", CANARY)
    workdir = world.root / "labs" / "my-lab" / "runs" / f"r1-{request.param}"
    entry = via_cli if request.param == "cli" else via_runner
    return lambda code: entry(code, workdir, dict(os.environ))


def test_sqlite_cannot_reach_the_archive_database(run: Runner, world: World) -> None:
    before, tokens = world.digest(), world.tokens()
    out = run(
        "import os, sqlite3\n"
        f"print('visible', os.path.exists({str(world.archive_db)!r}))\n"
        f"db = sqlite3.connect({str(world.archive_db)!r})\n"
        "db.execute(\"INSERT INTO tokens VALUES ('arx_forged')\")\n"
        "db.commit()\n"
    )
    assert out.exit_code != 0
    assert "visible False" in out.output
    assert world.tokens() == tokens == [("arx_real_admin",)]
    assert world.digest() == before
    assert not world.archive_db.with_name("archive.sqlite-journal").exists()


def test_sqlite_and_libc_cannot_create_files_outside(run: Runner, world: World) -> None:
    targets = [world.outside / "from-sqlite.db", world.outside / "from-libc.txt"]
    tmp_target = f"/tmp/escape-{CANARY}-libc"
    out = run(
        LIBC + "import sqlite3\n"
        "try:\n"
        f"    sqlite3.connect({str(targets[0])!r}).execute('CREATE TABLE t (x)')\n"
        "except sqlite3.Error as exc:\n"
        "    print('sqlite refused', exc)\n"
        f"for path in ({str(targets[1])!r}, {tmp_target!r}):\n"
        "    fd = libc.open(path.encode(), os.O_CREAT | os.O_WRONLY, 0o644)\n"
        "    print('open', path, fd, ctypes.get_errno())\n"
        "    if fd >= 0:\n"
        "        print('wrote', libc.write(fd, b'escaped', 7))\n"
    )
    assert "sqlite refused" in out.output
    assert world.appeared() == []


def test_libc_system_and_exec_cannot_touch_the_host(run: Runner, world: World) -> None:
    marker = world.outside / "marker"
    out = run(
        UNHOOKED + "for name in ('__libc_system', 'system'):\n"
        "    try:\n"
        f"        print(name, getattr(libc, name)(b'touch {marker}'))\n"
        "    except (AttributeError, PermissionError) as exc:\n"
        "        print(name, 'refused', exc)\n"
        "for shell in (b'/bin/sh', b'/usr/bin/sh', b'/bin/bash'):\n"
        "    argv = (ctypes.c_char_p * 2)(shell, None)\n"
        "    print(shell, libc.execveat(-100, shell, argv, None, 0), ctypes.get_errno())\n"
        f"unhooked({f'import os; print(os.getuid()); open({str(marker)!r}, chr(119))'!r})\n"
    )
    assert not marker.exists()
    assert world.appeared() == []
    # the unhooked interpreter ran as nobody and failed to create the marker
    assert "65534" in out.output and "FileNotFoundError" in out.output


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_links_to_another_labs_result_change_nothing(run: Runner, world: World, kind: str) -> None:
    before = world.digest()
    other = str(world.other_result)
    make = f"libc.link({other!r}.encode(), b'result.json')"
    if kind == "symlink":
        make = f"libc.symlink({other!r}.encode(), b'result.json')"
    out = run(
        LIBC + f"print('made', {make}, ctypes.get_errno())\n"
        "flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC\n"
        "fd = libc.open(b'result.json', flags, 0o644)\n"
        'data = b\'{"benchmark": "math500", "metric": "accuracy", "value": 1.0, "n": 1}\'\n'
        "print('wrote', fd >= 0 and libc.write(fd, data, len(data)))\n"
    )
    assert world.digest() == before
    assert json.loads(world.other_result.read_text())["value"] == 0.25
    result, why = out.lab_reads()
    if kind == "symlink":  # the planted link is there on the host; the lab does not follow it
        assert (out.workdir / "result.json").is_symlink()
        assert result is None and "cannot be read safely" in why
    else:  # the link failed inside; the program wrote its own file, which the lab reads
        assert result is not None and result["value"] == 1.0
    assert CANARY not in out.output + why


def test_proc_tricks_do_not_reveal_the_parents_environment(run: Runner, world: World) -> None:
    out = run(
        LIBC + "import glob\n"
        "umount = libc.umount2(b'/proc', 2), ctypes.get_errno()\n"
        "seen = []\n"
        "for path in glob.glob('/proc/*/environ') + ['/proc/1/environ']:\n"
        "    fd = libc.open(path.encode(), os.O_RDONLY)\n"
        "    if fd >= 0:\n"
        "        buf = ctypes.create_string_buffer(65536)\n"
        "        n = libc.read(fd, buf, 65536)\n"
        "        seen.append(buf.raw[:max(n, 0)].decode(errors='replace'))\n"
        "print('environ', [text[:1000] for text in seen])\n"
        "open('dump.txt', 'w').write(repr([seen, dict(os.environ)]))\n"
        "print('umount', *umount, 'pids', sorted(os.listdir('/proc'))[:5])\n"
    )
    assert "umount -1" in out.output  # no capability to unmount anything
    assert CANARY not in out.output
    assert all(CANARY not in p.read_text() for p in out.workdir.glob("*.txt"))


def test_other_labs_archive_and_home_are_not_visible(run: Runner, world: World) -> None:
    paths = [world.other_result, world.other_result.parent.parent, world.archive_db]
    paths += [world.home_secret, Path.home(), Path(os.environ["AGENTRXIV_HOME"])]
    out = run(
        "import json, os\n"
        f"paths = {[str(p) for p in paths]!r}\n"
        "seen = {}\n"
        "for path in paths:\n"
        "    try:\n"
        "        seen[path] = os.listdir(path) if os.path.isdir(path) else open(path).read()\n"
        "    except OSError as exc:\n"
        "        seen[path] = type(exc).__name__\n"
        "print(json.dumps(seen))\n"
    )
    seen = json.loads(next(line for line in out.output.splitlines() if line.startswith("{")))
    assert seen[str(world.other_result)] == "FileNotFoundError"
    assert seen[str(world.archive_db)] == "FileNotFoundError"
    assert seen[str(world.home_secret)] == "FileNotFoundError"
    assert seen[os.environ["AGENTRXIV_HOME"]] == "FileNotFoundError"
    home = seen[str(Path.home())]
    # $HOME is absent, or holds only the directories that lead to the Python installation
    assert home == "FileNotFoundError" or all(name in sys.base_prefix for name in home)
    assert CANARY not in out.output


def test_missing_bwrap_refuses_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRXIV_BWRAP", str(tmp_path / "no-bwrap"))
    bwrap.probe.cache_clear()
    try:
        name, problem = boundary_status()
        assert name == "none" and "apt-get install bubblewrap" in problem
        with pytest.raises(SandboxUnavailableError, match="without a sandbox boundary"):
            SubprocessSandbox(tmp_path / "w")
        unsafe = SubprocessSandbox(tmp_path / "w", unsafe=True)
        assert unsafe.run_python("print('ran')").stdout == "ran\n"
        assert unsafe.isolation in ("namespaces+audit-hook", "audit-hook")
    finally:
        monkeypatch.delenv("AGENTRXIV_BWRAP")
        bwrap.probe.cache_clear()
    assert boundary_status() == (BOUNDARY, None)


def test_sandbox_run_cli_reports_limits_and_exit_code(tmp_path: Path) -> None:
    program = tmp_path / "slow.py"
    program.write_text("import sys, time\nprint('started', flush=True)\ntime.sleep(30)\n")
    data = tmp_path / "data.jsonl"
    data.write_text('{"x": 1}\n')
    reader = tmp_path / "reader.py"
    reader.write_text(
        "import os, sys\nprint(open(os.environ['AGENTRXIV_DATA']).read())\nsys.exit(7)"
    )
    base = [sys.executable, "-m", "agentrxiv.cli.main", "sandbox", "run"]
    slow = subprocess.run([*base, str(program), "--wall-s", "1"], capture_output=True, text=True)
    assert slow.returncode == 128 + 9
    assert slow.stdout == "started\n" and "stopped by: wall_time" in slow.stderr
    read = subprocess.run(
        [*base, str(reader), "--data", str(data), "--workdir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
    )
    assert read.returncode == 7, read.stderr
    assert '{"x": 1}' in read.stdout and "exit status 7" in read.stderr


def test_the_lab_never_writes_or_keeps_links_to_outside_files(tmp_path: Path) -> None:
    """A workdir left with a hard link (an unsafe run) or a planted symlink at the program's
    name: the sandbox removes the link and writes its own file; the outside files survive."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    workdir = tmp_path / "w"
    workdir.mkdir()
    os.link(victim, workdir / "linked.txt")
    (workdir / "_sandbox_main.py").symlink_to(victim)
    result = SubprocessSandbox(workdir).run_python("print(open('linked.txt').read())")
    assert not (workdir / "linked.txt").exists() and victim.stat().st_nlink == 1
    assert "FileNotFoundError" in result.stderr
    assert victim.read_text() == "precious"
    assert not (workdir / "_sandbox_main.py").is_symlink()


def test_replacing_the_model_socket_fails_only_that_program(tmp_path: Path) -> None:
    from agentrxiv.llm.registry import get_model
    from agentrxiv.llm.scripted import register_script, unregister_script

    register_script("escape-target", lambda messages: "42")
    try:
        model = get_model("scripted/escape-target", cache=False)
        runner = SandboxRunner(tmp_path / "runs", model, "lab/escape", SandboxConfig(wall_s=20))
        code = "import os\nos.remove('model.sock')\nos.mkdir('model.sock')\n"
        run = runner.run(code, "r1")
    finally:
        unregister_script("escape-target")
    assert not run.ok and "result.json" in run.error
    assert (tmp_path / "runs" / "r1" / "model.sock").is_dir()
