"""What can go wrong when someone acts on a work order. The web layer maps each to a status code.

An error is a `code` and the `params` it is about, never a sentence: the web layer says it in the
reader's language (the catalogue text `errors.<code>` of web/locales, filled with `params`), so one
refusal reads in Chinese on a Chinese page and in English in an English API answer:

    raise Conflict("event_not_allowed", event="assign", state="closed", allowed=["cancel"])
    raise Invalid("fields_invalid", [problem("title", "required"), problem("title", "too_long", max=200)])

A param may be a definition's label (`{"zh": …, "en": …}`), said in the reader's language, or a
list, joined as the language joins lists. `message` is the code and its params, for logs.
"""
from workflows.refusals import (BadInput, GuardFails, NotAllowedNow, NotPermitted, NotVisible, Refusal, Stale,
                                problem)

__all__ = ["HouqinError", "NotFound", "Conflict", "Forbidden", "TooSoon", "Invalid", "problem", "refused"]
FIELDS_INVALID = "fields_invalid"  # Invalid's code when its field problems say it all: the text joins them


class HouqinError(Exception):
    def __init__(self, code: str, /, **params):
        self.code = code
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """`code (name=value, ...)`: what a log line or a developer reads."""
        given = ", ".join(f"{name}={value}" for name, value in self.params.items())
        return f"{self.code} ({given})" if given else self.code


class NotFound(HouqinError):
    """The thing does not exist, or the caller may not see it (404: we do not tell which)."""


class Conflict(HouqinError):
    """The request does not fit the current state: wrong state, failed condition, stale version (409)."""


class Forbidden(HouqinError):
    """The caller's role may not do this (403)."""


class TooSoon(HouqinError):
    """The same thing again before its interval is over (429); it may be done again in `seconds`."""

    def __init__(self, code: str, seconds: int, /, **params):
        super().__init__(code, **params)
        self.seconds = seconds


class Invalid(HouqinError):
    """The input is wrong; `errors` lists each problem as {field, code, params} (see `problem`) (422)."""

    def __init__(self, code: str = FIELDS_INVALID, errors: list[dict] | None = None, /, **params):
        super().__init__(code, **params)
        self.errors = errors or []


def refused(refusal: Refusal) -> HouqinError:
    """The engine's error for a refusal of the compiled process, with its code (and field problems) as they are."""
    if isinstance(refusal, BadInput):
        return Invalid(FIELDS_INVALID, refusal.errors)
    kind = _REFUSALS[next(kind for kind in type(refusal).__mro__ if kind in _REFUSALS)]
    return kind(refusal.code, **refusal.params)


_REFUSALS = {NotVisible: NotFound, Stale: Conflict, NotAllowedNow: Conflict, NotPermitted: Forbidden, GuardFails: Conflict}
