"""Model access: one chat interface over OpenAI-compatible endpoints and the embedded local
model (llama-cpp-python + SmolLM2), with retries, concurrency limits, a response cache, a
token/cost ledger with budgets, and structured (Pydantic) output."""

from agentrxiv.llm.base import ChatModel, ChatResult, Message, Usage
from agentrxiv.llm.ledger import Budget, Ledger
from agentrxiv.llm.registry import get_model, register_provider
from agentrxiv.llm.scripted import ScriptedChatModel, register_script

__all__ = [
    "Budget",
    "ChatModel",
    "ChatResult",
    "Ledger",
    "Message",
    "ScriptedChatModel",
    "Usage",
    "get_model",
    "register_provider",
    "register_script",
]
