"""The OpenAI-compatible backend against a real HTTP server: usage, retries, timeouts,
structured output, concurrency limits, cache, budgets and prices."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import BaseModel

from agentrxiv.errors import BudgetExceededError
from agentrxiv.llm import Budget, Ledger, get_model
from agentrxiv.llm.errors import (
    ProviderError,
    RateLimitError,
    StructuredOutputError,
    TimeoutError,
    UnreachableError,
)
from agentrxiv.llm.managed import ManagedChatModel
from agentrxiv.llm.retry import RetryPolicy

pytestmark = pytest.mark.integration

HELLO = [{"role": "user", "content": "Say hello."}]


def _model(fake, spec: str = "openai/gpt-4o-mini", attempts: int = 4, **kwargs) -> ManagedChatModel:
    """A model on the fake server with short backoff so retry tests stay fast."""
    model = get_model(spec, base_url=fake.url, max_attempts=attempts, **kwargs)
    model.retry = RetryPolicy(max_attempts=attempts, base_delay=0.05, max_delay=5.0)
    return model


class Verdict(BaseModel):
    answer: int
    confident: bool


def test_success_records_usage_cost_and_latency(fake_openai) -> None:
    ledger = Ledger()
    fake_openai.then(content="hello!", prompt_tokens=1000, completion_tokens=500)
    result = _model(fake_openai, ledger=ledger).chat(HELLO, tag="lab/review/critic")
    assert result.text == "hello!"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1000, 500)
    assert result.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)
    assert result.latency_s > 0 and not result.cached
    assert fake_openai.requests[0]["model"] == "gpt-4o-mini"
    totals = ledger.totals("lab/review")
    assert totals.calls == 1 and totals.usage.total_tokens == 1500
    assert ledger.totals("lab/other").calls == 0
    assert ledger.by_model()["openai/gpt-4o-mini"].cost_usd == pytest.approx(result.cost_usd)


def test_sampling_parameters_reach_the_server(fake_openai) -> None:
    _model(fake_openai).chat(HELLO, temperature=0.5, max_tokens=33, top_p=0.9, seed=7, stop=["X"])
    body = fake_openai.requests[0]
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.5, 33, 0.9)
    assert (body["seed"], body["stop"]) == (7, ["X"])


def test_reasoning_models_get_max_completion_tokens(fake_openai) -> None:
    _model(fake_openai, "openai/o3-mini").chat(HELLO, max_tokens=50, seed=3)
    body = fake_openai.requests[0]
    assert body["max_completion_tokens"] == 50 and body["seed"] == 3
    assert "max_tokens" not in body and "temperature" not in body


def test_429_then_success_honours_retry_after(fake_openai) -> None:
    fake_openai.then(status=429, headers={"Retry-After": "1"})
    started = time.monotonic()
    result = _model(fake_openai).chat(HELLO)
    assert result.text == "ok"
    assert fake_openai.count == 2
    assert time.monotonic() - started >= 1.0  # our jittered backoff alone is <= 0.05 s


def test_429_forever_raises_rate_limit_error(fake_openai) -> None:
    fake_openai.default.status = 429
    with pytest.raises(RateLimitError, match="gave up after 2 attempts"):
        _model(fake_openai, attempts=2).chat(HELLO)
    assert fake_openai.count == 2


def test_500_then_success(fake_openai) -> None:
    fake_openai.then(status=500).then(status=503)
    assert _model(fake_openai).chat(HELLO).text == "ok"
    assert fake_openai.count == 3


def test_always_500_gives_up_with_unreachable_error(fake_openai) -> None:
    fake_openai.default.status = 500
    with pytest.raises(UnreachableError) as info:
        _model(fake_openai, attempts=3).chat(HELLO)
    assert fake_openai.count == 3
    assert "gave up after 3 attempts" in str(info.value)
    assert "\n" not in str(info.value)


def test_slow_reply_is_retried_then_times_out(fake_openai) -> None:
    fake_openai.default.delay = 3.0
    model = _model(fake_openai, attempts=2, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not answer in time"):
        model.chat(HELLO)
    assert fake_openai.count == 2
    assert time.monotonic() - started < 2.5  # gave up on the client side, not server side


def test_client_errors_are_not_retried(fake_openai) -> None:
    fake_openai.default.status = 401
    with pytest.raises(ProviderError, match="refused the API key"):
        _model(fake_openai).chat(HELLO)
    assert fake_openai.count == 1


def test_connection_refused_is_unreachable(fake_openai) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = get_model("openai/gpt-4o-mini", base_url=f"http://127.0.0.1:{port}/v1")
    model.retry = RetryPolicy(max_attempts=2, base_delay=0.01)
    with pytest.raises(UnreachableError, match="cannot connect"):
        model.chat(HELLO)


def test_structured_output_feeds_validation_error_back(fake_openai) -> None:
    fake_openai.then(content="sure! the answer is four").then(
        content='```json\n{"answer": 4, "confident": true}\n```'
    )
    ledger = Ledger()
    verdict = _model(fake_openai, ledger=ledger).structured(HELLO, Verdict, tag="lab/x/judge")
    assert verdict == Verdict(answer=4, confident=True)
    first, second = fake_openai.requests
    schema = first["response_format"]["json_schema"]
    assert schema["strict"] is False and "answer" in schema["schema"]["properties"]
    feedback = second["messages"][-1]
    assert feedback["role"] == "user" and "not valid" in feedback["content"]
    assert second["messages"][-2] == {"role": "assistant", "content": "sure! the answer is four"}
    assert ledger.totals("lab/x").calls == 2


def test_structured_output_gives_up_after_retries(fake_openai) -> None:
    fake_openai.default.content = '{"answer": "many"}'
    with pytest.raises(StructuredOutputError, match="no valid Verdict after 2 attempts"):
        _model(fake_openai).structured(HELLO, Verdict, retries=1)
    assert fake_openai.count == 2


def test_endpoint_without_json_schema_support_falls_back(fake_openai) -> None:
    fake_openai.default.reject_response_format = True
    fake_openai.default.content = '{"answer": 2, "confident": false}'
    model = _model(fake_openai)
    assert model.structured(HELLO, Verdict) == Verdict(answer=2, confident=False)
    assert [("response_format" in r) for r in fake_openai.requests] == [True, False]
    model.structured(HELLO, Verdict, temperature=0.3)
    assert "response_format" not in fake_openai.requests[-1]  # remembered


def test_concurrency_limit_per_endpoint_is_respected(fake_openai) -> None:
    fake_openai.default.delay = 0.3
    first = _model(fake_openai, max_concurrency=2, cache=False)
    second = _model(fake_openai, "openai/gpt-4o", cache=False)  # same endpoint, shared limit
    with ThreadPoolExecutor(max_workers=6) as pool:
        jobs = [pool.submit((first if i % 2 else second).chat, HELLO) for i in range(6)]
        for job in jobs:
            job.result()
    assert fake_openai.count == 6
    assert fake_openai.max_in_flight == 2
    _model(fake_openai, max_concurrency=8)  # restore the default for later tests


def test_identical_deterministic_call_is_served_from_cache(fake_openai) -> None:
    ledger = Ledger()
    model = _model(fake_openai, ledger=ledger)
    first = model.chat(HELLO, tag="t")
    second = model.chat(HELLO, tag="t")
    assert fake_openai.count == 1
    assert second.cached and second.text == first.text and second.cost_usd == 0.0
    assert model.cache.stats.hits == 1 and model.cache.stats.misses == 1
    assert ledger.totals().cached_calls == 1
    # A new model object (same spec) shares the on-disk cache.
    assert _model(fake_openai).chat(HELLO).cached
    assert fake_openai.count == 1


def test_cache_skips_sampling_and_can_be_disabled(fake_openai) -> None:
    model = _model(fake_openai)
    model.chat(HELLO, temperature=0.8)
    model.chat(HELLO, temperature=0.8)
    assert fake_openai.count == 2  # random sampling is never cached
    model.chat(HELLO, temperature=0.8, seed=1)
    model.chat(HELLO, temperature=0.8, seed=1)
    assert fake_openai.count == 3  # an explicit seed is deterministic
    uncached = _model(fake_openai, cache=False)
    uncached.chat(HELLO)
    uncached.chat(HELLO)
    assert fake_openai.count == 5


def test_token_budget_stops_the_run(fake_openai) -> None:
    ledger = Ledger(budget=Budget(max_tokens=30))
    model = _model(fake_openai, ledger=ledger, cache=False)
    model.chat(HELLO)  # 18 tokens
    model.chat(HELLO)  # 36 tokens: the check happens before each call
    with pytest.raises(BudgetExceededError, match="token budget exhausted: 36 of 30"):
        model.chat(HELLO)
    assert fake_openai.count == 2


def test_dollar_budget_stops_the_run(fake_openai) -> None:
    fake_openai.default.prompt_tokens = 1_000_000  # $2.50 per call on gpt-4o
    ledger = Ledger(budget=Budget(max_usd=4.0))
    model = _model(fake_openai, "openai/gpt-4o", ledger=ledger, cache=False)
    model.chat(HELLO)
    model.chat(HELLO)
    with pytest.raises(BudgetExceededError, match="dollar budget"):
        model.chat(HELLO)


def test_unknown_price_is_reported_unknown(fake_openai) -> None:
    ledger = Ledger(budget=Budget(max_usd=1.0))
    result = _model(fake_openai, "openai/my-finetune", ledger=ledger).chat(HELLO)
    assert result.cost_usd is None
    totals = ledger.totals()
    assert totals.unknown_cost_calls == 1 and not totals.cost_known
    assert "unknown" in totals.cost_text()
    summary = ledger.summary()
    assert "openai/my-finetune" in summary and "warning: dollar budget" in summary


def test_price_file_override_prices_a_custom_model(fake_openai, tmp_path, monkeypatch) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("my-finetune: {input: 1.0, output: 2.0}\n")
    monkeypatch.setenv("AGENTRXIV_PRICES", str(prices))
    result = _model(fake_openai, "openai/my-finetune").chat(HELLO)
    assert result.cost_usd == pytest.approx((11 * 1.0 + 7 * 2.0) / 1e6)


@pytest.mark.parametrize(
    "raw",
    [{"choices": []}, {"unexpected": True}, ["not", "an", "object"]],
    ids=["no-choices", "no-choices-key", "not-an-object"],
)
def test_malformed_reply_is_a_clear_bad_response_error(fake_openai, raw) -> None:
    from agentrxiv.llm.errors import BadResponseError

    fake_openai.then(raw=raw)
    with pytest.raises(BadResponseError):
        _model(fake_openai, attempts=1, cache=False).chat(HELLO)


def test_models_on_one_endpoint_share_one_connection_pool(fake_openai) -> None:
    first = _model(fake_openai, cache=False)
    second = _model(fake_openai, cache=False)
    assert first.chat(HELLO).text == second.chat(HELLO).text == "ok"
    assert first.backend._client is second.backend._client
