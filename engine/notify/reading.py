"""Reading one's notifications: how many are unread, and marking them read.

Sending them is engine.notify.notifications's business; this is the reader's side, used by the
navigation's count, the notifications page and `POST /api/v1/notifications/read`.
"""
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, select

from engine.storage.models import Notification

PAGE = 50


def unread_count(session: Session, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(Notification)
                        .where(Notification.user_id == user_id, Notification.read_at == None)).one()  # noqa: E711


def recent(session: Session, user_id: int, *, unread_only: bool = False, limit: int = PAGE) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at == None)  # noqa: E711
    return list(session.exec(query.order_by(Notification.id.desc()).limit(max(1, min(limit, 200)))).all())


def mark_read(session: Session, user_id: int, ids: list[int] | None, now: datetime) -> int:
    """Mark the user's unread notifications read: those in `ids`, or all when `ids` is None. Returns how many.

    Another user's ids are ignored, not refused: they are simply not among this user's.
    """
    statement = (update(Notification).where(Notification.user_id == user_id, Notification.read_at == None)  # noqa: E711
                 .values(read_at=now).execution_options(synchronize_session=False))
    if ids is not None:
        if not ids:
            return 0
        statement = statement.where(Notification.id.in_(ids))
    return session.execute(statement).rowcount or 0
