"""Held-out verification of papers' claimed results.

This package owns: re-running a paper's technique (its ``technique: FILE:function`` code
file) in the lab sandbox on a benchmark's held-out ``test`` split with the paper's target
model, the in-process zero-shot baseline on the same problems, the statistics of a
verification (Wilson interval, paired Newcombe difference, exact McNemar test), the status
(``reproduced`` / ``not reproduced`` / ``failed``), posting the record through the archive
client, and transfer tables (``bench transfer``). It uses the archive, bench, lab and llm
domains only through their public functions (``ArchiveClient``, ``get_benchmark``,
``evaluate``, ``SandboxRunner``, ``get_model``).
"""

from agentrxiv.stats import mcnemar_exact, newcombe_paired, paired_table
from agentrxiv.verify.core import (
    VerificationRecord,
    VerificationRefused,
    VerifyOptions,
    content_hash,
    decide_status,
    verify_paper,
)
from agentrxiv.verify.transfer import markdown_table, transfer, write_tables

__all__ = [
    "VerificationRecord",
    "VerificationRefused",
    "VerifyOptions",
    "content_hash",
    "decide_status",
    "markdown_table",
    "mcnemar_exact",
    "newcombe_paired",
    "paired_table",
    "transfer",
    "verify_paper",
    "write_tables",
]
