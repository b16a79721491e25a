"""Which literature sources a lab run may use, built once per run and kept on the runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrxiv.lab.sources import LiteratureSource, SourceName, SourceRefused

if TYPE_CHECKING:
    from agentrxiv.lab.runtime import LabRuntime


def available_sources(rt: LabRuntime) -> list[SourceName]:
    """The configured sources this run can use: the archive needs a server and an access
    mode other than ``none``; arXiv needs only its endpoint (offline, it reports so)."""
    names: list[SourceName] = []
    for name in rt.config.literature_sources:
        if name == "agentrxiv" and (rt.archive is None or rt.config.archive_access == "none"):
            continue
        names.append(name)
    return names


def source_for(rt: LabRuntime, name: str) -> LiteratureSource:
    """The run's source called ``name`` (refused when the config does not enable it)."""
    if name not in available_sources(rt):
        raise SourceRefused(f"source {name!r} is not enabled for this lab")
    if name not in rt.sources:
        rt.sources[name] = _build(rt, name)
    return rt.sources[name]


def _build(rt: LabRuntime, name: str) -> LiteratureSource:
    if name == "agentrxiv":
        from agentrxiv.lab.sources.archive import ArchiveSource

        return ArchiveSource(rt.archive, rt.config, rt.archive_url)
    from agentrxiv.lab.sources.arxiv import ArxivSource

    def count() -> None:
        rt.state.literature.remote_requests += 1

    return ArxivSource(rt.config, on_request=count)
