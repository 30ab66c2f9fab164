"""Outside notification channels (admin only), and the deliveries that did not get through."""
import re
import urllib.parse
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, func
from sqlmodel import Session, select

from engine import delivery
from engine.clock import clock
from engine.errors import Conflict, Invalid, NotFound
from engine.models import Channel, Outbox
from web.deps import ROW_ID_MAX, SessionDep, require_roles

router = APIRouter(tags=["channels"], dependencies=[require_roles("admin")])

Kind = Literal["webhook", "wecom", "dingtalk", "email"]
NotificationKind = Literal["assignment", "escalation", "warning", "feedback"]
Id = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")


class ChannelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    kind: Kind | None = None
    target: str | None = Field(default=None, min_length=1, max_length=500,
                               description="robot or webhook URL; for email the SMTP server, smtp://host:port")
    kinds: list[NotificationKind] | None = Field(default=None, description="notification kinds sent; empty: all")
    recipients: list[str] | None = Field(default=None, max_length=100, description="email: the To addresses")
    options: dict | None = Field(default=None, description="email: sender, starttls, username; webhook: headers")
    secret: str | None = Field(default=None, max_length=500,
                               description="DingTalk signing secret or SMTP password; never shown again")
    active: bool | None = None


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
        return self


def _problems(channel: Channel) -> list[dict]:
    """What is wrong with a channel as it would be saved, field by field."""
    errors = [] if channel.name else [{"field": "name", "message": "a channel needs a name, e.g. 后勤值班群"}]
    texts = {"name": channel.name, "target": channel.target, "secret": channel.secret,
             "recipients": "".join(map(str, channel.recipients))}
    errors += [{"field": name, "message": f"{name} must not contain NUL characters"} for name, value in texts.items()
               if "\x00" in value]
    if channel.kind == "email":
        try:
            delivery.smtp_address(channel.target)
        except delivery.DeliveryError as exc:
            errors.append({"field": "target", "message": str(exc)})
        if not channel.recipients:
            errors.append({"field": "recipients", "message": "an email channel needs at least one address in recipients"})
        bad = [address for address in channel.recipients if not isinstance(address, str) or not _EMAIL.match(address)]
        if bad:
            errors.append({"field": "recipients", "message": f"not an e-mail address: {', '.join(map(str, bad))}"})
    else:
        url = urllib.parse.urlsplit(channel.target)
        if url.scheme not in ("http", "https") or not url.hostname:
            errors.append({"field": "target", "message": f"a {channel.kind} channel needs an http(s) URL, e.g. the robot's webhook address"})
        if channel.recipients:
            errors.append({"field": "recipients", "message": "recipients are for email channels; the robot posts to its group"})
    headers = channel.options.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        errors.append({"field": "options.headers", "message": "headers must map header names to strings"})
    return errors


def _check(session: Session, channel: Channel) -> None:
    errors = _problems(channel)
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors)
    clash = session.exec(select(Channel).where(Channel.name == channel.name, Channel.id != channel.id)).first()
    if clash is not None:
        raise Conflict(f"a channel named '{channel.name}' exists already; choose another name")


def _shown(session: Session, channel: Channel) -> dict:
    counts = dict(session.exec(select(Outbox.status, func.count()).where(Outbox.channel_id == channel.id)
                               .group_by(Outbox.status)).all())
    return {
        "id": channel.id, "name": channel.name, "kind": channel.kind, "target": channel.target,
        "kinds": [kind for kind in channel.kinds.split(",") if kind], "recipients": channel.recipients,
        "options": channel.options, "has_secret": bool(channel.secret), "active": channel.active,
        "deliveries": {status: counts.get(status, 0) for status in ("pending", "sent", "failed")},
    }


def _get(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} not found")
    return channel


@router.get("/channels")
def list_channels(session: SessionDep) -> list[dict]:
    return [_shown(session, channel) for channel in session.exec(select(Channel).order_by(Channel.id)).all()]


@router.post("/channels", status_code=201)
def create_channel(body: ChannelCreate, session: SessionDep) -> dict:
    channel = Channel(name=body.name.strip(), kind=body.kind, target=body.target.strip(), kinds=",".join(body.kinds),
                      recipients=body.recipients, options=body.options, secret=body.secret, active=body.active)
    _check(session, channel)
    session.add(channel)
    session.commit()
    return _shown(session, channel)


@router.get("/channels/deliveries")
def list_deliveries(
    session: SessionDep, status: Literal["failed", "pending", "sent"] = "failed",
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict:
    """Deliveries by status, newest first: by default those that failed for good, with their last error."""
    query = select(Outbox, Channel.name).join(Channel, Channel.id == Outbox.channel_id).where(Outbox.status == status)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Outbox.id.desc()).offset(offset).limit(limit)).all()
    return {"total": total, "items": [_delivery(row, name) for row, name in rows]}


def _delivery(row: Outbox, channel_name: str) -> dict:
    return {"id": row.id, "channel_id": row.channel_id, "channel": channel_name, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error, "created_at": row.created_at,
            "next_attempt_at": row.next_attempt_at, "sent_at": row.sent_at, "kind": row.payload.get("kind"),
            "title": row.payload.get("title"), "work_order": row.payload.get("work_order")}


@router.post("/channels/deliveries/{delivery_id}/retry")
def retry_delivery(delivery_id: Id, session: SessionDep) -> dict:
    """Queue a failed delivery again, from its first attempt (e.g. after fixing the channel)."""
    row = session.get(Outbox, delivery_id)
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found")
    if row.status != "failed":
        raise Conflict(f"delivery {delivery_id} is {row.status}; only a failed delivery can be retried")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
    session.add(row)
    session.commit()
    return _delivery(row, _get(session, row.channel_id).name)


@router.get("/channels/{channel_id}")
def get_channel(channel_id: Id, session: SessionDep) -> dict:
    return _shown(session, _get(session, channel_id))


@router.patch("/channels/{channel_id}")
def update_channel(channel_id: Id, body: ChannelBody, session: SessionDep) -> dict:
    channel = _get(session, channel_id)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise Invalid(f"{name} cannot be null; leave it out to keep it as it is",
                          [{"field": name, "message": "leave it out to keep it as it is"}])
        if name == "kinds":
            value = ",".join(value)
        elif name in ("name", "target"):
            value = value.strip()
        setattr(channel, name, value)
    _check(session, channel)
    session.add(channel)
    session.commit()
    return _shown(session, channel)


@router.delete("/channels/{channel_id}", status_code=204)
def delete_channel(channel_id: Id, session: SessionDep) -> Response:
    """Delete the channel with its queued and failed deliveries (switch it off to keep them)."""
    channel = _get(session, channel_id)
    session.execute(delete(Outbox).where(Outbox.channel_id == channel.id))
    session.delete(channel)
    session.commit()
    return Response(status_code=204)
