"""The held-out secret's first use under concurrency: a verifier service with two worker
threads (or two verifier processes) may both be the first to need the test split. Each must
read the same complete secret; a reader must never see a file still being written."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from agentrxiv.bench.heldout import SECRET_BYTES, heldout_secret, secret_path
from agentrxiv.errors import ConfigError


def first_uses_at_once(count: int) -> list[str]:
    """``heldout_secret()`` from ``count`` threads released together; each one's answer
    (or its error's message)."""
    start = threading.Barrier(count)
    answers: list[str] = []

    def use() -> None:
        start.wait()
        try:
            answers.append(heldout_secret())
        except ConfigError as exc:
            answers.append(f"error: {exc}")

    threads = [threading.Thread(target=use) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_first_uses_all_read_one_complete_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for round_number in range(30):
        home = tmp_path / f"home-{round_number}"
        monkeypatch.setenv("AGENTRXIV_HOME", str(home))
        answers = first_uses_at_once(8)
        assert len(set(answers)) == 1, answers
        assert len(answers[0]) == 2 * SECRET_BYTES
        assert secret_path().stat().st_mode & 0o777 == 0o600
        assert sorted(p.name for p in home.iterdir()) == ["heldout.key"]  # no drafts left


def read_secret(home: str) -> str:
    os.environ["AGENTRXIV_HOME"] = home
    return heldout_secret()


def test_processes_racing_for_the_first_use_agree(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        for round_number in range(5):
            home = str(tmp_path / f"home-{round_number}")
            assert len(set(pool.map(read_secret, [home] * 8))) == 1


def test_an_existing_secret_is_never_replaced(isolated_home: Path) -> None:
    secret_path().write_text("ab" * SECRET_BYTES, encoding="ascii")
    assert heldout_secret() == "ab" * SECRET_BYTES


def test_a_damaged_secret_is_a_clear_error(isolated_home: Path) -> None:
    secret_path().write_text("abc", encoding="ascii")
    with pytest.raises(ConfigError, match=r"damaged \(shorter"):
        heldout_secret()
    assert secret_path().read_text(encoding="ascii") == "abc"
