"""The eight phases; each module has ``run(rt) -> outcome``, ``reset(state)`` and
``artifact(state) -> str`` (what the co-pilot is shown)."""
