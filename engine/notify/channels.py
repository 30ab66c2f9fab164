"""Outside notification channels: the checks a channel must pass, and the admin's changes to them.

The JSON API and the admin page both call these, so a channel is refused for the same
reasons, in the same words, wherever it is entered.
"""
import re
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Conflict, Invalid, NotFound, problem
from engine.notify import delivery, targets
from engine.storage.models import Channel, Outbox

KINDS = ("webhook", "wecom", "dingtalk", "email")
LANGUAGES = ("zh", "en")  # what a channel's readers read
NOTIFICATION_KINDS = ("assignment", "escalation", "warning", "feedback", "progress", "pool", "urge")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")
# The column widths, checked here so that a form (which has no schema in front of it) gets a message, not a 500.
_LIMITS = {"name": 64, "target": 500, "secret": 500}


def problems(channel: Channel) -> list[dict]:
    """What is wrong with a channel as it would be saved, field by field."""
    errors = [] if channel.name else [problem("name", "channel_needs_name")]
    if channel.kind not in KINDS:
        errors.append(problem("kind", "channel_kind", kinds=list(KINDS)))
    if channel.language not in LANGUAGES:
        errors.append(problem("language", "unknown_language", languages=list(LANGUAGES)))
    unknown = [kind for kind in channel.kinds.split(",") if kind and kind not in NOTIFICATION_KINDS]
    if unknown:
        errors.append(problem("kinds", "notification_kinds", unknown=unknown, kinds=list(NOTIFICATION_KINDS)))
    errors += [problem(name, "too_long", max=limit) for name, limit in _LIMITS.items() if len(getattr(channel, name)) > limit]
    texts = {"name": channel.name, "target": channel.target, "secret": channel.secret,
             "recipients": "".join(map(str, channel.recipients))}
    errors += [problem(name, "has_nul") for name, value in texts.items() if "\x00" in value]
    errors += _target_problems(channel) if channel.kind in KINDS and "\x00" not in channel.target else []
    if channel.kind == "email":
        if not channel.recipients:
            errors.append(problem("recipients", "email_needs_recipients"))
        bad = [address for address in channel.recipients if not isinstance(address, str) or not _EMAIL.match(address)]
        if bad:
            errors.append(problem("recipients", "not_email_addresses", addresses=[str(a) for a in bad]))
    elif channel.recipients:
        errors.append(problem("recipients", "recipients_for_email_only"))
    headers = channel.options.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        errors.append(problem("options.headers", "headers_not_strings"))
    return errors


def _target_problems(channel: Channel) -> list[dict]:
    """The target as an address (a URL, or an SMTP server) that channels may reach (engine/notify/targets.py)."""
    try:
        if channel.kind == "email":
            _, host, port = delivery.smtp_parts(channel.target)
        else:
            url = targets.web_url(channel.target, channel.kind)
            host, port = targets.host_port(url, targets.WEB_PORTS[url.scheme])
        targets.check_on_save(host, port)
    except targets.Refused as exc:
        return [problem("target", exc.code, **exc.params)]
    return []


def check(session: Session, channel: Channel) -> None:
    """Raise Invalid listing every problem, or Conflict when another channel has the name."""
    errors = problems(channel)
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    clash = session.exec(select(Channel).where(Channel.name == channel.name, Channel.id != channel.id)).first()
    if clash is not None:
        raise Conflict("channel_name_taken", name=channel.name)


def get(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound("channel_not_found", id=channel_id)
    return channel


def create(session: Session, *, name: str, kind: str, target: str, kinds: list[str] = (), recipients: list = (),
           options: dict | None = None, secret: str = "", active: bool = True, language: str = "zh") -> Channel:
    """A channel; `language` is what its group or mailbox reads (zh or en): every delivery is written in it."""
    channel = Channel(name=name.strip(), kind=kind, target=target.strip(), kinds=",".join(kinds),
                      recipients=list(recipients), options=options or {}, secret=secret, active=active,
                      language=language)
    check(session, channel)
    session.add(channel)
    session.flush()
    return channel


def update(session: Session, channel_id: int, changes: dict) -> Channel:
    """Apply the fields given in `changes`; a field left out keeps its value (so does the secret)."""
    channel = get(session, channel_id)
    for name, value in changes.items():
        if value is None:
            raise Invalid(FIELDS_INVALID, [problem(name, "not_null")])
        if name == "kinds":
            value = ",".join(value)
        elif name in ("name", "target"):
            value = value.strip()
        setattr(channel, name, value)
    check(session, channel)
    session.add(channel)
    session.flush()
    return channel


def remove(session: Session, channel_id: int) -> Channel:
    """Delete the channel with its queued and failed deliveries (switch it off to keep them)."""
    channel = get(session, channel_id)
    session.execute(delete(Outbox).where(Outbox.channel_id == channel.id))
    session.delete(channel)
    session.flush()
    return channel


def retry(session: Session, delivery_id: int, *, now: datetime) -> Outbox:
    """Queue a failed delivery again, from its first attempt (e.g. after fixing the channel)."""
    row = session.get(Outbox, delivery_id)
    if row is None:
        raise NotFound("delivery_not_found", id=delivery_id)
    if row.status != "failed":
        raise Conflict("delivery_not_failed", id=delivery_id, status=row.status)
    row.status, row.attempts, row.next_attempt_at = "pending", 0, now
    session.add(row)
    session.flush()
    return row
