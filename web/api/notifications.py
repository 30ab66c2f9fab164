from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from engine.notify import reading as notifications
from engine.errors import FIELDS_INVALID, Invalid, NotFound, problem
from engine.storage.models import Notification
from web.deps import ROW_ID_MAX, ActorDep, ClockDep, SessionDep
from web.i18n import message_text, reading
from web.public import NotificationPublic, NotificationReadPublic, NotificationsReadPublic, errors

router = APIRouter(tags=["notifications"])


@router.get("/notifications", responses=errors(401, 422))
def list_notifications(session: SessionDep, actor: ActorDep, unread: bool = True, limit: int = 50) -> list[NotificationPublic]:
    query = select(Notification).where(Notification.user_id == actor.id)
    if unread:
        query = query.where(Notification.read_at == None)  # noqa: E711
    rows = session.exec(query.order_by(Notification.id.desc()).limit(max(1, min(limit, 200)))).all()
    return [NotificationPublic.model_validate(n).model_copy(update={"body": message_text(reading(), n.message, n.body)})
            for n in rows]


@router.post("/notifications/{notification_id}/read", responses=errors(401, 404, 422))
def mark_read(notification_id: int, session: SessionDep, actor: ActorDep, clock: ClockDep) -> NotificationReadPublic:
    note = session.get(Notification, notification_id) if 0 < notification_id <= ROW_ID_MAX else None
    if note is None or note.user_id != actor.id:
        raise NotFound("notification_not_found", id=notification_id)
    note.read_at = note.read_at or clock.now()
    session.add(note)
    return NotificationReadPublic(id=note.id, read_at=note.read_at)


class ReadRequest(BaseModel):
    """Which notifications to mark read: `ids`, or `all: true` for every unread one."""

    model_config = ConfigDict(extra="forbid", strict=True)  # `"all": 0` is not `false`: the schema says boolean
    ids: list[Annotated[int, Field(ge=1, le=ROW_ID_MAX)]] | None = Field(default=None, max_length=1000)
    all: bool = False


@router.post("/notifications/read", responses=errors(400, 401, 422))
def mark_many_read(body: ReadRequest, session: SessionDep, actor: ActorDep, clock: ClockDep) -> NotificationsReadPublic:
    if body.all == (body.ids is not None):
        raise Invalid(FIELDS_INVALID, [problem("ids", "ids_or_all")])
    read = notifications.mark_read(session, actor.id, None if body.all else body.ids, clock.now())
    return NotificationsReadPublic(read=read, unread=notifications.unread_count(session, actor.id))
