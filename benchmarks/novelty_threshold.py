"""Choose the near-duplicate threshold by measuring it: MiniLM cosines of the server's
method texts (title, abstract, method section) for near-copies of the 30 papers of
``tests/archive/data/search_corpus.json`` (three kinds of copy each) against every pair of
distinct papers in it (435 pairs, several of them on the same topic: chain of thought vs
zero-shot reasoning, self-consistency vs divergence averaging, verifiers vs process rewards).

Run: ``python benchmarks/novelty_threshold.py`` (about 30 s; prints the distributions and the
gap the default ``AGENTRXIV_NOVELTY_THRESHOLD`` sits in)."""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path

import numpy as np

from agentrxiv.archive.novelty import method_text
from agentrxiv.archive.search.embedder import get_embedder
from agentrxiv.config import get_settings

CORPUS = Path(__file__).resolve().parents[1] / "tests/archive/data/search_corpus.json"


def _body(entry: dict) -> str:
    return f"## Methods\n\n{entry['body']}"


def reworded(entry: dict) -> str:
    """New title prefix, abstract sentences rotated, one verb changed."""
    sentences = re.split(r"(?<=\.) ", entry["abstract"])
    abstract = " ".join(sentences[1:] + sentences[:1]).replace(" improves ", " boosts ")
    return method_text(f"Revisiting {entry['title']}", abstract, _body(entry))


def retitled(entry: dict) -> str:
    """A different title over the same abstract and method."""
    words = entry["abstract"].split()[:5]
    return method_text(f"A study of {' '.join(words)}", entry["abstract"], _body(entry))


def extended(entry: dict) -> str:
    """The same paper with a sentence added to the abstract and the method."""
    extra = " We also report results on a second benchmark and release our code."
    body = _body(entry) + " Hyper-parameters follow the original work."
    return method_text(entry["title"], entry["abstract"] + extra, body)


def percentiles(values: np.ndarray) -> str:
    """min / p5 / median / p95 / max of ``values``."""
    points = np.percentile(values, [0, 5, 50, 95, 100])
    return " / ".join(f"{p:.3f}" for p in points)


def main() -> None:
    """Embed originals, copies and print the two distributions and the chosen threshold."""
    corpus = json.loads(CORPUS.read_text())
    embed = get_embedder().encode
    originals = embed([method_text(e["title"], e["abstract"], _body(e)) for e in corpus])
    copies = {}
    for name, make in (("reworded", reworded), ("retitled", retitled), ("extended", extended)):
        vectors = embed([make(e) for e in corpus])
        copies[name] = np.einsum("ij,ij->i", originals, vectors)
    distinct = np.array(
        [
            float(originals[i] @ originals[j])
            for i, j in itertools.combinations(range(len(corpus)), 2)
        ]
    )
    top = sorted(
        (
            (float(originals[i] @ originals[j]), corpus[i]["key"], corpus[j]["key"])
            for i, j in itertools.combinations(range(len(corpus)), 2)
        ),
        reverse=True,
    )[:3]
    threshold = get_settings().novelty_threshold
    print(f"load average {os.getloadavg()[0]:.2f}; threshold setting {threshold}")
    print("cosine (min / p5 / median / p95 / max)")
    for name, values in copies.items():
        print(f"  near-copies {name:9s} n={len(values):3d}: {percentiles(values)}")
    all_copies = np.concatenate(list(copies.values()))
    print(f"  distinct pairs         n={len(distinct):3d}: {percentiles(distinct)}")
    print(f"  closest distinct pairs: {top}")
    for candidate in (0.75, 0.8, 0.85, 0.9, 0.93):
        rates = ", ".join(f"{n} {np.mean(v >= candidate):.0%}" for n, v in copies.items())
        print(
            f"  threshold {candidate:.2f}: copies caught {np.mean(all_copies >= candidate):.1%} "
            f"({rates}); distinct flagged {np.mean(distinct >= candidate):.1%}"
        )
    caught = float(np.mean(all_copies >= threshold))
    false = float(np.mean(distinct >= threshold))
    print(f"gap: highest distinct {distinct.max():.3f} < lowest copy {all_copies.min():.3f}")
    print(f"at {threshold}: near-copies caught {caught:.1%}, distinct pairs flagged {false:.1%}")


if __name__ == "__main__":
    main()
