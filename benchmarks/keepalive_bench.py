"""Dropped connections after idle pauses (issue 18): 200 concurrent httpx clients sharing one
connection pool send bursts (one request per connection) to a real ``agentrxiv serve``,
separated by idle pauses swept across httpx's 5 s idle expiry; requests that get no answer
(``ReadError``, ``RemoteProtocolError``) are counted by kind, side by side for the server's
keep-alive timeout at uvicorn's old default (5 s, the same as httpx's expiry) and at ours.

    python benchmarks/keepalive_bench.py                       # 5 s vs the default (75 s)
    python benchmarks/keepalive_bench.py --timeouts 5,default --staggered 90   # reproduces it

Cause: a connection idle for just under 5 s is still "alive" to httpx, which sends its next
request on it, while uvicorn's 5 s timer closes it at that moment; the request is lost. A
server timeout longer than every client's idle expiry leaves closing idle connections to the
clients, which never reuse one they closed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from load_bench import running_server

PAUSES = [4.5, 4.6, 4.7, 4.8, 4.9, 5.0, 5.1, 5.2, 5.3, 6.0]


async def keep_busy(url: str, path: str, clients: int, stop: asyncio.Event) -> None:
    """``clients`` closed-loop clients on their own pool until ``stop``: a server whose event
    loop lags, as under the load of the issue (a keep-alive timer then fires late, in the
    same loop turn as the request that arrived meanwhile)."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:

        async def loop() -> None:
            while not stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    await http.get(path)

        await asyncio.gather(*(loop() for _ in range(clients)))


async def bursts(
    url: str, path: str, clients: int, pauses: list[float], busy: tuple[str, int]
) -> Counter[str]:
    """Outcomes of a burst after each pause (first one unpaused), over one shared pool:
    status codes, and exception names for requests without an answer."""
    outcomes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    stop = asyncio.Event()
    background = asyncio.create_task(keep_busy(url, busy[0], busy[1], stop))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as http:
        for pause in [0.0, *pauses]:
            await asyncio.sleep(pause)
            got = await asyncio.gather(
                *(http.get(path) for _ in range(clients)), return_exceptions=True
            )
            for result in got:
                if isinstance(result, httpx.Response):
                    outcomes[str(result.status_code)] += 1
                else:
                    outcomes[type(result).__name__] += 1
    stop.set()
    await background
    return outcomes


async def staggered(url: str, path: str, clients: int, seconds: float) -> Counter[str]:
    """Each client sends a request, then idles a random 4.7-5.3 s, over one shared pool, for
    ``seconds``: connections come back to use at every idle time around 5 s."""
    outcomes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    rng = random.Random(0)
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as http:

        async def client() -> None:
            while time.monotonic() < deadline:
                try:
                    response = await http.get(path)
                    outcomes[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    outcomes[type(exc).__name__] += 1
                await asyncio.sleep(rng.uniform(4.7, 5.3))

        await asyncio.gather(*(client() for _ in range(clients)))
    return outcomes


def main() -> None:
    """Run the bursts against a server per keep-alive timeout; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeouts", default="5,default", help="server keep-alive timeouts")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="sweeps of the pauses per server")
    parser.add_argument("--path", default="/api/v1/papers?limit=5")
    parser.add_argument(
        "--busy-path", default="/api/v1/search?q=majority+vote&mode=semantic", help="load"
    )
    parser.add_argument("--busy-clients", type=int, default=20, help="0: an idle server")
    parser.add_argument(
        "--staggered", type=float, default=0, help="instead of bursts: seconds of staggered reuse"
    )
    args = parser.parse_args()
    pauses = PAUSES * args.rounds
    print(f"# keep-alive: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    if args.staggered:
        print(
            f"{args.clients} clients, each idling 4.7-5.3 s between requests for {args.staggered} s"
        )
    else:
        print(
            f"{args.clients} clients, {len(pauses) + 1} bursts, pauses {pauses} s, "
            f"GET {args.path}; meanwhile {args.busy_clients} clients GET {args.busy_path}"
        )
    rows = []
    for timeout in args.timeouts.split(","):
        if timeout == "default":
            os.environ.pop("AGENTRXIV_KEEP_ALIVE_TIMEOUT", None)
        else:
            os.environ["AGENTRXIV_KEEP_ALIVE_TIMEOUT"] = timeout
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            db = f"sqlite:///{home / 'archive.sqlite'}"
            with running_server(db, home) as (url, _):
                began = time.perf_counter()
                busy = (args.busy_path, args.busy_clients)
                if args.staggered:
                    run = staggered(url, args.path, args.clients, args.staggered)
                else:
                    run = bursts(url, args.path, args.clients, pauses, busy)
                outcomes = asyncio.run(run)
                wall = time.perf_counter() - began
        lost = sum(n for name, n in outcomes.items() if not name.isdigit())
        rows.append((timeout, sum(outcomes.values()), lost, dict(outcomes), wall))
        print(f"  keep-alive {timeout}: {lost} without an answer {dict(outcomes)}", flush=True)
    print("\n| server keep-alive s | requests | without an answer | outcomes | wall s |")
    print("|---|---:|---:|---|---:|")
    for timeout, total, lost, outcomes, wall in rows:
        print(f"| {timeout} | {total} | {lost} | {outcomes} | {wall:.0f} |")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
