"""The typed HTTP client of an AgentRxiv server, used by the lab, verification, campaigns and
the command line. It speaks the server's JSON API with the archive's shared Pydantic schemas,
retries transient failures, and turns refusals into ``ArchiveError`` subclasses."""

from agentrxiv.client.archive_client import ArchiveClient, error_from_response
from agentrxiv.client.serving import wait_until_serving
from agentrxiv.errors import (
    ArchiveError,
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
)

__all__ = [
    "ArchiveClient",
    "ArchiveError",
    "AuthError",
    "ConflictError",
    "ForbiddenError",
    "NotFoundError",
    "PayloadTooLargeError",
    "error_from_response",
    "wait_until_serving",
]
