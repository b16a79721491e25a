"""Checkpoint storage shared by every node of a campaign: a local path or any fsspec URI
(``file://``, ``s3://``, ``gs://``, ``memory://`` in tests).

A Ray task pulls its run's lab directory from the store before the lab starts (so a run
that began on another node resumes here) and pushes changed files while the lab runs and
when it ends. Each file is written under a temporary name and then moved into place, so a
node killed mid-upload never leaves a torn ``state.json`` behind."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
# Written by the worker on its node only; nothing on another node reads them.
NODE_LOCAL_FILES = frozenset({"run.lock", "spec.json", "result.json", "worker.log"})


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


class CheckpointStore:
    """The lab directories of one campaign's runs, keyed ``<campaign>/<lab>/paper-<n>``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = _filesystem(url)
        self._sent: dict[str, tuple[int, int]] = {}

    def _remote(self, key: str, relative: str = "") -> str:
        return "/".join(part for part in (self.root, key, relative) if part)

    def pull(self, key: str, local: Path) -> int:
        """Copy the stored lab directory of ``key`` into ``local``; the number of files."""
        base = self._remote(key)
        if not self.fs.exists(base):
            return 0
        count = 0
        for remote in self.fs.find(base):
            relative = remote[len(base) :].lstrip("/")
            if not relative or ".tmp-" in relative or ".." in relative.split("/"):
                continue
            target = local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.fs.cat_file(remote))
            stat = target.stat()
            self._sent[str(target)] = (stat.st_size, stat.st_mtime_ns)
            count += 1
        return count

    def push(self, local: Path, key: str) -> int:
        """Upload the files of ``local`` that changed since the last push; the number sent."""
        if not local.is_dir():
            return 0
        sent = 0
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            if path.name in NODE_LOCAL_FILES or path.is_symlink():
                continue
            try:
                stat = path.stat()
                data = path.read_bytes()
            except OSError:  # removed while we walked: the next push sees the new state
                continue
            mark = (stat.st_size, stat.st_mtime_ns)
            if self._sent.get(str(path)) == mark:
                continue
            relative = path.relative_to(local).as_posix()
            final = self._remote(key, relative)
            temporary = f"{final}.tmp-{os.getpid()}"
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            self.fs.pipe_file(temporary, data)
            self.fs.mv(temporary, final)
            self._sent[str(path)] = mark
            sent += 1
        return sent

    def exists(self, key: str, relative: str) -> bool:
        """Whether the store holds ``relative`` of run ``key``."""
        return bool(self.fs.exists(self._remote(key, relative)))

    def read_text(self, key: str, relative: str) -> str:
        """One stored file of run ``key`` as text."""
        return str(self.fs.cat_file(self._remote(key, relative)).decode("utf-8"))


def run_key(campaign_id: str, lab: str, paper: int) -> str:
    """The store key of one (lab, paper) run."""
    return f"{campaign_id}/{lab}/paper-{paper}"
