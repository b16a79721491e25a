"""Measure where the relevance floor of semantic/hybrid search should sit.

Builds the 30-paper test corpus (``tests/archive/data/search_corpus.json``) in a temporary
SQLite archive, then prints, for on-topic queries (each with the paper it should find) and
off-topic queries (nothing in the corpus is about them), the best cosine similarity and the
cosine of the expected paper. A good floor lies above every off-topic best and below every
expected paper's cosine. Runs in well under a minute on 2 cores (the embedding model loads once).

    python benchmarks/search_floor.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from agentrxiv.archive import repository  # noqa: E402
from agentrxiv.archive.auth import Principal, get_or_create_lab  # noqa: E402
from agentrxiv.archive.db import Database, migrate  # noqa: E402
from agentrxiv.archive.schemas import PaperCreate  # noqa: E402
from agentrxiv.archive.search import search  # noqa: E402
from agentrxiv.config import Settings  # noqa: E402

CORPUS = json.loads((REPO / "tests/archive/data/search_corpus.json").read_text())
ON_TOPIC = [
    ("generate multiple answers and choose the one most of them agree on", "selfcons"),
    ("how do amino acid chains fold into 3D shapes", "folding_md"),
    ("machine learning over graph structured data", "gcn"),
    ("step by step reasoning prompts for math word problems", "cot"),
    ("self-consistency majority voting", "selfcons"),
    ("averaging divergent drafts", "sda"),
    ("language model agents that reflect on their mistakes", "reflexion"),
    ("reward models that check each reasoning step", "prm"),
    ("fine-tuning large models with few trainable parameters", "lora"),
]
OFF_TOPIC = [
    "quantum chromodynamics lattice QCD",
    "medieval French poetry and troubadours",
    "sourdough bread fermentation temperature",
    "supernova nucleosynthesis of heavy elements",
    "tax law for small businesses in Germany",
    "knitting patterns for wool sweaters",
]


def build(url: str) -> tuple[Database, dict[str, str]]:
    """The corpus published into a fresh archive at ``url``; (database, key -> paper id)."""
    migrate(url)
    db = Database(url)
    ids = {}
    with db.write() as session:
        labs = {e["lab"]: get_or_create_lab(session, e["lab"]).id for e in CORPUS if e.get("lab")}
    for entry in CORPUS:
        principal = Principal(lab_id=labs[entry["lab"]], lab_name=entry["lab"], is_admin=False)
        paper = PaperCreate(
            title=entry["title"],
            abstract=entry["abstract"],
            body=entry["body"],
            categories=entry["categories"],
            results=entry["results"],
        )
        ids[entry["key"]] = repository.create_paper(db, principal, paper).id
    return db, ids


def main() -> None:
    """Print the cosines and the floor they suggest."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("AGENTRXIV_HOME", tmp)
        db, ids = build(f"sqlite:///{tmp}/floor.sqlite")
        key_of = {v: k for k, v in ids.items()}
        lowest_expected, highest_off = 1.0, -1.0
        with db.read() as session:
            print("on-topic query                                     expected    its cos  best")
            for query, expected in ON_TOPIC:
                hits = search(session, query, "semantic", k=30).items
                cos = next(h.score for h in hits if key_of[h.id] == expected)
                lowest_expected = min(lowest_expected, cos)
                print(f"{query[:50]:50s} {expected:10s} {cos:8.3f} {hits[0].score:6.3f}")
            print("\noff-topic query                                    best cos (paper)")
            for query in OFF_TOPIC:
                best = search(session, query, "semantic", k=1).items[0]
                highest_off = max(highest_off, best.score or 0.0)
                print(f"{query[:50]:50s} {best.score:6.3f} ({key_of[best.id]})")
        db.dispose()
    print(f"\nlowest cosine of an expected paper: {lowest_expected:.3f}")
    print(f"highest cosine of an off-topic best: {highest_off:.3f}")
    print(f"default floor (AGENTRXIV_SEARCH_MIN_SCORE): {Settings().search_min_score}")


if __name__ == "__main__":
    main()
