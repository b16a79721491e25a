"""Ledger totals, persistence and budgets; the SQLite cache; prices; the scripted model."""

from __future__ import annotations

import threading
import time

import pytest

from agentrxiv.errors import BudgetExceededError, ConfigError, LLMError
from agentrxiv.llm import Budget, Ledger, get_model, register_script
from agentrxiv.llm.base import ChatResult, Usage, make_request
from agentrxiv.llm.cache import ResponseCache, cache_key
from agentrxiv.llm.errors import UnreachableError
from agentrxiv.llm.ledger import CallRecord
from agentrxiv.llm.prices import cost_usd, lookup_price
from agentrxiv.llm.retry import RetryPolicy
from agentrxiv.llm.scripted import ScriptedChatModel, unregister_script

HI = [{"role": "user", "content": "one two three"}]


def _record(tag: str, tokens: int = 10, cost: float | None = 0.01, cached: bool = False):
    return CallRecord(tag, "m", tokens, 0, cost, 0.1, cached)


def test_totals_group_by_tag_prefix_and_model() -> None:
    ledger = Ledger()
    for tag in ("lab/plan/phd", "lab/plan/postdoc", "lab/write/phd", "bench/math500"):
        ledger.record(_record(tag))
    assert ledger.totals("lab").calls == 3
    assert ledger.totals("lab/plan").calls == 2
    assert ledger.totals("lab/pla").calls == 0  # prefixes match whole parts only
    assert ledger.by_tag(depth=2)["lab/plan"].usage.total_tokens == 20
    assert ledger.totals().cost_usd == pytest.approx(0.04)


def test_cached_calls_cost_nothing_and_unknown_cost_stays_unknown() -> None:
    ledger = Ledger()
    ledger.record(_record("a", cached=True))
    ledger.record(_record("a", cost=None))
    totals = ledger.totals()
    assert (totals.calls, totals.cached_calls, totals.unknown_cost_calls) == (2, 1, 1)
    assert totals.usage.total_tokens == 10 and totals.cost_usd == 0.0
    assert "unknown (1 calls without a price)" in totals.cost_text()


def test_concurrent_records_are_all_kept_and_persisted(tmp_path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path=path)

    def write() -> None:
        for _ in range(200):
            ledger.record(_record("lab/x"))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.totals().calls == 800
    reloaded = Ledger(path=path)
    assert reloaded.totals("lab/x").calls == 800
    assert reloaded.records[0] == ledger.records[0]


def test_corrupt_ledger_file_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text("{not json\n")
    with pytest.raises(ConfigError, match="line 1"):
        Ledger(path=path)


def test_time_budget_and_negative_budget() -> None:
    ledger = Ledger(budget=Budget(max_seconds=0.05))
    model = get_model("scripted/echo", ledger=ledger)
    model.chat(HI)
    time.sleep(0.06)
    with pytest.raises(BudgetExceededError, match="time budget exhausted"):
        model.chat(HI)
    with pytest.raises(ConfigError):
        Budget(max_tokens=-1)


def test_cache_round_trip_and_key_sensitivity(tmp_path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    request = make_request(HI)
    key = cache_key("openai/x", "http://e", request)
    assert cache.get(key) is None
    cache.put(key, "openai/x", ChatResult("hi", "x", Usage(3, 1), cost_usd=0.5))
    hit = ResponseCache(tmp_path / "c.sqlite").get(key)  # survives a new connection
    assert hit is not None and hit.cached and hit.cost_usd == 0.0 and hit.usage == Usage(3, 1)
    assert cache_key("openai/x", "http://e", make_request(HI, max_tokens=5)) != key
    assert cache_key("openai/x", "http://e", make_request(HI, json_schema={"a": 1})) != key
    assert cache_key("openai/y", "http://e", request) != key
    assert cache_key("openai/x", "http://e", make_request(HI, tag="other")) == key
    assert (cache.stats.hits, cache.stats.misses) == (0, 1)


def test_price_lookup() -> None:
    assert lookup_price("gpt-4o-mini-2024-07-18") == lookup_price("gpt-4o-mini")
    assert lookup_price("gpt-4o-2024-08-06") == lookup_price("gpt-4o")
    assert lookup_price("openai/o3-mini") is not None
    assert lookup_price("totally-unknown") is None
    assert cost_usd("totally-unknown", 10, 10) is None
    assert cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.50)


def test_bad_price_file_is_a_config_error(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "prices.yaml"
    bad.write_text("gpt-x: {input: cheap}\n")
    monkeypatch.setenv("AGENTRXIV_PRICES", str(bad))
    with pytest.raises(ConfigError, match="gpt-x"):
        lookup_price("gpt-x")


def test_scripted_model_replies_in_order_and_records_calls() -> None:
    script = register_script("unit", ["first", "second"])
    ledger = Ledger()
    model = get_model("scripted/unit", ledger=ledger)
    assert model.chat(HI, tag="lab/a").text == "first"
    assert model.chat(HI, tag="lab/b").text == "second"
    assert [c.tag for c in script.calls] == ["lab/a", "lab/b"]
    assert ledger.totals("lab").usage == Usage(6, 2)
    assert ledger.totals().cost_usd == 0.0 and ledger.totals().cost_known
    with pytest.raises(LLMError, match="no scripted reply left"):
        model.chat(HI)
    unregister_script("unit")


def test_scripted_errors_go_through_retries() -> None:
    backend = ScriptedChatModel([UnreachableError("down"), "recovered"])
    from agentrxiv.llm.managed import ManagedChatModel

    model = ManagedChatModel(backend, ledger=Ledger(), retry=RetryPolicy(base_delay=0.01))
    assert model.chat(HI).text == "recovered"
    assert len(backend.calls) == 2


def test_scripted_function_sees_the_messages() -> None:
    model = get_model("scripted/echo")
    assert model.chat([{"role": "user", "content": "repeat me"}]).text == "repeat me"
    with pytest.raises(LLMError, match="no scripted model named 'nope'"):
        get_model("scripted/nope")


def test_bad_messages_are_rejected_before_any_call() -> None:
    model = get_model("scripted/echo")
    with pytest.raises(LLMError, match="at least one message"):
        model.chat([])
    with pytest.raises(LLMError, match="bad message role"):
        model.chat([{"role": "tool", "content": "x"}])
