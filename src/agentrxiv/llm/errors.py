"""Model-access errors: each says what went wrong and how to fix it, on one line.

    LLMError
    ├── ProviderError           unknown provider / bad spec / model file missing
    ├── MissingKeyError         the API key env var is unset (names the variable)
    ├── RateLimitError          429 after all retries
    ├── TimeoutError            the endpoint did not answer in time, after all retries
    ├── UnreachableError        connection errors / 5xx after all retries
    ├── BadResponseError        the endpoint refused the request (4xx) or answered nonsense
    ├── StructuredOutputError   no valid structured answer after the allowed retries
    ├── ModelCrashError         the embedded model's worker process died (crash, SIGILL, OOM)
    └── LocalTimeoutError       the embedded model did not answer in time (worker restarted)

Errors raised by a backend carry ``retryable`` (and ``retry_after`` for 429) so the retry
loop in ``agentrxiv.llm.retry`` can decide what to do without knowing the provider.
"""

from __future__ import annotations

from agentrxiv.errors import LLMError

__all__ = [
    "BadResponseError",
    "LLMError",
    "LocalTimeoutError",
    "ModelCrashError",
    "MissingKeyError",
    "ProviderError",
    "RateLimitError",
    "StructuredOutputError",
    "TimeoutError",
    "UnreachableError",
]


class ProviderError(LLMError):
    """The model spec names an unknown provider, or the model cannot be set up."""

    retryable = False


class MissingKeyError(LLMError):
    """The provider needs an API key and its environment variable is unset."""

    retryable = False

    def __init__(self, env_var: str, spec: str) -> None:
        super().__init__(
            f"no API key for {spec}: environment variable {env_var} is not set",
            hint=f"export {env_var}=... or pass --base-url for a local server that needs no key",
        )
        self.env_var = env_var


class RateLimitError(LLMError):
    """The endpoint answered 429 Too Many Requests."""

    retryable = True

    def __init__(self, message: str, hint: str | None = None, retry_after: float | None = None):
        super().__init__(message, hint)
        self.retry_after = retry_after


class TimeoutError(LLMError):  # noqa: A001 - the name the rest of the package expects
    """The endpoint did not answer within the per-call timeout."""

    retryable = True


class UnreachableError(LLMError):
    """The endpoint could not be reached or answered with a server error (5xx)."""

    retryable = True


class BadResponseError(LLMError):
    """The endpoint refused the request (4xx other than 429) or its answer made no sense."""

    retryable = False


class StructuredOutputError(LLMError):
    """The model did not produce output matching the requested schema."""

    retryable = False


class ModelCrashError(LLMError):
    """The embedded model's worker process died: a native crash (SIGSEGV), an illegal
    instruction (SIGILL: a build for another CPU) or an out-of-memory kill. Not retried, and
    fatal to a benchmark run or a lab (the lab checkpoints and stops; ``--resume`` continues);
    the next call starts a fresh worker."""

    retryable = False
    fatal = True

    def __init__(self, message: str, hint: str | None = None, signal: str | None = None):
        super().__init__(message, hint)
        self.signal = signal


class LocalTimeoutError(TimeoutError):
    """The embedded model did not answer within the per-call timeout; its worker process was
    killed and restarts on the next call. Not retried: a slow generation stays slow."""

    retryable = False
