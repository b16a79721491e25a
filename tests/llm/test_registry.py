"""Model specs, providers and their errors: unknown provider, bad spec, missing key."""

from __future__ import annotations

import pytest

from agentrxiv.errors import AgentrxivError
from agentrxiv.llm import get_model, register_provider
from agentrxiv.llm.errors import MissingKeyError, ProviderError
from agentrxiv.llm.registry import providers
from agentrxiv.llm.scripted import ScriptedChatModel


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_unknown_provider_names_it_and_the_known_ones() -> None:
    with pytest.raises(ProviderError) as info:
        get_model("claude/opus")
    message = str(info.value)
    assert "unknown model provider 'claude'" in message
    assert "openai" in message and "local" in message


@pytest.mark.parametrize("spec", ["gpt-4o-mini", "openai/", "/x", ""])
def test_bad_spec_explains_the_format(spec: str) -> None:
    with pytest.raises(ProviderError, match="use provider/model"):
        get_model(spec)


def test_missing_openai_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError) as info:
        get_model("openai/gpt-4o-mini")
    assert info.value.env_var == "OPENAI_API_KEY"
    assert "OPENAI_API_KEY" in str(info.value) and isinstance(info.value, AgentrxivError)


def test_named_key_variable_is_required_even_with_base_url() -> None:
    with pytest.raises(MissingKeyError, match="DEEPSEEK_API_KEY"):
        get_model(
            "openai/deepseek-chat",
            base_url="http://127.0.0.1:9/v1",
            api_key_env="DEEPSEEK_API_KEY",
        )


def test_named_key_variable_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test")
    model = get_model(
        "openai/deepseek-chat", base_url="https://api.deepseek.com", api_key_env="DEEPSEEK_API_KEY"
    )
    assert model.backend._client.api_key == "sk-test"
    assert model.backend.endpoint == "https://api.deepseek.com"


def test_local_server_needs_no_key() -> None:
    model = get_model("openai/qwen", base_url="http://127.0.0.1:9/v1")
    assert model.spec == "openai/qwen"


def test_openai_base_url_env_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    assert get_model("openai/qwen").backend.endpoint == "http://127.0.0.1:9/v1"


def test_local_model_errors_are_clear(tmp_path) -> None:
    with pytest.raises(ProviderError, match="unknown local model 'llama3'"):
        get_model("local/llama3")
    with pytest.raises(ProviderError, match="GGUF file not found"):
        get_model(f"local/{tmp_path}/missing.gguf")


def test_a_new_provider_is_added_without_touching_callers() -> None:
    def factory(model, options):
        return ScriptedChatModel(lambda messages: f"{model} says hi", name=f"acme-{model}")

    register_provider("acme-test", factory)
    assert "acme-test" in providers()
    assert get_model("acme-test/rocket").chat([{"role": "user", "content": "x"}]).text == (
        "rocket says hi"
    )
    with pytest.raises(ProviderError, match="already registered"):
        register_provider("acme-test", factory)
