"""When the lab runs as root, the sandboxed program is a real unprivileged uid (65534), seen
from the host as well as from inside: the files it makes belong to 65534, the kernel shows
uid/gid 65534 in every slot and no capability in any set, ``setuid(0)`` and new user
namespaces are refused, and that holds for an interpreter started without the audit hook.
The lab (root) still reads the results and removes the working directory, and the other
mode (a user namespace, as used by a non-root lab) keeps working."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from agentrxiv.sandbox import SandboxLimits, SubprocessSandbox, bwrap, read_regular_file

pytestmark = pytest.mark.skipif(
    bwrap.probe() is not None, reason=f"no bwrap boundary here: {bwrap.probe()}"
)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop applies to a root lab")
LIMITS = SandboxLimits(cpu_s=10, memory_mb=1024, wall_s=30, output_bytes=20_000)
UID = bwrap.SANDBOX_UID
# Kernel-level facts, printed with C calls the audit hook does not see (it refuses the
# Python-level equivalents anyway); run once hooked and once in a fresh interpreter
# started by execveat, which has no hook at all.
FACTS = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def facts(tag):\n"
    "    st = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines()"
    " if ':' in l)\n"
    "    for key in ('Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd',"
    " 'CapAmb', 'NoNewPrivs'):\n"
    "        print(tag, key, ' '.join(st[key].split()) or '-')\n"
    "    print(tag, 'setuid0', libc.setuid(0), ctypes.get_errno())\n"
    "    if tag == 'raw':  # the hook refuses ctypes unshare; the kernel must too\n"
    "        print(tag, 'newuser', libc.unshare(0x10000000), ctypes.get_errno())\n"
    "    fd = libc.open(b'/tmp/probe', os.O_WRONLY | os.O_CREAT, 0o600)\n"
    "    print(tag, 'tmp', fd >= 0 and libc.write(fd, b'ok', 2) == 2)\n"
)
RAW_PROGRAM = (FACTS + "facts('raw')\n").encode()
UNHOOKED_SELF = (
    "argv = (ctypes.c_char_p * 5)(sys.executable.encode(), b'-I', b'-c',"
    f" {RAW_PROGRAM!r}, None)\n"
    "env = (ctypes.c_char_p * 1)(None)\n"
    "libc.execveat(-100, sys.executable.encode(), argv, env, 0)\n"
)


def _facts(output: str, tag: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] == tag:
            found[parts[1]] = parts[2]
    return found


def _assert_unprivileged(facts: dict[str, str]) -> None:
    assert facts["Uid"] == f"{UID} {UID} {UID} {UID}", facts
    assert facts["Gid"] == f"{UID} {UID} {UID} {UID}", facts
    assert facts["Groups"] == "-"
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(facts[key], 16) == 0, (key, facts[key])
    assert facts["NoNewPrivs"] == "1"
    assert facts["setuid0"] == "-1 1"  # EPERM
    assert facts.get("newuser", "-1 1") == "-1 1"  # EPERM: no user namespaces inside
    assert facts["tmp"] == "True"  # the private /tmp is writable by 65534


@as_root
def test_program_is_uid_65534_inside_and_outside(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    (workdir / "old").mkdir(parents=True)
    (workdir / "old" / "input.txt").write_text("from the lab\n")  # root's, handed over
    box = SubprocessSandbox(workdir, LIMITS)
    code = (
        FACTS + "facts('hooked')\n"
        "open('out.txt', 'w').write('x')\n"
        "os.makedirs('figures/deep')\n"
        "open('figures/deep/f.png', 'wb').write(b'png')\n"
        "open('old/input.txt', 'a').write('and the program\\n')\n"
        "open('result.json', 'w').write('{\"value\": 0.5}')\n"
        "sys.stdout.flush()\n" + UNHOOKED_SELF
    )
    result = box.run_python(code)
    assert result.exit_code == 0, result.stdout + result.stderr
    _assert_unprivileged(_facts(result.stdout, "hooked"))
    _assert_unprivileged(_facts(result.stdout, "raw"))
    for name in ("out.txt", "figures", "figures/deep/f.png", "result.json", "old/input.txt"):
        info = os.stat(workdir / name)
        assert (info.st_uid, info.st_gid) == (UID, UID), name
    assert (workdir / "old" / "input.txt").read_text().endswith("and the program\n")
    assert read_regular_file(workdir / "result.json") == b'{"value": 0.5}'
    shutil.rmtree(workdir)  # the lab (root) cleans up what 65534 made
    assert not workdir.exists()


@as_root
def test_private_data_file_is_readable_but_not_writable(tmp_path: Path) -> None:
    data = tmp_path / "data" / "private.jsonl"
    data.parent.mkdir(mode=0o700)
    data.write_text('{"problem": "1+1", "answer": "2"}\n')
    data.chmod(0o600)  # root's only: mounted as a read-only copy for 65534
    box = SubprocessSandbox(tmp_path / "work", LIMITS, data_files=[data])
    code = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"print(open({str(data)!r}).read().strip())\n"
        f"print('write', libc.open({str(data).encode()!r}, os.O_WRONLY), ctypes.get_errno())\n"
    )
    result = box.run_python(code)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == '{"problem": "1+1", "answer": "2"}'
    assert lines[1].startswith("write -1 ") and lines[1] != "write -1 0"
    assert data.stat().st_uid == 0 and data.read_text().startswith('{"problem"')


@as_root
def test_model_socket_outside_the_workdir_is_reachable(tmp_path: Path) -> None:
    """A root-owned Unix socket (mode from root's umask) is handed to 65534 and connects."""
    path = tmp_path / "sock" / "model.sock"
    path.parent.mkdir()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"pong:" + conn.recv(16))

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    box = SubprocessSandbox(tmp_path / "work", LIMITS, allow_model_socket=path)
    code = (
        "import os, socket\ns = socket.socket(socket.AF_UNIX)\n"
        "s.connect(os.environ['AGENTRXIV_MODEL_SOCKET'])\ns.sendall(b'ping')\n"
        "print(s.recv(16).decode())\n"
    )
    try:
        result = box.run_python(code)
    finally:
        thread.join(5)
        server.close()
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "pong:ping"


def test_user_namespace_mode_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mode a non-root lab gets (``--unshare-user``, no drop) runs programs as 65534."""
    monkeypatch.setattr(bwrap, "privileged", lambda: False)
    box = SubprocessSandbox(tmp_path / "work", LIMITS)
    assert box.drop is False
    result = box.run_python(
        "import os\nopen('out.txt', 'w').write('x')\nprint(os.getuid(), os.getcwd())"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == [str(UID), str(tmp_path / "work")]
    assert result.files_written == ["out.txt"]
