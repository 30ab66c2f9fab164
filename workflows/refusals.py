"""Why the compiled process refuses a step, one type per reason.

The language knows nothing of HTTP: the engine maps each refusal to its own
error (and the web layer that error to a status code). A refusal is a `code` and
its `params`, as the engine's errors are (engine.errors): the web layer says it
in the reader's language, so the mapping never rewrites it.
"""


def problem(field: str, code: str, /, **params) -> dict:
    """One field's problem: which field, what is wrong with it (a code the catalogue says), and about what."""
    return {"field": field, "code": code, **({"params": params} if params else {})}


class Refusal(Exception):
    def __init__(self, code: str, /, **params):
        self.code = code
        self.params = params
        super().__init__(code, params)


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
    """Fields, assignee or comment are missing or wrong; `errors` holds one {field, code, params} per problem."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("fields_invalid")


class GuardFails(Refusal):
    """The event's condition does not hold for the work order's values."""


def check_version(order, expected: int | None) -> None:
    """Optimistic locking: the caller names the version they read; anything else is Stale."""
    if expected is not None and expected != order.version:
        raise Stale("stale_version", number=order.number, version=order.version, expected=expected)
