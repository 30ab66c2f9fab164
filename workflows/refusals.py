"""Why the compiled process refuses a step, one type per reason.

The language knows nothing of HTTP: the engine maps each refusal to its own
error (and the web layer that error to a status code). The message is already
the one a user reads, so the mapping never rewrites it.
"""


class Refusal(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotVisible(Refusal):
    """The caller may not see the work order, so for them it does not exist."""


class Stale(Refusal):
    """The caller acted on a version of the work order that someone else has changed since."""


class NotAllowedNow(Refusal):
    """The process has no such event from the work order's state (or none at all)."""


class NotPermitted(Refusal):
    """The caller is none of those the event names (roles, assignee, reporter, role@department)."""


class SamePerson(NotPermitted):
    """The event must be done by someone other than who did an earlier one (four eyes)."""


class BadInput(Refusal):
    """Fields, assignee or comment are missing or wrong; `errors` holds one {field, message} per problem."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(error["message"] for error in errors))


class GuardFails(Refusal):
    """The event's condition does not hold for the work order's values."""


def check_version(order, expected: int | None) -> None:
    """Optimistic locking: the caller names the version they read; anything else is Stale."""
    if expected is not None and expected != order.version:
        raise Stale(
            f"work order {order.number} was changed by someone else (now version {order.version}, "
            f"you had {expected}); reload it and try again"
        )
