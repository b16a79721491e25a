"""The model gateway and the experiment API: a sandboxed program reaches the target model only
through the gateway's Unix socket, the parent's ledger and counters see every call, budget
errors reach the child as exceptions, and result files are validated."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from agentrxiv.errors import ConfigError
from agentrxiv.llm import Budget, Ledger, get_model
from agentrxiv.sandbox import SandboxLimits, SubprocessSandbox
from agentrxiv.sandbox.experiment_api import (
    ExperimentResult,
    read_result,
    target_model,
    write_result,
)
from agentrxiv.sandbox.gateway import ModelGateway

TAG = "lab-test/experiment"
LIMITS = SandboxLimits(cpu_s=30, memory_mb=1024, wall_s=60)

CHAT_PROGRAM = """
import socket, sys
from agentrxiv.sandbox.experiment_api import target_model, write_result
model = target_model()
reply = model.chat([{"role": "user", "content": "two plus two"}], max_tokens=16)
print("reply:", reply.text, reply.usage.total_tokens)
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    print("tcp: connected")
except OSError as exc:
    print("tcp: refused", type(exc).__name__)
write_result({"value": 0.75, "n": 4, "details": {"reply": reply.text}})
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory with a short path (Unix socket paths are capped at 107 bytes)."""
    path = tmp_path / "w"
    path.mkdir()
    return path


def test_sandboxed_program_reaches_the_model_only_through_the_gateway(workdir: Path) -> None:
    ledger = Ledger()
    model = get_model("scripted/echo", ledger=ledger, cache=False)
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        ModelGateway(model, workdir / "model.sock", tag=TAG) as gateway,
    ):
        box = SubprocessSandbox(workdir, LIMITS, allow_model_socket=gateway.socket_path)
        port = str(server.getsockname()[1])
        result = box.run_python(CHAT_PROGRAM, args=(port,), env_extra=gateway.child_env())
    assert result.ok, result.stderr
    assert "reply: two plus two" in result.stdout
    assert "tcp: refused" in result.stdout
    assert gateway.calls == 1 and gateway.errors == 0
    assert gateway.usage.total_tokens == 6  # scripted tokens are words: 3 in, 3 out
    assert ledger.totals(TAG).calls == 1
    assert ledger.totals(TAG).usage.total_tokens == 6
    saved = read_result(workdir / "result.json")
    assert saved.value == 0.75 and saved.model == "scripted/echo"
    assert "result.json" in result.files_written


def test_budget_error_reaches_the_child_as_an_exception(workdir: Path) -> None:
    ledger = Ledger(Budget(max_tokens=5))
    model = get_model("scripted/echo", ledger=ledger, cache=False)
    program = (
        "from agentrxiv.sandbox.experiment_api import target_model\n"
        "model = target_model()\n"
        "for i in range(3):\n"
        "    try:\n"
        "        model.chat([{'role': 'user', 'content': 'one two three'}])\n"
        "        print('ok')\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    with ModelGateway(model, workdir / "model.sock", tag=TAG) as gateway:
        box = SubprocessSandbox(workdir, LIMITS, allow_model_socket=gateway.socket_path)
        result = box.run_python(program)
    assert result.ok, result.stderr
    assert result.stdout.split() == ["ok", "BudgetExceededError", "BudgetExceededError"]
    assert gateway.calls == 1 and gateway.errors == 2
    assert ledger.totals(TAG).calls == 1


def test_child_without_the_socket_allowance_cannot_connect(workdir: Path) -> None:
    model = get_model("scripted/echo", ledger=Ledger(), cache=False)
    program = (
        "import os\nfrom agentrxiv.sandbox.experiment_api import target_model\n"
        "target_model().chat([{'role': 'user', 'content': 'hi'}])\n"
    )
    with ModelGateway(model, workdir / "model.sock", tag=TAG) as gateway:
        box = SubprocessSandbox(workdir, LIMITS)  # no allow_model_socket
        result = box.run_python(program, env_extra=gateway.child_env())
    assert result.exit_code != 0
    assert "UnreachableError" in result.stderr or "not allowed" in result.stderr
    assert gateway.calls == 0


def test_gateway_answers_malformed_requests_with_400(workdir: Path) -> None:
    model = get_model("scripted/echo", ledger=Ledger(), cache=False)
    with (
        ModelGateway(model, workdir / "model.sock", tag=TAG) as gateway,
        httpx.Client(
            transport=httpx.HTTPTransport(uds=str(gateway.socket_path)), base_url="http://gw"
        ) as client,
    ):
        missing = client.post("/v1/chat/completions", json={"model": "x"})
        bad_role = client.post(
            "/v1/chat/completions", json={"messages": [{"role": "robot", "content": "hi"}]}
        )
        not_json = client.post("/v1/chat/completions", content=b"{nope")
        models = client.get("/v1/models").json()
    for response in (missing, bad_role, not_json):
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request"
    assert "messages" in missing.json()["error"]["message"]
    assert models["data"][0]["id"] == "scripted/echo"
    assert gateway.calls == 0
    assert not gateway.socket_path.exists()


def test_too_long_socket_path_is_a_config_error(tmp_path: Path) -> None:
    model = get_model("scripted/echo", ledger=Ledger(), cache=False)
    with pytest.raises(ConfigError, match="too long"):
        ModelGateway(model, tmp_path / ("d" * 120) / "model.sock", tag=TAG)


def test_target_model_needs_the_gateway_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTRXIV_MODEL_SOCKET", raising=False)
    target_model.cache_clear()
    with pytest.raises(ConfigError, match="no model gateway"):
        target_model()


def test_result_file_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRXIV_TARGET_MODEL", "local/smollm2")
    path = write_result({"value": 0.5, "n": 10, "metric": "accuracy"}, tmp_path / "r.json")
    assert json.loads(path.read_text())["model"] == "local/smollm2"
    assert read_result(path) == ExperimentResult(value=0.5, n=10, model="local/smollm2")
    with pytest.raises(ConfigError, match="value"):
        write_result({"value": float("nan"), "n": 1}, tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="n"):
        write_result({"value": 0.1, "n": -1}, tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match="unreadable"):
        read_result(tmp_path / "broken.json")
    with pytest.raises(ConfigError, match="no result file"):
        read_result(tmp_path / "absent.json")


def test_problems_and_figures_inside_the_sandbox(workdir: Path, math500_path: Path) -> None:
    program = (
        "import matplotlib.pyplot as plt\n"
        "from agentrxiv.sandbox.experiment_api import load_problems, save_figure\n"
        "problems = load_problems(limit=3)\n"
        "print(len(problems), problems[0].answer != '')\n"
        "fig, ax = plt.subplots()\n"
        "ax.bar(['a', 'b'], [1, 2])\n"
        "print(save_figure(fig, '../accuracy by level'))\n"
    )
    box = SubprocessSandbox(workdir, LIMITS)
    result = box.run_python(program, env_extra={"AGENTRXIV_DATA": str(math500_path)})
    assert result.ok, result.stderr
    assert result.stdout.split() == ["3", "True", "figures/accuracy_by_level.png"]
    assert result.files_written == ["figures/accuracy_by_level.png"]
    assert (workdir / "figures/accuracy_by_level.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.model
@pytest.mark.slow
def test_real_local_model_through_the_gateway(workdir: Path) -> None:
    """The same path with the embedded SmolLM2 model instead of a scripted one."""
    ledger = Ledger()
    model = get_model("local/smollm2", ledger=ledger, cache=False)
    program = (
        "from agentrxiv.sandbox.experiment_api import target_model\n"
        "r = target_model().chat([{'role': 'user', 'content': 'Say hello.'}], max_tokens=8)\n"
        "print(r.usage.completion_tokens, repr(r.text))\n"
    )
    with ModelGateway(model, workdir / "model.sock", tag=TAG) as gateway:
        box = SubprocessSandbox(workdir, LIMITS, allow_model_socket=gateway.socket_path)
        result = box.run_python(program, env_extra=gateway.child_env())
    assert result.ok, result.stderr
    completion_tokens = int(result.stdout.split()[0])
    assert 1 <= completion_tokens <= 8
    assert ledger.totals(TAG).calls == 1
    assert ledger.totals(TAG).usage.completion_tokens == completion_tokens
