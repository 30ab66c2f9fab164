"""Sending the outbox: webhooks, WeCom and DingTalk group robots, e-mail.

Notifications are queued in the transaction that causes them (engine/notify/notifications.py)
and sent from here, after commit, by the worker loop and after each sweep: a
dead robot or mail server never delays or rolls back a transition.

A delivery is written in its channel's language (Channel.language): the payload holds what the
engine said as a code with params (engine/notify/messages.py), and whoever sends (web/worker.py)
passes the catalogue's translator for a language (`texts`), so this module holds no sentence.

Each row is claimed before it is sent, so concurrent workers never send it
twice: the claim pushes `next_attempt_at` out by a lease and counts the attempt,
in a conditional UPDATE that only one worker can win (PostgreSQL also skips
rows another worker has locked). A worker that dies mid-send leaves the row to
be tried again when the lease runs out. A failed attempt is retried after 1, 2,
4, 8… minutes; after the last one the row is `failed`, with its error, for an
admin to see.
"""
import base64
import hashlib
import hmac
import logging
import smtplib
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from email.message import EmailMessage

import httpx
from sqlalchemy import update
from sqlmodel import Session, select

from engine.notify import targets
from engine.storage import unit_of_work
from engine.storage.models import Channel, Outbox

log = logging.getLogger(__name__)

KINDS = ("webhook", "wecom", "dingtalk", "email")
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=1)
LEASE = timedelta(minutes=5)  # longer than any send can take with TIMEOUT
TIMEOUT = 5.0  # seconds, per HTTP request or SMTP operation
BATCH = 100

# A language's translator (web.i18n.Translator): t(key, **values), t.label({zh, en}), t.message(message, text).
Texts = Callable[[str], Any]


class DeliveryError(Exception):
    """The far end refused or did not answer; the message says how."""


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Job:
    outbox_id: int
    attempt: int
    payload: dict
    channel: Channel | None


def deliver_due(session: Session, now: datetime, *, limit: int = BATCH, max_attempts: int = MAX_ATTEMPTS,
                texts: Texts | None = None) -> Report:
    """Send what is due at `now`, each in its channel's language by `texts`; returns counts and never raises (a
    failure is recorded on its row)."""
    report = Report()
    try:
        jobs = _claim(session, now, limit)
    except Exception:  # noqa: BLE001 - the caller is a loop that must go on
        session.rollback()
        log.exception("could not claim outbox rows")
        return report
    for job in jobs:
        error = _attempt(job, texts)
        try:
            outcome = _record(session, job, now, error, max_attempts)
        except Exception:  # noqa: BLE001
            session.rollback()
            log.exception("could not record delivery %s", job.outbox_id)
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _claim(session: Session, now: datetime, limit: int) -> list[_Job]:
    session.rollback()
    query = (select(Outbox).where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
             .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.exec(query.execution_options(populate_existing=True)).all()
    jobs = []
    for row in rows:
        won = session.execute(
            update(Outbox)
            .where(Outbox.id == row.id, Outbox.status == "pending", Outbox.attempts == row.attempts,
                   Outbox.next_attempt_at <= now)
            .values(attempts=row.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if won:
            channel = session.get(Channel, row.channel_id)
            jobs.append(_Job(row.id, row.attempts + 1, dict(row.payload), _detached(channel)))
    unit_of_work.commit(session)  # the batch's claim is one unit of work; sending happens after it
    return jobs


def _detached(channel: Channel | None) -> Channel | None:
    return Channel.model_validate(channel.model_dump()) if channel is not None else None


def _attempt(job: _Job, texts: Texts | None) -> str | None:
    """None when sent, else what went wrong (short enough to show an admin)."""
    if job.channel is None:
        return "the channel was deleted"
    if not job.channel.active:
        return f"channel '{job.channel.name}' is switched off"
    try:
        send(job.channel, job.payload, texts(job.channel.language) if texts else None)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, none escapes
        return f"{type(exc).__name__}: {exc}"[:1000]
    return None


def _record(session: Session, job: _Job, now: datetime, error: str | None, max_attempts: int) -> str:
    if error is None:
        values, outcome = {"status": "sent", "sent_at": now, "last_error": ""}, "sent"
    elif job.attempt >= max_attempts or job.channel is None:
        values, outcome = {"status": "failed", "last_error": error}, "failed"
        log.warning("delivery %s failed for good after %s attempts: %s", job.outbox_id, job.attempt, error)
    else:
        values = {"last_error": error, "next_attempt_at": now + FIRST_RETRY * 2 ** (job.attempt - 1)}
        outcome = "retrying"
    # Only while our claim stands: a row an admin re-queued meanwhile is theirs now.
    session.execute(update(Outbox).where(Outbox.id == job.outbox_id, Outbox.attempts == job.attempt)
                    .values(**values).execution_options(synchronize_session=False))
    unit_of_work.commit(session)  # each outcome is its own unit of work
    return outcome


# --- formats -------------------------------------------------------------------------------------

def send(channel: Channel, payload: dict, t=None) -> None:
    """Deliver one payload through one channel, said by `t` (the channel language's translator); raises
    DeliveryError (or an I/O error) on failure. A webhook gets the payload as data, with its text said."""
    if channel.kind == "webhook":
        _post(channel.target, {**payload, "language": channel.language, "text": text(payload, t)},
              channel.options.get("headers") or {})
    elif channel.kind == "wecom":
        _robot_reply(_post(channel.target, wecom_message(payload, t)))
    elif channel.kind == "dingtalk":
        _robot_reply(_post(dingtalk_url(channel.target, channel.secret), dingtalk_message(payload, t)))
    elif channel.kind == "email":
        send_email(channel, payload, t)
    else:
        raise DeliveryError(f"unknown channel kind '{channel.kind}'")


def headline(payload: dict, t=None) -> str:
    """【派单】RP-2026-000031 水龙头漏水: the kind of notice and its work order."""
    kind, title = str(payload.get("kind", "")), payload.get("title", "")
    return t("notifications.channel_head", kind=t.kind(kind), title=title) if t else f"[{kind}] {title}"


def text(payload: dict, t=None) -> str:
    """What happened: the engine's message in the channel's language, then what a person wrote."""
    if t is not None:
        return t.message(payload.get("message"), payload.get("body", ""))
    said = (payload.get("message") or {}).get("code", "")
    return " ".join(part for part in (said, payload.get("body", "")) if part)


def markdown(payload: dict, t=None) -> str:
    """The message as group robots show it: a bold headline, the text, the work order's facts, who is told;
    every word in the channel's language (`t`), people by their names."""
    lines = [f"**{headline(payload, t)}**"]
    said = text(payload, t)
    if said:
        lines.append(said)
    order = payload.get("work_order")
    if order:
        state = t.label(order.get("state_label")) if t and order.get("state_label") else order["state"]
        priority = t(f"priority.{order['priority']}") if t else order["priority"]
        lines.append("> " + (t("notifications.channel_order", number=order["number"], state=state, priority=priority)
                             if t else f"{order['number']}  {state}  {priority}"))
    names = payload.get("recipient_display_names") or payload.get("recipient_names")
    if names:
        lines.append("> " + (t("notifications.channel_to", names=names) if t else ", ".join(names)))
    return "\n\n".join(lines)


def wecom_message(payload: dict, t=None) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": markdown(payload, t)}}


def dingtalk_message(payload: dict, t=None) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": payload.get("title", ""), "text": markdown(payload, t)}}


def dingtalk_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """A DingTalk robot with 加签 wants timestamp and HMAC-SHA256 signature of "timestamp\\nsecret"."""
    if not secret:
        return url
    stamp = str(now_ms if now_ms is not None else int(time.time() * 1000))  # real time: DingTalk checks it
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"


def _post(url: str, body: dict, headers: dict | None = None) -> httpx.Response:
    """POST to the address the target resolves to now, checked (engine/notify/targets.py); no redirects."""
    pin = targets.pinned(url)
    with httpx.Client(timeout=TIMEOUT) as client:
        response = client.send(client.build_request("POST", pin.url, json=body, headers={**(headers or {}), **pin.headers},
                                                    extensions=pin.extensions))
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:300]}")
    return response


def _robot_reply(response: httpx.Response) -> None:
    """WeCom and DingTalk answer 200 even when they refuse; the refusal is in errcode."""
    try:
        answer = response.json()
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        raise DeliveryError(f"robot refused: errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


def smtp_address(target: str) -> tuple[bool, str, int]:
    """'smtp://host:port', 'smtps://host:port' (TLS from the start) or 'host:port' → (tls, host, port)."""
    try:
        return smtp_parts(target)
    except targets.Refused as exc:
        raise DeliveryError(str(exc)) from None


def smtp_parts(target: str) -> tuple[bool, str, int]:
    """As smtp_address, but a target that is no SMTP server is targets.Refused (what the channel form says)."""
    wrong = targets.Refused("target_not_smtp", f"'{target}' is not an SMTP server: write smtp://host:port or "
                            "smtps://host:port", target=target)
    parsed = targets.split_target(target if "://" in target else f"smtp://{target}", wrong)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise wrong
    tls = parsed.scheme == "smtps"
    return (tls, *targets.host_port(parsed, 465 if tls else 25))


def email_message(channel: Channel, payload: dict, t=None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = headline(payload, t)
    message["From"] = channel.options.get("sender") or "houqin@localhost"
    message["To"] = ", ".join(channel.recipients)
    message.set_content(markdown(payload, t).replace("**", ""))
    return message


def send_email(channel: Channel, payload: dict, t=None) -> None:
    if not channel.recipients:
        raise DeliveryError(f"channel '{channel.name}' has no recipients")
    tls, host, port = smtp_address(channel.target)
    address = str(targets.checked(host, port)[0])
    smtp_class = _PinnedSMTP_SSL if tls else _PinnedSMTP
    with smtp_class(address, host, port, timeout=TIMEOUT) as smtp:
        if channel.options.get("starttls"):
            smtp.starttls()
        if channel.options.get("username"):
            smtp.login(channel.options["username"], channel.secret)
        smtp.send_message(email_message(channel, payload, t))


class _PinnedSMTP(smtplib.SMTP):
    """Connects to the address that was checked, while TLS and the greeting still use the server's name."""

    def __init__(self, address: str, host: str, port: int, **kwargs):
        self._address = address
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(self._address, port, timeout)


class _PinnedSMTP_SSL(_PinnedSMTP, smtplib.SMTP_SSL):
    pass
