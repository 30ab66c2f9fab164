"""Phone intake (电话报修): the service desk records a request on behalf of whoever called.

The caller is the requester of record. A caller with an account becomes the work order's reporter: they
are told of its progress, confirm and rate it as if they had filed it themselves. A caller without one
(a name and a phone number) cannot sign in, so the work order keeps their name and phone and their
department answers for them: its requesters and heads confirm, rate and are told
(`workflows.authority.answers_as_reporter` is the rule, `requesters` below the people it names). Either
way the dispatcher who took the call stays its first contact (首接负责制) until they hand it over on
record (engine/orders/handover.py).
"""
import re
from dataclasses import dataclass

from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Forbidden, Invalid, problem
from engine.people.users import Actor, department_named
from engine.storage.models import User, UserRole, WorkOrder
from engine.storage.unit_of_work import reading
from workflows.authority import CALLER_DEPARTMENT_ROLES

TAKERS = "dispatcher"  # the service desk takes the calls
CHANNEL = "phone"
NAME_MAX, PHONE_MAX = 100, 32
# A desk writes a number as the caller says it: a mobile, a landline with its area code, a ward's extension.
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,30}$")


@dataclass(frozen=True)
class Caller:
    """Who called: an existing user's username, or the name, phone and department of someone without an account."""

    user: str | None = None
    name: str | None = None
    phone: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class Intake:
    """What a call puts on the new work order."""

    reporter_id: int
    department_id: int | None
    caller_name: str | None
    caller_phone: str | None
    record: dict  # the intake as the history's `create` row keeps it: the channel and the caller


def check_taker(actor: Actor) -> None:
    if not actor.has(TAKERS):
        raise Forbidden("caller_desk_only")


def take(session: Session, actor: Actor, caller: Caller, department_id: int | None) -> Intake:
    """The intake of `caller`'s request by `actor`; `department_id`: the department the dispatcher chose, if any.

    Raises Invalid with a problem for each field to fix (`caller.user`, `caller.phone`…)."""
    given = {name: (getattr(caller, name) or "").strip() for name in ("user", "name", "phone", "department")}
    named = any(given[name] for name in ("name", "phone", "department"))
    if bool(given["user"]) == named:  # neither, or both
        raise Invalid(FIELDS_INVALID, [problem("caller", "caller_one_of")])
    if given["user"]:
        return _user_call(session, given["user"], department_id)
    return _named_call(session, actor, given, department_id)


def _user_call(session: Session, username: str, department_id: int | None) -> Intake:
    """A caller with an account: the reporter, in their department unless the dispatcher chose another."""
    user = session.exec(select(User).where(User.username == username, User.active == True)).first()  # noqa: E712
    if user is None:
        raise Invalid(FIELDS_INVALID, [problem("caller.user", "no_active_user", username=username)])
    return Intake(reporter_id=user.id, department_id=department_id if department_id is not None else user.department_id,
                  caller_name=None, caller_phone=None, record={"channel": CHANNEL, "caller": {"user": user.username}})


def _named_call(session: Session, actor: Actor, given: dict, department_id: int | None) -> Intake:
    """A caller without an account: the dispatcher who wrote it down files it, the caller's department answers."""
    errors = []
    if not given["name"]:
        errors.append(problem("caller.name", "required"))
    elif len(given["name"]) > NAME_MAX:
        errors.append(problem("caller.name", "too_long", max=NAME_MAX))
    if not given["phone"]:
        errors.append(problem("caller.phone", "required"))
    elif len(given["phone"]) > PHONE_MAX or not PHONE.match(given["phone"]):
        errors.append(problem("caller.phone", "caller_phone", max=PHONE_MAX))
    department = None
    if not given["department"]:
        errors.append(problem("caller.department", "caller_department_needed"))
    else:
        try:
            department = department_named(session, given["department"])
        except Invalid:
            errors.append(problem("caller.department", "unknown_department", name=given["department"]))
    if department is not None and department_id is not None and department_id != department.id:
        errors.append(problem("department", "caller_department_only", name=department.name))
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    caller = {"name": given["name"], "phone": given["phone"], "department": department.name}
    return Intake(reporter_id=actor.id, department_id=department.id, caller_name=given["name"], caller_phone=given["phone"],
                  record={"channel": CHANNEL, "caller": caller})


def requesters(session: Session, order: WorkOrder, *, besides: int | None = None) -> list[User]:
    """The people who answer for the work order's requester, but `besides` (who acted: nobody is told what they
    did): its reporter; for a caller without an account, the active requesters and heads of its department
    (`workflows.authority.answers_as_reporter`)."""
    with reading(session, User, UserRole):
        return _requesters(session, order, besides)


def requester_ids(session: Session, order: WorkOrder, *, besides: int | None = None) -> list[int]:
    """As `requesters`, by id: a reporter with an account is told with no read."""
    if order.caller_name is None:
        return [order.reporter_id] if order.reporter_id not in (None, besides) else []
    return [person.id for person in requesters(session, order, besides=besides)]


def _requesters(session: Session, order: WorkOrder, besides: int | None) -> list[User]:
    if order.caller_name is None:
        reporter = session.get(User, order.reporter_id) if order.reporter_id not in (None, besides) else None
        return [reporter] if reporter is not None else []
    if order.department_id is None:
        return []
    answering = select(UserRole.user_id).where(UserRole.role.in_(sorted(CALLER_DEPARTMENT_ROLES)))
    people = session.exec(select(User).where(User.id.in_(answering), User.department_id == order.department_id,
                                             User.active == True).order_by(User.id)).all()  # noqa: E712
    return [person for person in people if person.id != besides]
