"""Files in a working directory that untrusted code writes: the lab writes the program
without following planted links, reads results only as plain single-link files, removes hard
links to outside files before a run, and lists what a run changed."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from agentrxiv.errors import ConfigError

logger = logging.getLogger(__name__)

PROGRAM_NAME = "_sandbox_main.py"
"""File a program given as source text is written to, inside the working directory."""


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to a fresh regular file at ``path``, never through a planted link."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            raise ConfigError(f"cannot write the program: {path} is a directory")
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as handle:
        handle.write(text)


def read_regular_file(path: Path, max_bytes: int = 10_000_000) -> bytes:
    """The bytes of ``path`` if it is a plain file the sandbox could not have redirected.

    Refuses (``OSError``) a symbolic link, anything but a regular file, a file with more
    than one hard link (it may be another lab's file) and a file over ``max_bytes``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        if info.st_nlink != 1:
            raise OSError(f"{path.name} has {info.st_nlink} hard links")
        if info.st_size > max_bytes:
            raise OSError(f"{path.name} is larger than {max_bytes} bytes")
        return handle.read(max_bytes + 1)[:max_bytes]


def remove_outside_links(workdir: Path) -> list[str]:
    """Unlink files in ``workdir`` that are hard links to files elsewhere (never touched).

    Inside the boundary they cannot be made (the outside file is invisible and mounts do not
    share links); an unsafe run or a careless user can leave them, and the lab must not
    write through them. Returns the relative paths removed."""
    inodes: dict[tuple[int, int], list[Path]] = {}
    for dirpath, _dirnames, filenames in os.walk(workdir):
        for name in filenames:
            path = Path(dirpath, name)
            with contextlib.suppress(OSError):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                    inodes.setdefault((info.st_dev, info.st_ino), []).append(path)
    removed = []
    for paths in inodes.values():
        if paths[0].lstat().st_nlink > len(paths):
            for path in paths:
                path.unlink()
                removed.append(str(path.relative_to(workdir)))
    if removed:
        logger.warning("sandbox: removed hard links to outside files: %s", ", ".join(removed))
    return removed


def snapshot_files(root: Path, limit: int = 20_000) -> dict[str, tuple[int, int]]:
    """Relative path -> (mtime_ns, size) of visible files under ``root`` (dot-dirs skipped)."""
    found: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            path = Path(dirpath, name)
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink():
                    stat = path.stat()
                    found[str(path.relative_to(root))] = (stat.st_mtime_ns, stat.st_size)
            if len(found) >= limit:
                return found
    return found


def changed_files(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list:
    """Files new or modified between two snapshots, sorted, without the sandbox's own file."""
    return sorted(
        path for path, stamp in after.items() if before.get(path) != stamp and path != PROGRAM_NAME
    )
