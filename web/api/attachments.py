"""Photos and files on a work order: upload at any step, list, download (never shown inline)."""
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.orders import attachments, workorders
from web.deps import ActorDep, ClockDep, SessionDep, UploadDep
from web.errors import Refused
from web.public import AttachmentPublic, errors, files

router = APIRouter(tags=["attachments"])
# Ids are 32-bit integers in the database; a larger one cannot exist (and PostgreSQL would refuse it).
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]

UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   "comment": {"type": "string", "maxLength": 1000}},
}}}}}


def shown(attachment) -> AttachmentPublic:
    return AttachmentPublic(
        id=attachment.id, work_order_id=attachment.work_order_id, filename=attachment.filename,
        content_type=attachment.content_type, size=attachment.size, sha256=attachment.sha256,
        uploaded_at=attachment.uploaded_at, url=f"/api/v1/attachments/{attachment.id}",
    )


def length_given(request: Request) -> None:
    if not request.headers.get("content-length", "").isdigit():
        raise Refused(411, "content_length_needed")


def visible_order(order_id: Id, session: SessionDep, actor: ActorDep) -> None:
    workorders.get(session, actor, order_id)  # not visible: 404, as if it did not exist


# The route's dependencies are solved first, in order: a caller who cannot see the work order is refused
# before a byte of the upload is read (its size was bounded before that, by web.limits).
@router.post("/workorders/{order_id}/attachments", status_code=201, openapi_extra=UPLOAD_BODY,
             dependencies=[Depends(length_given), Depends(visible_order)],
             responses=errors(400, 401, 404, 411, 413, 415, 422))
def upload(order_id: Id, session: SessionDep, actor: ActorDep, clock: ClockDep,
           form: UploadDep) -> AttachmentPublic:
    """Attach a photo (JPEG, PNG, WebP, HEIC) or a PDF, as multipart field `file`; at most
    HOUQIN_MAX_ATTACHMENT_MB (10 MB by default)."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid(FIELDS_INVALID, [problem("file", "file_missing")])
    comment = form.get("comment") if isinstance(form.get("comment"), str) else ""
    try:
        attachment = attachments.save(session, actor, order_id, filename=upload.filename, stream=upload.file,
                                      comment=comment, now=clock.now())
    except attachments.TooLarge as exc:
        raise Refused(413, exc.code, **exc.params) from None
    except attachments.UnsupportedType as exc:
        raise Refused(415, exc.code, **exc.params) from None
    return shown(attachment)


@router.get("/workorders/{order_id}/attachments", responses=errors(401, 404, 422))
def list_attachments(order_id: Id, session: SessionDep, actor: ActorDep) -> list[AttachmentPublic]:
    return [shown(a) for a in attachments.listing(session, actor, order_id)]


@router.get("/attachments/{attachment_id}", response_class=FileResponse,
            responses={**files(*attachments.MEDIA_TYPES, description="the file, as a download"), **errors(401, 404, 422)})
def download(attachment_id: Id, session: SessionDep, actor: ActorDep) -> FileResponse:
    """The file, always as a download: never rendered by the browser, never sniffed as another type."""
    attachment, path = attachments.opened(session, actor, attachment_id)
    return FileResponse(
        path, media_type=attachment.content_type, filename=attachment.filename, content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
                 "Cache-Control": "private, no-store"},
    )
