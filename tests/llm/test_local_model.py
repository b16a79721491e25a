"""The embedded SmolLM2 model through llama-cpp-python: real tokens, seeds, grammar-constrained
structured output, the cache and the ledger."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from agentrxiv.llm import Ledger, get_model
from agentrxiv.llm.local import smollm2_path

pytestmark = pytest.mark.model

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


class Planet(BaseModel):
    name: str = Field(max_length=40)
    kind: Literal["rocky", "gas giant", "ice giant"]
    moons: int


def test_smollm2_ships_in_the_installed_package() -> None:
    path = smollm2_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_real_tokens_usage_and_zero_cost() -> None:
    ledger = Ledger()
    model = get_model("local/smollm2", ledger=ledger, cache=False)
    result = model.chat(QUESTION, max_tokens=24, tag="test/local")
    assert result.text.strip()
    assert 0 < result.usage.completion_tokens <= 24
    assert result.usage.prompt_tokens > 10  # the chat template wraps the question
    assert result.cost_usd == 0.0 and result.latency_s > 0
    assert ledger.totals("test").cost_known and ledger.totals("test").usage == result.usage


def test_greedy_decoding_is_repeatable_and_seed_is_honoured() -> None:
    model = get_model("local/smollm2", cache=False)
    story = [{"role": "user", "content": "Write one sentence about a cat."}]
    greedy = [model.chat(story, max_tokens=12).text for _ in range(2)]
    assert greedy[0] == greedy[1]
    seeded = [model.chat(story, max_tokens=12, temperature=1.5, seed=s).text for s in (11, 11, 12)]
    assert seeded[0] == seeded[1]
    assert seeded[2] != seeded[0]  # a different seed samples differently


def test_stop_sequences_and_max_tokens() -> None:
    model = get_model("local/smollm2", cache=False)
    counting = [{"role": "user", "content": "Count from 1 to 20 separated by commas."}]
    result = model.chat(counting, max_tokens=60, stop=["5"])
    assert "5" not in result.text
    assert model.chat(counting, max_tokens=3).usage.completion_tokens <= 3


def test_structured_output_is_grammar_constrained() -> None:
    ledger = Ledger()
    model = get_model("local/smollm2", ledger=ledger, cache=False)
    messages = [{"role": "user", "content": "Describe the planet Jupiter."}]
    planet = model.structured(messages, Planet, retries=0, max_tokens=80, tag="test/json")
    assert isinstance(planet, Planet)
    assert planet.kind in ("rocky", "gas giant", "ice giant")
    assert ledger.totals("test/json").calls == 1  # valid on the first try


def test_second_identical_call_is_cached() -> None:
    model = get_model("local/smollm2")
    first = model.chat(QUESTION, max_tokens=12)
    second = model.chat(QUESTION, max_tokens=12)
    assert not first.cached and second.cached and second.text == first.text
    assert model.cache.stats.hits == 1


class LongNote(BaseModel):
    paper_id: str = Field(pattern=r"^\d{4}\.\d{5}$")
    note: str = Field(max_length=2000)


def test_grammar_hostile_schema_keys_are_left_out_of_the_grammar() -> None:
    # maxLength 2000 and regex classes once made llama.cpp refuse the grammar or segfault.
    model = get_model("local/smollm2", cache=False)
    messages = [{"role": "user", "content": "Give paper id 2611.00001 and a short note."}]
    result = model.chat(
        messages, max_tokens=40, json_schema=LongNote.model_json_schema(), tag="test/hostile"
    )
    assert result.text.lstrip().startswith("{")


def test_grammar_safe_schema_strips_only_hostile_keys() -> None:
    from agentrxiv.llm.local import grammar_safe_schema

    schema = LongNote.model_json_schema()
    safe = grammar_safe_schema(schema)
    assert "maxLength" not in str(safe) and "pattern" not in str(safe)
    assert safe["required"] == schema["required"]
    assert set(safe["properties"]) == {"paper_id", "note"}


def test_prompt_evaluation_uses_the_generation_threads(monkeypatch) -> None:
    """llama-cpp-python takes every core for prompt evaluation unless told otherwise; two labs'
    model workers then spin against each other (5x slower, benchmarks/threads_bench.py)."""
    from agentrxiv.llm import local

    monkeypatch.setenv(local.THREADS_ENV, "1")
    monkeypatch.setattr(local, "_instances", {})
    llama, _ = local.load_llama(smollm2_path(), n_ctx=512)
    assert llama.n_threads == 1 and llama.n_threads_batch == 1
