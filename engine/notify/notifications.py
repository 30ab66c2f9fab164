"""Notifications: an unread list per user, and deliveries to outside channels.

Everything here is written in the caller's transaction (so a notification
exists exactly when the thing it announces does); outside deliveries go to
the outbox and are sent after commit, never inside the transition.
"""
from datetime import datetime

from sqlmodel import Session, select

from engine.published.definitions import compiled
from engine.storage.bulk import Bulk
from engine.storage.models import Channel, History, Notification, Outbox, User, WorkOrder
from engine.storage.unit_of_work import reading

# Kinds a channel sends only when an admin chose them: a duty group's robot (no kinds chosen:
# every kind) is for the staff, not for each requester's news about their own request.
ON_REQUEST = frozenset({"progress"})
_CHANNELS = "houqin_active_channels"  # session.info: (the transaction they were read in, the rows)


def notify(
    session: Session, user_ids: list[int], *, order: WorkOrder | None, kind: str, title: str, body: str = "",
    now: datetime, actor_id: int | None = None, extra: dict | None = None, message: dict | None = None,
) -> list[Notification]:
    """Tell each user once, record it on the work order's timeline, and queue outside deliveries.

    `message` is what the engine says (engine/notify/messages.py), each reader reading it in their language;
    `body` what a person wrote (an urge's note), shown after it. `extra` (e.g. an escalation's level and timer)
    goes into the outside payload as is.
    """
    recipients = list(dict.fromkeys(uid for uid in user_ids if uid is not None))
    notes = [
        Notification(user_id=uid, work_order_id=order.id if order else None, kind=kind, title=title, body=body,
                     message=message, created_at=now)
        for uid in recipients
    ]
    session.add_all(notes)
    if order is not None and recipients:
        session.add(History(
            work_order_id=order.id, at=now, actor_id=actor_id, kind="notification",
            comment=title, data={"kind": kind, "recipients": recipients},
        ))
    _queue(session, kind=kind, title=title, body=body, order=order, recipients=recipients, now=now, extra=extra,
           message=message)
    return notes


def _queue(
    session: Session, *, kind: str, title: str, body: str, order: WorkOrder | None, recipients: list[int], now: datetime,
    extra: dict | None = None, message: dict | None = None,
) -> None:
    channels = _active_channels(session)
    if not channels:
        return
    # Group robots and e-mails are read by people: name the recipients, not their ids.
    with reading(session, User):
        people = session.exec(select(User.username, User.display_name).where(User.id.in_(recipients))).all() \
            if recipients else []
    state_label = _state_label(session, order) if order is not None else None
    for channel_id in _sent_to(channels, kind):
        session.add(Outbox(channel_id=channel_id, next_attempt_at=now, created_at=now, payload=_payload(
            kind=kind, title=title, body=body, order=order, recipients=recipients, people=people,
            state_label=state_label, extra=extra, message=message)))


def _sent_to(channels: list[tuple[int, str]], kind: str) -> list[int]:
    """The channels a notification of `kind` goes out through: those that chose it, or chose nothing."""
    return [channel_id for channel_id, kinds in channels
            if not ((kind not in kinds.split(",")) if kinds else kind in ON_REQUEST)]


def _payload(*, kind: str, title: str, body: str, order: WorkOrder | None, recipients: list[int],
             people: list[tuple[str, str]], state_label: dict | None, extra: dict | None, message: dict | None) -> dict:
    return {
        "kind": kind, "title": title, "body": body, "recipients": recipients,
        "recipient_names": [username for username, _ in people],
        "recipient_display_names": [shown or username for username, shown in people],
        "work_order": {"id": order.id, "number": order.number, "title": order.title, "state": order.state,
                       "state_label": state_label, "priority": order.priority} if order else None,
        **({"message": message} if message else {}),
        **(extra or {}),
    }


# --- in bulk -------------------------------------------------------------------------------------

class Notices:
    """Many notify() calls gathered into a Bulk (engine/storage/bulk.py), for a batch of the sweep: the same
    notifications, timeline entries and deliveries, each table written with one INSERT, and the channels and
    the recipients' names read once for the batch instead of once per notice."""

    def __init__(self, bulk: Bulk):
        self.bulk = bulk
        self._deliveries: list[dict] = []  # what each notice says outside, until `queue` knows the channels

    def add(self, user_ids: list[int], *, order: WorkOrder | None, kind: str, title: str, body: str = "",
            now: datetime, actor_id: int | None = None, extra: dict | None = None,
            message: dict | None = None) -> list[int]:
        """As notify(); returns the users told."""
        recipients = list(dict.fromkeys(uid for uid in user_ids if uid is not None))
        order_id = order.id if order else None
        for uid in recipients:
            self.bulk.add(Notification, user_id=uid, work_order_id=order_id, kind=kind, title=title, body=body,
                          message=message, created_at=now)
        if order is not None and recipients:
            self.bulk.add(History, work_order_id=order.id, at=now, actor_id=actor_id, kind="notification",
                          comment=title, data={"kind": kind, "recipients": recipients})
        self._deliveries.append(dict(kind=kind, title=title, body=body, order=order, recipients=recipients, now=now,
                                     extra=extra, message=message))
        return recipients

    def queue(self, session: Session) -> None:
        """The outbox rows of every notice gathered, into the bulk: two reads for all of them."""
        channels = _active_channels(session) if self._deliveries else []
        if not channels:
            self._deliveries.clear()
            return
        told = {uid for delivery in self._deliveries for uid in delivery["recipients"]}
        names = {uid: (username, shown) for uid, username, shown in session.exec(
            select(User.id, User.username, User.display_name).where(User.id.in_(told))).all()} if told else {}
        for delivery in self._deliveries:
            order, now = delivery.pop("order"), delivery.pop("now")
            people = [names[uid] for uid in sorted(delivery["recipients"]) if uid in names]  # as notify's read: by id
            state_label = _state_label(session, order) if order is not None else None
            for channel_id in _sent_to(channels, delivery["kind"]):
                self.bulk.add(Outbox, channel_id=channel_id, next_attempt_at=now, created_at=now,
                              payload=_payload(order=order, people=people, state_label=state_label, **delivery))
        self._deliveries.clear()


def _active_channels(session: Session) -> list[tuple[int, str | None]]:
    """The active channels (id, kinds), read once per transaction: a step telling several people (the assignee,
    the reporter) asks once."""
    transaction = session.get_transaction()
    known = session.info.get(_CHANNELS)
    if known is None or known[0] is not transaction or transaction is None:
        with reading(session, Channel):
            rows = list(session.exec(select(Channel.id, Channel.kinds).where(Channel.active == True)).all())  # noqa: E712
        known = session.info[_CHANNELS] = (transaction, rows)
    return known[1]


def _state_label(session: Session, order: WorkOrder) -> dict:
    """The work order's state as its definition labels it ({zh, en}), for a channel to say in its language."""
    state = compiled(session, order.process, order.definition_version).definition.states.get(order.state)
    return state.label.model_dump() if state else {"zh": order.state, "en": order.state}
