"""The sandbox contains escape attempts (exit, subprocess, fork bombs, runaway loops, memory
hogs, floods of output, writes outside, secrets, network) and the parent carries on. Every
test runs a real child interpreter; most run under the bwrap boundary and in both unsafe
modes (``unshare`` namespaces + audit hook, audit hook alone). Escapes that get past the
audit hook are in ``test_sandbox_escapes.py``."""

from __future__ import annotations

import json
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agentrxiv.errors import ConfigError
from agentrxiv.sandbox import BOUNDARY, SandboxLimits, SubprocessSandbox, bwrap
from agentrxiv.sandbox.modes import namespace_prefix
from agentrxiv.sandbox.process import PidsCgroup

FAST = SandboxLimits(cpu_s=5, memory_mb=512, wall_s=15, output_bytes=20_000, max_processes=32)
MODES = [
    pytest.param("bwrap", id="bwrap"),
    pytest.param("namespaces", id="unsafe-namespaces"),
    pytest.param("audit-hook", id="unsafe-audit-hook-only"),
]


def make_box(workdir: Path, limits: SandboxLimits, mode: str) -> SubprocessSandbox:
    """A sandbox in ``mode``: the bwrap boundary, or one of the two unsafe fallbacks."""
    if mode == "bwrap":
        return SubprocessSandbox(workdir, limits)
    return SubprocessSandbox(workdir, limits, unsafe=True, namespaces=mode == "namespaces")


@pytest.fixture(params=MODES)
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> SubprocessSandbox:
    """A sandbox in a fresh working directory, in each isolation mode this machine offers."""
    if request.param == "bwrap" and bwrap.probe():
        pytest.skip(f"no bwrap boundary on this machine: {bwrap.probe()}")
    if request.param == "namespaces" and not namespace_prefix():
        pytest.skip("unshare cannot create namespaces on this machine")
    return make_box(tmp_path / "work", FAST, request.param)


def test_normal_program_runs_and_reports_its_files(sandbox: SubprocessSandbox) -> None:
    result = sandbox.run_python(
        "import sys\nopen('out.txt', 'w').write('data')\nprint('hello', sys.argv[1:])",
        args=("a", "b"),
    )
    assert result.ok, result.stderr
    assert result.stdout == "hello ['a', 'b']\n"
    assert result.files_written == ["out.txt"]
    assert (sandbox.workdir / "out.txt").read_text() == "data"
    assert result.wall_s > 0 and result.cpu_s > 0


def test_script_path_and_env_extra(sandbox: SubprocessSandbox) -> None:
    script = sandbox.workdir / "experiment.py"
    script.write_text("import os, sys\nprint(os.environ['MY_SETTING'], sys.argv[1])\n")
    result = sandbox.run_python(script, args=("x",), env_extra={"MY_SETTING": "42"})
    assert result.ok, result.stderr
    assert result.stdout.split() == ["42", "x"]


def test_missing_script_is_a_config_error(sandbox: SubprocessSandbox) -> None:
    with pytest.raises(ConfigError, match="not found"):
        sandbox.run_python(Path("nope.py"))


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        ("exit()", 0),
        ("import sys; sys.exit(4)", 4),
        ("import os; os._exit(3)", 3),
        ("raise ValueError('boom')", 1),
    ],
)
def test_exit_and_exceptions_end_only_the_child(
    sandbox: SubprocessSandbox, code: str, exit_code: int
) -> None:
    result = sandbox.run_python(code)
    assert result.exit_code == exit_code
    assert not result.timed_out and result.killed_by is None


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess; subprocess.run(['touch', 'pwned'])",
        "import os; os.system('touch pwned')",
        "import os; os.execv('/usr/bin/touch', ['touch', 'pwned'])",
        "import os; os.posix_spawn('/usr/bin/touch', ['touch', 'pwned'], {})",
        "import multiprocessing as mp\n"
        "mp.set_start_method('spawn')\n"
        "p = mp.Process(target=print); p.start(); p.join()\n"
        "open('pwned', 'w')",
        "import ctypes; ctypes.CDLL(None).system(b'touch pwned')",
        "import os, sys; os.kill(int(sys.argv[1]), 9)",
    ],
    ids=["subprocess", "os.system", "exec", "posix_spawn", "multiprocessing", "ctypes", "kill"],
)
def test_starting_or_signalling_processes_is_refused(sandbox: SubprocessSandbox, code: str) -> None:
    result = sandbox.run_python(code, args=(str(os.getpid()),))
    assert result.exit_code != 0
    assert "sandbox:" in result.stderr and "not allowed" in result.stderr
    assert not (sandbox.workdir / "pwned").exists()


def test_fork_bomb_is_contained(sandbox: SubprocessSandbox) -> None:
    marker = f"bomb-{uuid.uuid4().hex}"
    bomb = _like(sandbox, SandboxLimits(wall_s=5, max_processes=16))
    result = bomb.run_python("import os\nwhile True:\n    os.fork()\n", args=(marker,))
    assert result.exit_code != 0
    assert result.wall_s < 5.5
    assert not _processes_running(marker)


def test_task_limit_is_enforced_by_the_kernel(tmp_path: Path) -> None:
    """Threads count as tasks: this limit holds even if the audit hook were bypassed."""
    probe = PidsCgroup.create(1)
    if probe is not None:
        probe.destroy()
    elif os.geteuid() == 0:
        pytest.skip("root without a writable pids cgroup: no kernel task limit")
    box = SubprocessSandbox(tmp_path / "w", SandboxLimits(max_processes=20, wall_s=20))
    code = (
        "import threading, time\nstarted = 0\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        threading.Thread(target=time.sleep, args=(2,), daemon=True).start()\n"
        "        started += 1\n"
        "finally:\n"
        "    print(started)\n"
    )
    result = box.run_python(code)
    assert result.exit_code != 0, result.stdout
    assert "can't start new thread" in result.stderr
    assert int(result.stdout) < 20


def test_infinite_loop_hits_the_cpu_limit(tmp_path: Path) -> None:
    box = SubprocessSandbox(tmp_path / "w", SandboxLimits(cpu_s=1, wall_s=20))
    result = box.run_python("while True:\n    pass\n")
    assert result.killed_by == "cpu_time"
    assert not result.timed_out
    assert 0.9 <= result.cpu_s < 5
    assert "CPU time limit" in result.stderr


def test_sleeping_program_hits_the_wall_clock(sandbox: SubprocessSandbox) -> None:
    box = _like(sandbox, SandboxLimits(wall_s=1.0))
    result = box.run_python("import time\nprint('start', flush=True)\ntime.sleep(60)\n")
    assert result.timed_out and result.killed_by == "wall_time"
    assert result.stdout == "start\n"
    assert 0.9 < result.wall_s < 5


@pytest.mark.parametrize(
    "code",
    ["x = bytearray(3 * 1024**3)", "chunks = []\nwhile True:\n    chunks.append(b'x' * 10**7)\n"],
    ids=["one-allocation", "growing"],
)
def test_memory_hog_hits_the_memory_limit(tmp_path: Path, code: str) -> None:
    box = SubprocessSandbox(tmp_path / "w", SandboxLimits(memory_mb=300, wall_s=20))
    result = box.run_python(code)
    assert result.exit_code != 0
    assert result.killed_by == "memory"


def test_huge_output_is_capped_keeping_head_and_tail(sandbox: SubprocessSandbox) -> None:
    code = "print('FIRST')\nfor i in range(200):\n    print('x' * 50_000)\nprint('LAST')\n"
    result = sandbox.run_python(code)
    assert result.ok
    assert len(result.stdout) < FAST.output_bytes + 200
    assert result.stdout.startswith("FIRST")
    assert result.stdout.rstrip().endswith("LAST")
    assert "bytes of output dropped by the sandbox" in result.stdout


@pytest.mark.parametrize(
    ("code", "outside"),
    [
        ("open('../outside.txt', 'w').write('x')", "../outside.txt"),
        ("open('{tmp}', 'w').write('x')", "{tmp}"),
        ("import os; os.mkdir('../outside-dir')", "../outside-dir"),
        ("import os; os.symlink('..', 'up'); open('up/outside.txt', 'w')", "../outside.txt"),
        ("import pathlib; pathlib.Path('{victim}').unlink()", None),
        ("import os; os.rename('{victim}', 'stolen')", None),
        ("import shutil; shutil.rmtree('{victim_dir}')", None),
    ],
    ids=["relative", "tmp", "mkdir", "symlink", "unlink", "rename", "rmtree"],
)
def test_file_changes_outside_the_workdir_fail(
    sandbox: SubprocessSandbox, tmp_path: Path, code: str, outside: str | None
) -> None:
    tmp_target = Path("/tmp") / f"agentrxiv-sandbox-test-{uuid.uuid4().hex}"
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    victim = victim_dir / "keep.txt"
    victim.write_text("precious")
    names = {"tmp": tmp_target, "victim": victim, "victim_dir": victim_dir}
    result = sandbox.run_python(code.format(**names))
    assert result.exit_code != 0
    assert "outside the working directory" in result.stderr
    if outside:
        assert not (sandbox.workdir / outside.format(**names)).exists()
    assert victim.read_text() == "precious"
    assert not tmp_target.exists()


def test_secrets_are_absent_inside(
    sandbox: SubprocessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AGENTRXIV_TOKEN", "tok-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "gh-secret")
    code = (
        "import json, os, sys\n"
        "print(json.dumps(dict(os.environ)))\n"
        "try:\n"
        "    print(open(f'/proc/{sys.argv[1]}/environ', 'rb').read())\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
    )
    result = sandbox.run_python(code, args=(str(os.getpid()),))
    assert result.ok, result.stderr
    env_line, proc_line = result.stdout.splitlines()
    env = json.loads(env_line)
    assert not {"OPENAI_API_KEY", "AGENTRXIV_TOKEN", "AWS_SECRET_ACCESS_KEY"} & env.keys()
    assert not [key for key in env if "TOKEN" in key and key != "TOKENIZERS_PARALLELISM"]
    assert env["HOME"] == str(sandbox.workdir)
    assert proc_line.startswith("refused")
    for secret in ("sk-secret", "tok-secret", "aws-secret", "gh-secret"):
        assert secret not in result.stdout + result.stderr


def test_tcp_to_a_local_server_fails(sandbox: SubprocessSandbox) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = (
            "import socket, sys\n"
            "try:\n"
            "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2)\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print('refused', type(exc).__name__, exc)\n"
        )
        result = sandbox.run_python(code, args=(str(port),))
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # a completed connection would be waiting in the backlog
    assert result.stdout.startswith("refused"), result.stdout


def test_network_namespace_has_no_interfaces_besides_loopback(tmp_path: Path) -> None:
    """The kernel boundary on its own: no interface to route through, whatever Python does."""
    if bwrap.probe():
        pytest.skip("no bwrap boundary on this machine")
    box = SubprocessSandbox(tmp_path / "w", FAST)
    result = box.run_python("import socket\nprint([name for _, name in socket.if_nameindex()])")
    assert result.ok, result.stderr
    assert result.stdout.strip() == "['lo']"
    assert box.isolation == BOUNDARY


def test_parent_keeps_working_after_many_runs(sandbox: SubprocessSandbox) -> None:
    for code in ("import os; os._exit(9)", "exit(2)", "print('still fine')"):
        last = sandbox.run_python(code)
    assert last.ok and last.stdout == "still fine\n"


def test_concurrent_runs_keep_their_own_output(tmp_path: Path) -> None:
    boxes = [SubprocessSandbox(tmp_path / f"w{i}", FAST) for i in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(lambda i: boxes[i].run_python(f"print({i} * 111)"), range(len(boxes)))
        )
    assert [r.stdout for r in results] == ["0\n", "111\n", "222\n"]


def _like(sandbox: SubprocessSandbox, limits: SandboxLimits) -> SubprocessSandbox:
    """A sandbox in the same directory and isolation mode with other limits."""
    modes = {BOUNDARY: "bwrap", "namespaces+audit-hook": "namespaces"}
    return make_box(sandbox.workdir, limits, modes.get(sandbox.isolation, "audit-hook"))


def _processes_running(marker: str) -> bool:
    """Whether any process on the machine was started from a script containing ``marker``."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False
