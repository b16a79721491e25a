"""The archive's verifier service: papers verified per hour by ``agentrxiv verifier run --once``
at concurrency 1, 2 and 4.

A real server (``agentrxiv serve`` on a temporary SQLite database) gets ``--papers`` papers
per concurrency level, each with an honest arith technique; publishing queues each one. Then
``agentrxiv verifier run --once --concurrency C --limit L`` (a real process with a verifier
token) drains the queue, and the wall time from its start to its exit (Python start-up
included) gives papers per hour. Every verification runs the zero-shot baseline and the
technique in the sandbox on ``--limit`` test problems, ``AGENTRXIV_VERIFY_CONCURRENCY``
problems at once.

The default target is a fake OpenAI-compatible endpoint that answers every call after 1 s
(the machinery alone: leases, heartbeats, sandbox, posting). Each paper names its own
model (``openai/fake-arith-<level>-<k>``) so no call is answered from the response cache.
``--embedded`` uses the embedded SmolLM2 (``local/smollm2``) instead; every paper's technique
prompts carry a salt of their own, but the zero-shot baseline's prompts are the same for
every paper, so after the first paper the baseline comes from the response cache (as it
does for a real verifier) and the figure mostly measures the technique's runs.

    python benchmarks/verifier_bench.py [--papers 4] [--limit 10] [--levels 1,2,4]
        [--per-job-concurrency 4] [--latency 1.0] [--embedded]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agentrxiv.bench.fake_endpoint import FakeOpenAIEndpoint
from served import running_server

EXPRESSION = re.compile(r"What is ([0-9+\-* ]+)\?")
TECHNIQUE = """
def solve(problem, model):
    reply = model.chat([{"role": "user", "content": "SALT " + problem}], temperature=0.0,
                       max_tokens=16)
    return reply.text
"""


def arith_answers(body: dict[str, Any]) -> str:
    """Right on every arith problem."""
    match = EXPRESSION.search(str(body["messages"][-1]["content"]))
    return f"\\boxed{{{eval(match.group(1))}}}" if match else "no idea"  # noqa: S307


def agentrxiv(*args: str, env: dict[str, str]) -> str:
    """``agentrxiv ARGS`` in a subprocess; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"agentrxiv {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def publish(url: str, token: str, model: str, salt: str) -> str:
    """A paper claiming 1.0 on arith with ``model``; publishing queues it. ``salt`` makes
    its technique's prompts its own, so none is answered from the response cache."""
    body = {
        "title": f"Verifier bench {model}",
        "abstract": "A technique on arith.",
        "body": "Body.",
        "results": [
            {"benchmark": "arith", "metric": "accuracy", "value": 1.0, "n": 100, "model": model}
        ],
        "code_files": {"technique.py": TECHNIQUE.replace("SALT", salt)},
        "technique": "technique.py:solve",
    }
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{url}/api/v1/papers", json=body, headers=headers, timeout=60)
    response.raise_for_status()
    return str(response.json()["id"])


def load_average() -> str:
    """The 1-minute load average and the core count."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def run_level(
    level: int, args: argparse.Namespace, url: str, tokens: dict[str, str], env: dict[str, str]
) -> dict[str, Any]:
    """Queue ``--papers`` papers and time one ``verifier run --once`` that drains them."""
    for k in range(args.papers):
        model = "local/smollm2" if args.embedded else f"openai/fake-arith-{level}-{k}"
        publish(url, tokens["author"], model, salt=f"[paper {level}-{k}]")
    command = [
        sys.executable, "-m", "agentrxiv.cli.main", "verifier", "run", "--server", url,
        "--token", tokens["verifier"], "--once", "--concurrency", str(level),
        "--limit", str(args.limit),
    ]  # fmt: skip
    load_before = load_average()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"verifier run failed: {done.stderr}")
    verified = int(re.search(r"(\d+) verified", done.stderr).group(1))  # type: ignore[union-attr]
    return {
        "level": level,
        "papers": verified,
        "wall_s": wall,
        "per_hour": verified / wall * 3600,
        "load": f"{load_before} -> {load_average()}",
    }


def run_levels(args: argparse.Namespace, url: str, home: Path, db: str) -> None:
    """Tokens, the target model, then every concurrency level against the server at ``url``."""
    env = {**os.environ, "AGENTRXIV_HOME": str(home), "AGENTRXIV_DB": db}
    tokens = {
        "author": agentrxiv("token", "create", "bench-author", env=env),
        "verifier": agentrxiv("token", "create", "bench-verifier", "--verifier", env=env),
    }
    env["AGENTRXIV_VERIFY_CONCURRENCY"] = str(args.per_job_concurrency)
    endpoint = None if args.embedded else FakeOpenAIEndpoint(arith_answers, args.latency)
    if endpoint is not None:
        endpoint.start()
        env["OPENAI_BASE_URL"] = endpoint.url
        env.pop("OPENAI_API_KEY", None)
    target = "local/smollm2" if args.embedded else f"fake endpoint, {args.latency} s"
    print(
        f"# verifier run --once: {args.papers} papers per level, {args.limit} test "
        f"problems each, {args.per_job_concurrency} problems at once; target {target}"
    )
    print("\n| concurrency | papers | wall | papers/hour | load average (before -> after) |")
    print("|---|---|---|---|---|")
    try:
        for level in (int(x) for x in args.levels.split(",") if x.strip()):
            row = run_level(level, args, url, tokens, env)
            print(
                f"| {row['level']} | {row['papers']} | {row['wall_s']:.1f} s | "
                f"{row['per_hour']:.0f} | {row['load']} |",
                flush=True,
            )
        if endpoint is not None:
            print(f"\nfake endpoint calls: {endpoint.calls}")
    finally:
        if endpoint is not None:
            endpoint.stop()


def main() -> None:
    """Parse flags, run every level, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=4, help="Papers per concurrency level.")
    parser.add_argument("--limit", type=int, default=10, help="Test problems per paper.")
    parser.add_argument("--levels", default="1,2,4", help="Verifier concurrency levels.")
    parser.add_argument("--per-job-concurrency", type=int, default=4, help="Problems at once.")
    parser.add_argument("--latency", type=float, default=1.0, help="Fake endpoint latency (s).")
    parser.add_argument("--embedded", action="store_true", help="Use local/smollm2.")
    args = parser.parse_args()
    # Papers are published straight into the queue: no embedding, no write limit.
    server_env = {"AGENTRXIV_EMBED_ON_WRITE": "false", "AGENTRXIV_WRITES_PER_MINUTE": "100000"}
    with tempfile.TemporaryDirectory(prefix="verifier-bench-") as tmp:
        home = Path(tmp)
        db = f"sqlite:///{home / 'archive.sqlite'}"
        with running_server(db, home, server_env) as (url, _):
            run_levels(args, url, home, db)


if __name__ == "__main__":
    main()
