"""What can go wrong when someone acts on a work order. The web layer maps each to a status code."""
from workflows.refusals import BadInput, GuardFails, NotAllowedNow, NotPermitted, NotVisible, Refusal, Stale


class HouqinError(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotFound(HouqinError):
    """The thing does not exist, or the caller may not see it (404: we do not tell which)."""


class Conflict(HouqinError):
    """The request does not fit the current state: wrong state, failed condition, stale version (409)."""


class Forbidden(HouqinError):
    """The caller's role may not do this (403)."""


class TooSoon(HouqinError):
    """The same thing again before its interval is over (429); it may be done again in `seconds`."""

    def __init__(self, message: str, seconds: int):
        super().__init__(message)
        self.seconds = seconds


class Invalid(HouqinError):
    """The input is wrong; `errors` lists each field and what to fix (422)."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


def refused(refusal: Refusal) -> HouqinError:
    """The engine's error for a refusal of the compiled process, with its message (and field errors) as they are."""
    if isinstance(refusal, BadInput):
        return Invalid(refusal.message, refusal.errors)
    return _REFUSALS[next(kind for kind in type(refusal).__mro__ if kind in _REFUSALS)](refusal.message)


_REFUSALS = {NotVisible: NotFound, Stale: Conflict, NotAllowedNow: Conflict, NotPermitted: Forbidden, GuardFails: Conflict}
