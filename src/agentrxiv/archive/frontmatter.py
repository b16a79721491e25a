"""YAML front matter of a Markdown paper (``agentrxiv submit``), read so that what a person
writes is what gets published.

YAML guesses types: an unquoted ``2612.00010`` is the float ``2612.0001`` and ``parents:
2612.00001`` is a number, not a list. The fields holding identifiers and names (``parents``,
``authors``) are therefore read from the YAML *text* of their scalars, never from YAML's
guess; every other field is read by the ordinary safe loader.

Accepted shapes (anything else is refused with one clear message):

- ``parents``: one paper id, a comma- or space-separated string of ids, or a list of ids.
- ``authors``: one name, a comma-separated string of names (``Alice, Bob`` is two authors),
  one mapping ``{name, lab, models}``, or a list of names and/or such mappings. ``models``
  may be one model name or a list.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from agentrxiv.errors import ConfigError

FENCE = "---"
# Fields whose scalars keep their literal text instead of YAML's type guess.
LITERAL_FIELDS = frozenset({"parents", "authors"})
NULL_TAG = "tag:yaml.org,2002:null"
AUTHOR_KEYS = frozenset({"name", "lab", "models"})
PARENTS_SHAPE = "a paper id, a comma-separated string of ids, or a list of ids"
AUTHORS_SHAPE = (
    "a name, a comma-separated string of names, a mapping {name, lab, models}, "
    "or a list of names and/or such mappings"
)


def split_front_matter(text: str, source: str) -> tuple[str, str]:
    """``---\\nYAML\\n---\\nbody`` -> (YAML text, body)."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        raise ConfigError(f"{source}: no YAML front matter (the file must start with '---')")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == FENCE:
            return "".join(lines[1:index]), "".join(lines[index + 1 :]).strip("\n")
    raise ConfigError(f"{source}: front matter is not closed by a '---' line")


def _literal(node: Node) -> Any:
    """A node with every scalar kept as its YAML text (None for a YAML null)."""
    if isinstance(node, ScalarNode):
        return None if node.tag == NULL_TAG else str(node.value)
    if isinstance(node, SequenceNode):
        return [_literal(item) for item in node.value]
    if isinstance(node, MappingNode):
        return {str(_literal(key)): _literal(value) for key, value in node.value}
    return None


def _construct(node: Node) -> Any:
    """A node as the safe loader reads it."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_yaml(header: str, source: str) -> dict[str, Any]:
    """The front matter mapping, identifiers and names kept as written."""
    try:
        root = yaml.compose(header, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        message = f"{source}: front matter is not valid YAML: {exc}".replace("\n", " ")
        raise ConfigError(message) from exc
    if root is None:
        return {}
    if not isinstance(root, MappingNode):
        raise ConfigError(f"{source}: front matter must be a mapping of fields")
    meta: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = str(_literal(key_node))
        meta[key] = _literal(value_node) if key in LITERAL_FIELDS else _construct(value_node)
    return meta


def normalise_parents(value: Any, source: str) -> list[str]:
    """``parents`` as a list of id strings (see the module docstring for accepted shapes)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in re.split(r"[,\s]+", value) if p]
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return [p.strip() for p in value if p.strip()]
    if isinstance(value, list) and all(isinstance(p, str | None) for p in value):
        raise ConfigError(f"{source}: front matter: parents: an empty entry in the list")
    raise ConfigError(f"{source}: front matter: parents must be {PARENTS_SHAPE}")


def _author(item: Any, source: str) -> dict[str, Any]:
    if isinstance(item, str) and item.strip():
        return {"name": item.strip()}
    if isinstance(item, dict) and set(item) <= AUTHOR_KEYS and item.get("name"):
        author = dict(item)
        models = author.get("models")
        if models is None:
            author.pop("models", None)
        elif isinstance(models, str):
            author["models"] = [models]
        if author.get("lab") is None:
            author.pop("lab", None)
        return author
    raise ConfigError(f"{source}: front matter: authors must be {AUTHORS_SHAPE}")


def normalise_authors(value: Any, source: str) -> list[dict[str, Any]]:
    """``authors`` as a list of ``{name, lab, models}`` (see the module docstring)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"name": name.strip()} for name in value.split(",") if name.strip()]
    if isinstance(value, dict):
        return [_author(value, source)]
    if isinstance(value, list):
        return [_author(item, source) for item in value]
    raise ConfigError(f"{source}: front matter: authors must be {AUTHORS_SHAPE}")


def read_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """(metadata with ``parents``/``authors`` normalised, body) of a Markdown paper."""
    header, body = split_front_matter(text, source)
    meta = parse_yaml(header, source)
    if "parents" in meta:
        meta["parents"] = normalise_parents(meta["parents"], source)
    if "authors" in meta:
        meta["authors"] = normalise_authors(meta["authors"], source)
    return meta, body
