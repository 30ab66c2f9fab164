"""Outside notification channels (admin only), and the deliveries that did not get through."""
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func
from sqlmodel import Session, select

from engine.notify import channels
from engine.storage.models import Channel, Outbox
from web.deps import ROW_ID_MAX, ClockDep, SessionDep, require_roles
from web.public import ChannelPublic, DeliveriesPublic, DeliveryPublic, errors

router = APIRouter(tags=["channels"], dependencies=[require_roles("admin")], responses=errors(401, 403, 422))

Kind = Literal[channels.KINDS]
NotificationKind = Literal[channels.NOTIFICATION_KINDS]
Id = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]


class ChannelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    kind: Kind | None = None
    target: str | None = Field(default=None, min_length=1, max_length=500,
                               description="robot or webhook URL; for email the SMTP server, smtp://host:port")
    kinds: list[NotificationKind] | None = Field(default=None, description="notification kinds sent; empty: all but progress (sent only when chosen)")
    recipients: list[str] | None = Field(default=None, max_length=100, description="email: the To addresses")
    options: dict | None = Field(default=None, description="email: sender, starttls, username; webhook: headers")
    secret: str | None = Field(default=None, max_length=500,
                               description="DingTalk signing secret or SMTP password; never shown again")
    active: bool | None = None
    language: Literal["zh", "en"] | None = Field(default=None, description="what the group or mailbox reads: every "
                                                                            "delivery is written in it (zh by default)")


class ChannelCreate(ChannelBody):
    name: str = Field(min_length=1, max_length=64)
    kind: Kind
    target: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _defaults(self):
        self.kinds = self.kinds or []
        self.recipients = self.recipients or []
        self.options = self.options or {}
        self.secret = self.secret or ""
        self.active = True if self.active is None else self.active
        self.language = self.language or "zh"
        return self


def _shown(session: Session, channel: Channel) -> ChannelPublic:
    counts = dict(session.exec(select(Outbox.status, func.count()).where(Outbox.channel_id == channel.id)
                               .group_by(Outbox.status)).all())
    return ChannelPublic(
        id=channel.id, name=channel.name, kind=channel.kind, target=channel.target,
        kinds=[kind for kind in channel.kinds.split(",") if kind], recipients=channel.recipients,
        options=channel.options, has_secret=bool(channel.secret), active=channel.active, language=channel.language,
        deliveries={status: counts.get(status, 0) for status in ("pending", "sent", "failed")},
    )


@router.get("/channels")
def list_channels(session: SessionDep) -> list[ChannelPublic]:
    return [_shown(session, channel) for channel in session.exec(select(Channel).order_by(Channel.id)).all()]


@router.post("/channels", status_code=201, responses=errors(400, 409))
def create_channel(body: ChannelCreate, session: SessionDep) -> ChannelPublic:
    channel = channels.create(session, name=body.name, kind=body.kind, target=body.target, kinds=body.kinds,
                              recipients=body.recipients, options=body.options, secret=body.secret, active=body.active,
                              language=body.language)
    return _shown(session, channel)


@router.get("/channels/deliveries")
def list_deliveries(
    session: SessionDep, status: Literal["failed", "pending", "sent"] = "failed",
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeliveriesPublic:
    """Deliveries by status, newest first: by default those that failed for good, with their last error."""
    query = select(Outbox, Channel.name).join(Channel, Channel.id == Outbox.channel_id).where(Outbox.status == status)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Outbox.id.desc()).offset(offset).limit(limit)).all()
    return DeliveriesPublic(total=total, items=[_delivery(row, name) for row, name in rows])


def _delivery(row: Outbox, channel_name: str) -> DeliveryPublic:
    return DeliveryPublic(id=row.id, channel_id=row.channel_id, channel=channel_name, status=row.status,
                          attempts=row.attempts, last_error=row.last_error, created_at=row.created_at,
                          next_attempt_at=row.next_attempt_at, sent_at=row.sent_at, kind=row.payload.get("kind"),
                          title=row.payload.get("title"), work_order=row.payload.get("work_order"))


@router.post("/channels/deliveries/{delivery_id}/retry", responses=errors(404, 409))
def retry_delivery(delivery_id: Id, session: SessionDep, clock: ClockDep) -> DeliveryPublic:
    """Queue a failed delivery again, from its first attempt (e.g. after fixing the channel)."""
    row = channels.retry(session, delivery_id, now=clock.now())
    return _delivery(row, channels.get(session, row.channel_id).name)


@router.get("/channels/{channel_id:int}", responses=errors(404))
def get_channel(channel_id: Id, session: SessionDep) -> ChannelPublic:
    return _shown(session, channels.get(session, channel_id))


@router.patch("/channels/{channel_id:int}", responses=errors(400, 404, 409))
def update_channel(channel_id: Id, body: ChannelBody, session: SessionDep) -> ChannelPublic:
    return _shown(session, channels.update(session, channel_id, body.model_dump(exclude_unset=True)))


@router.delete("/channels/{channel_id:int}", status_code=204, responses=errors(404))
def delete_channel(channel_id: Id, session: SessionDep) -> Response:
    """Delete the channel with its queued and failed deliveries (switch it off to keep them)."""
    channels.remove(session, channel_id)
    return Response(status_code=204)
