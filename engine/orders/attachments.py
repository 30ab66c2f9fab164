"""Photos and documents on a work order (现场照片、单据), kept for the audit trail.

Files are stored under $HOUQIN_ATTACHMENTS_DIR (default $HOUQIN_DATA_DIR/attachments)
with random names and no extension, so nothing uploaded is ever found or run by
a name its uploader chose. The type is read from the file's first bytes, never
taken from what the uploader declared: only photos (JPEG, PNG, WebP, HEIC) and
PDF are kept. The web layer serves them only as downloads.

Anyone who can see a work order may attach to it, at any step; each upload is a
line on the work order's timeline.
"""
import hashlib
import os
import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import filetype
from filetype.types import archive, image
from sqlmodel import Session, select

from engine import settings
from engine.errors import FIELDS_INVALID, Invalid, NotFound, problem
from engine.orders import workorders
from engine.people.users import Actor
from engine.storage import unit_of_work
from engine.storage.models import Attachment, History

ALLOWED = (image.Jpeg(), image.Png(), image.Webp(), image.Heic(), archive.Pdf())
ALLOWED_NAMES = ["JPEG", "PNG", "WebP", "HEIC", "PDF"]  # as a refusal names them, in any language
MEDIA_TYPES = tuple(kind.mime for kind in ALLOWED)  # what a download can be
CHUNK = 64 * 1024
SNIFF = 8192  # enough of the head for every matcher above (HEIC reads its ftyp box)


class TooLarge(Invalid):
    """The file is over the size limit (the web layer answers 413)."""


class UnsupportedType(Invalid):
    """The file's bytes are not an allowed type, whatever it claimed to be (the web layer answers 415)."""


def max_megabytes() -> float:
    """The size limit: $HOUQIN_MAX_ATTACHMENT_MB megabytes, 10 by default."""
    return settings.current().max_attachment_mb


def max_bytes() -> int:
    return int(max_megabytes() * 1024 * 1024)


def too_large() -> TooLarge:
    return TooLarge("file_too_large", [problem("file", "file_too_large", mb=f"{max_megabytes():g}")],
                    mb=f"{max_megabytes():g}")


def directory() -> Path:
    return settings.current().attachments_path


def _path(stored_name: str) -> Path:
    return directory() / stored_name[:2] / stored_name


def save(session: Session, actor: Actor, order_id: int, *, filename: str | None, stream: BinaryIO,
         comment: str = "", now: datetime) -> Attachment:
    """Check and store an upload, and record it on the work order's timeline."""
    order = workorders.get(session, actor, order_id)  # not visible: NotFound, as if it did not exist
    if len(comment) > 1000 or "\x00" in comment:
        raise Invalid(FIELDS_INVALID, [problem("comment", "text_too_long_or_nul", max=1000)])
    stored_name = secrets.token_hex(16)
    final = _path(stored_name)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".part")
    try:
        head, size, digest = _copy(stream, partial)
        if size == 0:
            raise Invalid(FIELDS_INVALID, [problem("file", "file_empty")])
        kind = filetype.match(head, matchers=ALLOWED)
        if kind is None:
            raise UnsupportedType("file_type_not_allowed", [problem("file", "file_type_not_allowed", allowed=ALLOWED_NAMES)],
                                  allowed=ALLOWED_NAMES)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    try:
        attachment = Attachment(
            work_order_id=order.id, filename=_download_name(filename, kind.extension), content_type=kind.mime,
            size=size, sha256=digest, stored_name=stored_name, uploaded_by=actor.id, uploaded_at=now,
        )
        session.add(attachment)
        session.flush()
        session.add(History(
            work_order_id=order.id, at=now, actor_id=actor.id, kind="attachment", comment=comment,
            data={"attachment_id": attachment.id, "filename": attachment.filename,
                  "content_type": attachment.content_type, "size": size},
        ))
        session.flush()
    except Exception:
        final.unlink(missing_ok=True)
        raise
    unit_of_work.after_rollback(session, lambda: final.unlink(missing_ok=True))  # no row, no file
    return attachment


def _copy(stream: BinaryIO, target: Path) -> tuple[bytes, int, str]:
    """Write the upload to `target`, stopping as soon as it passes the limit."""
    limit, size, head, digest = max_bytes(), 0, b"", hashlib.sha256()
    with open(target, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large()
            if len(head) < SNIFF:
                head += chunk[:SNIFF - len(head)]
            digest.update(chunk)
            out.write(chunk)
    return head, size, digest.hexdigest()


def _download_name(filename: str | None, extension: str) -> str:
    """The uploader's name without any path, control characters or misleading extension."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{(stem or 'attachment')[:150]}.{extension}"


def listing(session: Session, actor: Actor, order_id: int) -> list[Attachment]:
    workorders.get(session, actor, order_id)
    return list(session.exec(select(Attachment).where(Attachment.work_order_id == order_id).order_by(Attachment.id)).all())


def opened(session: Session, actor: Actor, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and its file, for someone who may see its work order."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment_not_found", id=attachment_id)
    try:
        workorders.get(session, actor, attachment.work_order_id)
    except NotFound:
        raise NotFound("attachment_not_found", id=attachment_id) from None
    path = _path(attachment.stored_name)
    if not path.is_file():
        raise NotFound("attachment_file_missing", id=attachment_id)
    return attachment, path
