"""The embedded model's worker process: ``python -m agentrxiv.llm.worker_child --model F``.

It loads one GGUF file with llama-cpp-python and answers requests, one JSON object per
line, on a private copy of its stdout; the real file descriptor 1 is pointed at stderr first,
so anything native code prints can never corrupt the protocol. A reader thread takes requests
from stdin; when stdin closes (the parent exited or was killed) the worker exits at once,
even mid-generation, so it never outlives its parent.

Requests: ``{"op": "chat", "kwargs": {...}}`` (``Llama.create_chat_completion`` keyword
arguments), ``{"op": "ping"}`` and ``{"op": "reset"}`` (forget the KV cache). Answers:
``{"ok": true, "response": {...}}`` or
``{"ok": false, "kind": "bad_request" | "error", "message": "..."}``. The first line is
``{"ready": true, ...}`` (build facts and load time) or ``{"ready": false, "message": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO


def _protocol_channel() -> BinaryIO:
    """A private duplicate of stdout for the protocol; fd 1 then goes to stderr."""
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _send(channel: BinaryIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")


def _read_requests(requests: queue.SimpleQueue[dict[str, Any]]) -> None:
    """Feed stdin lines to ``requests``; exit the process when the parent goes away."""
    for line in sys.stdin.buffer:
        if line.strip():
            requests.put(json.loads(line))
    os._exit(0)


def build_facts() -> dict[str, Any]:
    """llama-cpp-python's version and the CPU features its native library was compiled with."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    return {
        "llama_cpp": getattr(llama_cpp, "__version__", "unknown"),
        "system_info": info.decode(errors="replace") if isinstance(info, bytes) else str(info),
        "pid": os.getpid(),
    }


def _answer(llama: Any, request: dict[str, Any]) -> dict[str, Any]:
    if request.get("op") == "ping":
        return {"ok": True, "response": {}}
    if request.get("op") == "reset":  # forget the KV cache (prompt-prefix reuse)
        llama.reset()
        return {"ok": True, "response": {}}
    try:
        return {"ok": True, "response": llama.create_chat_completion(**request["kwargs"])}
    except ValueError as exc:  # e.g. a prompt longer than the context window
        return {"ok": False, "kind": "bad_request", "message": str(exc)}
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        return {"ok": False, "kind": "error", "message": f"{type(exc).__name__}: {exc}"}


def serve(model: Path, n_ctx: int) -> None:
    """Load ``model`` and answer requests until stdin closes."""
    channel = _protocol_channel()
    requests: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
    threading.Thread(target=_read_requests, args=(requests,), daemon=True).start()
    from agentrxiv.errors import AgentrxivError
    from agentrxiv.llm.local import load_llama

    started = time.perf_counter()
    try:
        llama, _lock = load_llama(model, n_ctx)
    except AgentrxivError as exc:
        _send(channel, {"ready": False, "message": str(exc)})
        return
    facts = build_facts()
    _send(channel, {"ready": True, "load_s": time.perf_counter() - started, **facts})
    while True:
        _send(channel, _answer(llama, requests.get()))


def main(argv: list[str] | None = None) -> None:
    """Command-line entry of the worker (started by ``agentrxiv.llm.worker``)."""
    parser = argparse.ArgumentParser(description="agentrxiv embedded-model worker")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--n-ctx", type=int, default=4096)
    args = parser.parse_args(argv)
    serve(args.model, args.n_ctx)


if __name__ == "__main__":
    main()
