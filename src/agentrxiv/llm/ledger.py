"""The ledger: a thread-safe record of every model call, its totals, and budgets.

Each call records its tag (the caller, ``lab/phase/agent``), model, tokens, cost, latency and
whether it was served from the cache. Totals group by tag prefix or model. A ``Budget`` is
checked before every call and raises ``BudgetExceededError`` once a limit is reached. Costs
of models without a known price stay unknown (``None``), never zero: totals count them
separately and a dollar budget warns that it cannot see them.

With ``path`` set, records are appended to a JSON-lines file as they happen (and read back
when the ledger is created), so a lab can show totals across runs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentrxiv.errors import BudgetExceededError, ConfigError
from agentrxiv.llm.base import Usage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallRecord:
    """One model call as the ledger saw it."""

    tag: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    cached: bool
    at: float = field(default_factory=time.time)


@dataclass
class Totals:
    """Sums over a set of calls. ``usage`` and ``cost_usd`` cover calls that reached a model
    (cache hits are free); ``unknown_cost_calls`` counts calls whose price is unknown."""

    calls: int = 0
    cached_calls: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    unknown_cost_calls: int = 0
    latency_s: float = 0.0

    def add(self, record: CallRecord) -> None:
        """Fold one record into the sums."""
        self.calls += 1
        self.latency_s += record.latency_s
        if record.cached:
            self.cached_calls += 1
            return
        self.usage = self.usage + Usage(record.prompt_tokens, record.completion_tokens)
        if record.cost_usd is None:
            self.unknown_cost_calls += 1
        else:
            self.cost_usd += record.cost_usd

    @property
    def cost_known(self) -> bool:
        """Whether every billed call had a known price."""
        return self.unknown_cost_calls == 0

    def cost_text(self) -> str:
        """The cost for people: ``$0.0123``, or with ``+ unknown`` when some prices are."""
        text = f"${self.cost_usd:.4f}"
        if self.unknown_cost_calls:
            text += f" + unknown ({self.unknown_cost_calls} calls without a price)"
        return text


@dataclass(frozen=True)
class Budget:
    """Limits checked before each call; ``None`` means no limit."""

    max_tokens: int | None = None
    max_usd: float | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_tokens", "max_usd", "max_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"budget {name} must be >= 0, got {value}")


class Ledger:
    """Thread-safe call records with totals, an optional budget and optional persistence."""

    def __init__(self, budget: Budget | None = None, path: str | Path | None = None) -> None:
        self.budget = budget or Budget()
        self.path = Path(path) if path else None
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        self._warned_unknown = False
        if self.path and self.path.exists():
            self._records.extend(self._read(self.path))

    @staticmethod
    def _read(path: Path) -> list[CallRecord]:
        records = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(CallRecord(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"ledger file {path} line {number} is not a call record") from exc
        return records

    @property
    def records(self) -> list[CallRecord]:
        """A snapshot of all records."""
        with self._lock:
            return list(self._records)

    def elapsed_s(self) -> float:
        """Wall seconds since this ledger was created."""
        return time.monotonic() - self.started

    def record(self, record: CallRecord) -> None:
        """Add one call (and append it to the file when persisted)."""
        with self._lock:
            self._records.append(record)
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(asdict(record)) + "\n")

    def totals(self, prefix: str | None = None) -> Totals:
        """Sums over calls whose tag equals ``prefix`` or starts with ``prefix/``."""
        totals = Totals()
        for record in self.records:
            if prefix is None or _under(record.tag, prefix):
                totals.add(record)
        return totals

    def by_model(self) -> dict[str, Totals]:
        """Totals per model."""
        groups: dict[str, Totals] = {}
        for record in self.records:
            groups.setdefault(record.model, Totals()).add(record)
        return groups

    def by_tag(self, depth: int = 1) -> dict[str, Totals]:
        """Totals per tag prefix of ``depth`` parts (``lab/phase`` for depth 2)."""
        groups: dict[str, Totals] = {}
        for record in self.records:
            key = "/".join(record.tag.split("/")[:depth])
            groups.setdefault(key, Totals()).add(record)
        return groups

    def check_budget(self) -> None:
        """Raise ``BudgetExceededError`` if any limit is already reached."""
        budget = self.budget
        if budget.max_tokens is None and budget.max_usd is None and budget.max_seconds is None:
            return
        totals = self.totals()
        used = totals.usage.total_tokens
        if budget.max_tokens is not None and used >= budget.max_tokens:
            raise BudgetExceededError(
                f"token budget exhausted: {used} of {budget.max_tokens} tokens used",
                hint="raise the token budget or shorten the run",
            )
        if budget.max_usd is not None:
            if totals.cost_usd >= budget.max_usd:
                raise BudgetExceededError(
                    f"dollar budget exhausted: ${totals.cost_usd:.4f} of ${budget.max_usd:.4f}",
                    hint="raise the dollar budget or use a cheaper model",
                )
            if totals.unknown_cost_calls and not self._warned_unknown:
                self._warned_unknown = True
                logger.warning(
                    "dollar budget set but %d calls have no known price; they are not counted",
                    totals.unknown_cost_calls,
                )
        elapsed = self.elapsed_s()
        if budget.max_seconds is not None and elapsed >= budget.max_seconds:
            raise BudgetExceededError(
                f"time budget exhausted: {elapsed:.1f}s of {budget.max_seconds:.1f}s",
                hint="raise the time budget",
            )

    def summary(self) -> str:
        """A short plain-text table of totals per model and overall, with budget warnings."""
        lines = [f"{'model':<32} {'calls':>6} {'cached':>6} {'tokens':>9}  cost"]
        for model, sums in sorted(self.by_model().items()):
            lines.append(
                f"{model:<32} {sums.calls:>6} {sums.cached_calls:>6} "
                f"{sums.usage.total_tokens:>9}  {sums.cost_text()}"
            )
        total = self.totals()
        lines.append(
            f"{'total':<32} {total.calls:>6} {total.cached_calls:>6} "
            f"{total.usage.total_tokens:>9}  {total.cost_text()}"
        )
        if self.budget.max_usd is not None and total.unknown_cost_calls:
            lines.append(
                f"warning: dollar budget ${self.budget.max_usd} cannot see "
                f"{total.unknown_cost_calls} calls with unknown prices"
            )
        return "\n".join(lines)


def _under(tag: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return tag == prefix or tag.startswith(prefix + "/")


_default_ledger = Ledger()


def default_ledger() -> Ledger:
    """The process-wide ledger used when ``get_model`` is given none."""
    return _default_ledger
