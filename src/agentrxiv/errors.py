"""The exception family shared by every sub-package.

AgentrxivError(message, hint)        safe to show a user; the CLI prints it on one line
├── ConfigError                      bad settings, flags or files
├── ArchiveError(status)             the preprint server refused a request (4xx)
│   ├── NotFoundError                404
│   ├── AuthError                    401 (ForbiddenError: 403)
│   ├── ConflictError                409
│   └── PayloadTooLargeError         413
├── LLMError                         model access (see agentrxiv.llm.errors)
└── BudgetExceededError              a token, dollar or time budget ran out
"""

from __future__ import annotations


class AgentrxivError(Exception):
    """An error whose message is safe to show to a user, with an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ConfigError(AgentrxivError):
    """Invalid configuration, command-line flags or input files."""


class ArchiveError(AgentrxivError):
    """A request to the archive was refused; ``status`` is the HTTP status to answer."""

    status: int = 400

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        if status is not None:
            self.status = status


class NotFoundError(ArchiveError):
    """The paper, version or object does not exist."""

    status = 404


class AuthError(ArchiveError):
    """Missing or bad credentials (401) or not allowed (403)."""

    status = 401


class ForbiddenError(AuthError):
    """Authenticated, but not allowed to do this."""

    status = 403


class ConflictError(ArchiveError):
    """The request conflicts with the archive's state."""

    status = 409


class PayloadTooLargeError(ArchiveError):
    """The request body is over the configured size limit."""

    status = 413


class LLMError(AgentrxivError):
    """Base of model-access errors; subclasses live in ``agentrxiv.llm.errors``."""


class BudgetExceededError(AgentrxivError):
    """A configured token, dollar or wall-time budget was exceeded."""
