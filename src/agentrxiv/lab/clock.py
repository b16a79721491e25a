"""Wall time per phase that survives ``kill -9``.

The running phase's seconds are added to the state at every checkpoint; between
checkpoints a background thread writes the not yet checkpointed seconds to ``clock.json``
every few seconds, tagged with the state's ``clock_seq``. On resume, pending seconds whose
``clock_seq`` matches the loaded state are added to that phase (a later checkpoint bumps
the sequence, so nothing is counted twice). A kill loses at most ``interval`` seconds."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from agentrxiv.files import atomic_write_text
from agentrxiv.lab.checkpoint import LabState

CLOCK_FILE = "clock.json"
INTERVAL_S = 2.0


class PhaseClock:
    """Counts the seconds of the phase now running into the lab state."""

    def __init__(self, lab_dir: Path, interval: float = INTERVAL_S) -> None:
        self.path = lab_dir / CLOCK_FILE
        self.interval = interval
        self.phase: str | None = None
        self.mark = time.monotonic()
        self.seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, phase: str, state: LabState) -> None:
        """Begin counting ``phase`` (and start the background writer once)."""
        self.phase, self.mark, self.seq = phase, time.monotonic(), state.clock_seq
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="phase-clock", daemon=True)
            self._thread.start()

    def account(self, state: LabState) -> None:
        """Add the seconds since the last mark to the phase and the lab's total."""
        if self.phase is None:
            return
        now = time.monotonic()
        spent, self.mark = now - self.mark, now
        state.summary(self.phase).seconds += spent
        state.elapsed_s += spent
        self.seq = state.clock_seq + 1  # the checkpoint about to be written

    def stop(self, state: LabState) -> None:
        """Stop counting (the caller checkpoints right after)."""
        self.account(state)
        self.phase = None

    def close(self) -> None:
        """Stop the background writer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            phase = self.phase
            if phase is None:
                continue
            pending = {"seq": self.seq, "phase": phase, "seconds": time.monotonic() - self.mark}
            try:
                atomic_write_text(self.path, json.dumps(pending))
            except OSError:  # a full disk must not stop the lab
                continue


def recover(lab_dir: Path, state: LabState) -> float:
    """Add the seconds a killed run counted after its last checkpoint; returns them."""
    path = lab_dir / CLOCK_FILE
    if not path.exists():
        return 0.0
    try:
        pending = json.loads(path.read_text(encoding="utf-8"))
        seq, phase, seconds = int(pending["seq"]), str(pending["phase"]), float(pending["seconds"])
    except (ValueError, KeyError, TypeError):
        return 0.0
    path.unlink(missing_ok=True)
    if seq != state.clock_seq or seconds <= 0:
        return 0.0
    state.summary(phase).seconds += seconds
    state.elapsed_s += seconds
    return seconds
