"""Waiting for a server to come up: what ``agentrxiv demo``, the benchmarks and the tests do
after starting ``agentrxiv serve`` before they send it anything."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

HEALTH_PATH = "/api/v1/health"
POLL_S = 0.2


def wait_until_serving(url: str, timeout_s: float, gone: Callable[[], bool] | None = None) -> bool:
    """Poll ``url``'s health endpoint until it answers 200 (True), ``timeout_s`` passes, or
    ``gone()`` says the server process has exited (False for both: the caller knows which
    log to show)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if gone is not None and gone():
            return False
        try:
            if httpx.get(f"{url.rstrip('/')}{HEALTH_PATH}", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(POLL_S)
    return False
