"""What the engine tells people, as a code and its params, never a sentence.

An escalation, a warning, an urge, an automatic assignment: the engine keeps what it says as
`{"code": ..., "params": {...}}`: on the timeline (History.data["message"]), in a notification
(Notification.message) and in an outside delivery's payload ("message"). Each reader sees it in
their own language, from the catalogue's `messages.<code>` (web/locales): the order page and the
notifications page in the viewer's, the API in the caller's Accept-Language, a WeCom or DingTalk
group or a mailbox in its channel's. A param may be a definition's label (`{"zh": …, "en": …}`),
said in the reader's language. Rows written before keep the text they hold, and show it.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from engine import settings


def message(code: str, /, **params) -> dict:
    return {"code": code, "params": params}


def local_time(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """A time as a message names it: the hospital's local month, day, hour and minute (10-12 17:30). `zone`: the
    hospital's, when the caller read it already (a sweep's page says a thousand times)."""
    return moment.astimezone(zone or local_zone()).strftime("%m-%d %H:%M")


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.timezone())


def of(data) -> dict | None:
    """The message a History row's data or a payload holds, or None (a row from before, or none said)."""
    found = data.get("message") if isinstance(data, dict) else None
    return found if isinstance(found, dict) and isinstance(found.get("code"), str) else None
