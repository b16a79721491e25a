"""Held-out data out of reach: a program in the real bwrap sandbox tries every route to the
test split (the environment, the registry with the split guard removed, the generator
functions, files under the package data, ``$AGENTRXIV_HOME`` and the home directories, the
MATH-500 file, and ``/proc``) and produces no test problem and never the secret.

Runs wherever the suite runs (no skip): without bwrap the sandbox refuses to start and the
test fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agentrxiv.bench.heldout import heldout_secret, secret_path
from agentrxiv.bench.registry import get_benchmark
from agentrxiv.sandbox import SandboxConfig, SandboxRunner

pytestmark = [pytest.mark.integration]

ATTACK = r"""
import glob, json, os, sys
HOST_HOME, MATH500 = __PATHS__
out = {"generated": {}, "errors": {}, "blobs": []}

def attempt(name, produce):
    try:
        out["generated"][name] = produce()
    except BaseException as exc:
        out["errors"][name] = "%s: %s" % (type(exc).__name__, exc)

out["blobs"].append(json.dumps(dict(os.environ)))
os.environ.pop("AGENTRXIV_ALLOWED_SPLIT", None)
from agentrxiv.bench import arith
from agentrxiv.bench.registry import get_benchmark
for home in ("own", "host"):
    if home == "host":
        os.environ["AGENTRXIV_HOME"] = HOST_HOME  # pretend to be the verifier
    for digits in (2, 4):
        attempt("registry-%s-%d" % (home, digits), lambda: [p.problem for p in get_benchmark(
            "arith", digits=digits).problems("test")])
    for secret in (None, "", "0" * 64):
        attempt("generate-%d-%r" % (digits, secret), lambda: [p.problem for p in arith.generate(
            arith.ArithSettings(digits=digits), 2026, secret)["test"]])
attempt("math500-test", lambda: [p.problem for p in get_benchmark("math500").problems("test")])
import agentrxiv
roots = [os.path.dirname(agentrxiv.__file__), HOST_HOME, os.path.dirname(MATH500),
         os.path.expanduser("~"), "/root", "/home", "/tmp", "/work", "/etc"]
for root in roots:
    for path in glob.glob(os.path.join(root, "**"), recursive=True)[:5000]:
        try:
            if os.path.isfile(path) and os.path.getsize(path) < 2_000_000:
                with open(path, "rb") as handle:
                    out["blobs"].append(path + "\n" + handle.read().decode("utf-8", "replace"))
        except OSError:
            pass
for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline") + ["/proc/self/mountinfo"]:
    try:
        with open(path, "rb") as handle:
            out["blobs"].append(path + "\n" + handle.read().decode("utf-8", "replace"))
    except OSError:
        pass
with open("attack.json", "w") as handle:
    json.dump(out, handle)
"""


def test_sandboxed_code_finds_no_held_out_problem(tmp_path: Path, isolated_home: Path) -> None:
    math500 = os.environ.get("AGENTRXIV_MATH500", "/nonexistent/math500.jsonl")
    real = {d: get_benchmark("arith", digits=d).problems("test") for d in (2, 4)}
    secret = heldout_secret()
    assert secret_path().stat().st_mode & 0o777 == 0o600
    dev = get_benchmark("arith").problems("dev")
    assert not {p.unique_id for p in dev} & {p.unique_id for p in real[2]}
    program = ATTACK.replace("__PATHS__", repr((str(isolated_home), math500)))
    runner = SandboxRunner(tmp_path / "runs", None, "lab/heldout", SandboxConfig(wall_s=120))
    run = runner.run(program, "attack", with_model=False)
    report_file = (run.workdir or tmp_path / "runs" / "attack") / "attack.json"
    assert report_file.exists(), run.stdout + run.stderr + run.error
    report = json.loads(report_file.read_text())
    blob = "\n".join(report["blobs"])
    assert secret not in blob and str(secret_path()) not in blob
    # The registry runs in the sandbox, but on a secret of its own: decoy test problems.
    assert len(report["generated"]["registry-own-2"]) == 300, report["errors"]
    assert "registry-host-2" not in report["generated"]  # the verifier's home is not there
    for name, texts in report["generated"].items():
        digits = 4 if "-4" in name else 2
        truth = {p.problem for p in real[digits]}
        shared = truth & set(texts)
        if digits == 4:  # 9000^2 expressions: any shared problem would be a leak
            assert not shared, (name, sorted(shared)[:3])
        else:  # 8100 expressions: a random 300 shares about 11 by chance, never the set
            assert len(shared) < 40 and set(texts) != truth, (name, len(shared))
    answers = {f"{p.problem.removeprefix('What is ').rstrip('?')} = {p.answer}" for p in real[4]}
    assert not [a for a in answers if a in blob]
    assert "math500-test" not in report["generated"] or not report["generated"]["math500-test"]
