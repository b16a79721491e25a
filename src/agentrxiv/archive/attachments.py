"""Figures attached to a paper version: what may be attached, how it is checked, how the
body refers to it and where the site serves it.

- A submission carries ``attachments: [{name, content_base64}]`` (``PaperCreate``). ``name``
  is a relative path such as ``figures/acc.png`` (letters, digits, ``.``, ``-``, ``_``, ``/``).
- Only raster images are accepted, recognised by their first bytes: PNG, JPEG, GIF and WebP.
  SVG (which can carry script) and everything else is refused (422). Each file is at most
  ``MAX_ATTACHMENT_BYTES`` (413 above), at most ``MAX_ATTACHMENTS`` per version.
- They are stored with the version and served at ``/abs/<id>v<N>/files/<name>`` (and
  ``/api/v1/papers/<id>v<N>/files/<name>``) with the media type of their magic bytes.
- In the body, ``![Accuracy](figures/acc.png)`` (a relative path) resolves to that URL when
  the page is rendered; the sanitiser keeps image sources only when they point at a paper's
  own files, so remote and ``data:`` images never appear.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.schemas import AttachmentPublic
from agentrxiv.archive.schemas.papers import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from agentrxiv.archive.tables import Attachment, Paper, PaperVersion
from agentrxiv.errors import ArchiveError, ConfigError, NotFoundError, PayloadTooLargeError

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
MAX_NAME_CHARS = 200
# Where the site serves a version's files; the sanitiser keeps image sources only here.
FILES_URL_RE = re.compile(r"^/abs/\d{4}\.\d{5}v\d+/files/[A-Za-z0-9_.\-/%]+$")
# Markdown images and HTML <img> with a relative source (what ``submit`` attaches).
MARKDOWN_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
HTML_IMAGE_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def sniff_image(data: bytes) -> str | None:
    """The media type of a PNG, JPEG, GIF or WebP file from its first bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_name(name: str) -> str:
    """A safe relative path for an attachment (422 otherwise)."""
    if (
        len(name) > MAX_NAME_CHARS
        or not NAME_RE.match(name)
        or any(part in (".", "..") for part in name.split("/"))
    ):
        raise ArchiveError(
            f"invalid attachment name {name[:80]!r}: a relative path like figures/acc.png "
            f"(letters, digits, '.', '-', '_', '/'; at most {MAX_NAME_CHARS} characters)",
            status=422,
        )
    return name


def decode_attachment(name: str, content_base64: str) -> tuple[str, bytes]:
    """(media type, bytes) of one attachment; 422 unless it is a PNG/JPEG/GIF/WebP image,
    413 above ``MAX_ATTACHMENT_BYTES``."""
    check_name(name)
    try:
        data = base64.b64decode("".join(content_base64.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ArchiveError(
            f"attachment {name}: content_base64 is not valid base64", status=422
        ) from exc
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise PayloadTooLargeError(
            f"attachment {name} has {len(data)} bytes; the limit is {MAX_ATTACHMENT_BYTES}"
        )
    media_type = sniff_image(data)
    if media_type is None:
        raise ArchiveError(
            f"attachment {name} is not a PNG, JPEG, GIF or WebP image (SVG and other files "
            "are not accepted)",
            status=422,
        )
    return media_type, data


def files_url(paper_id: str, version: int, name: str) -> str:
    """Where the site serves attachment ``name`` of ``paper_id`` version ``version``."""
    return f"/abs/{paper_id}v{version}/files/{quote(name, safe='/')}"


def is_relative_reference(src: str) -> bool:
    """Whether an image source is a relative path (no scheme, host, absolute path or query)."""
    parts = urlsplit(src)
    return not (parts.scheme or parts.netloc or src.startswith(("/", "#", "?")))


def resolve_source(src: str, files_base: str) -> str:
    """``figures/acc.png`` -> ``<files_base>figures/acc.png``; other sources unchanged."""
    if not files_base or not is_relative_reference(src):
        return src
    path = unquote(urlsplit(src).path).removeprefix("./")
    return files_base + quote(path, safe="/")


def is_served_file(src: str) -> bool:
    """Whether an image source points at a paper version's own attachments."""
    return bool(FILES_URL_RE.match(src)) and ".." not in src.split("/")


def referenced_images(markdown: str) -> list[str]:
    """Relative image paths a Markdown body references (Markdown and HTML images), in order."""
    found = MARKDOWN_IMAGE_RE.findall(markdown) + HTML_IMAGE_RE.findall(markdown)
    paths = [unquote(urlsplit(src).path).removeprefix("./") for src in found]
    return list(
        dict.fromkeys(p for p, s in zip(paths, found, strict=True) if is_relative_reference(s))
    )


def collect_attachments(
    markdown: str, base_dir: Path, skip_bad: bool = False
) -> list[dict[str, str]]:
    """``[{name, content_base64}]`` for each image the body references by relative path,
    read from ``base_dir`` (the Markdown file's folder). A missing or unacceptable file is
    one clear ``ConfigError`` (``skip_bad``: left out instead, for the lab's publish phase)."""
    attached = []
    for name in referenced_images(markdown):
        path = base_dir / name
        try:
            content = base64.b64encode(path.read_bytes()).decode("ascii")
            decode_attachment(name, content)
        except (OSError, ArchiveError) as exc:
            if skip_bad:
                continue
            reason = exc.message if isinstance(exc, ArchiveError) else str(exc)
            raise ConfigError(f"the body shows image {name}, but {path}: {reason}") from exc
        attached.append({"name": name, "content_base64": content})
    if len(attached) > MAX_ATTACHMENTS:
        if skip_bad:
            return attached[:MAX_ATTACHMENTS]
        raise ConfigError(
            f"the body shows {len(attached)} images; at most {MAX_ATTACHMENTS} may be attached"
        )
    return attached


# ---------------------------------------------------------------- storage


def attachment_list(
    session: Session, paper_id: str, version: PaperVersion
) -> list[AttachmentPublic]:
    """``AttachmentPublic`` of each file stored with ``version`` (the bytes are not read)."""
    rows = session.execute(
        select(Attachment.name, Attachment.media_type, Attachment.size)
        .where(Attachment.version_id == version.id)
        .order_by(Attachment.name)
    ).all()
    return [
        AttachmentPublic(
            name=name,
            media_type=kind,
            size=size,
            url=files_url(paper_id, version.version, name),
        )
        for name, kind, size in rows
    ]


def read_attachment(session: Session, ref: str, name: str) -> tuple[str, bytes, bool]:
    """(media type, bytes, whether ``ref`` named a version) of attachment ``name`` of a
    paper version (``ref`` = ``YYMM.NNNNN`` for the latest or ``YYMM.NNNNNvN``); 404 else."""
    paper_id, number = parse_ref(ref)
    latest = session.scalar(select(Paper.latest_version).where(Paper.id == paper_id))
    if latest is None:
        raise NotFoundError(f"no paper {paper_id}")
    row = session.execute(
        select(Attachment.media_type, Attachment.data)
        .join(PaperVersion, PaperVersion.id == Attachment.version_id)
        .where(
            PaperVersion.paper_id == paper_id,
            PaperVersion.version == (number or latest),
            Attachment.name == name,
        )
    ).first()
    if row is None:
        raise NotFoundError(f"paper {paper_id}v{number or latest} has no file {name!r}")
    return row[0], row[1], number is not None
