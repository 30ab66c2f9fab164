"""What showing a work order needs beyond its own row, read in the same statement as the row.

A work order is shown with its department, people and place by name, its SLA timers and, on its
own page, its escalations, its origin and its follow-ups. Each of those is a correlated subquery
of the work order's SELECT (the lists of rows as one JSON array), so a page of fifty work orders
or one work order with its timers costs one statement, whatever their number. The history comes
in a second statement, each entry with its actor's name.
"""
import json
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy import JSON, func, literal_column, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from engine.errors import NotFound
from engine.orders import visibility
from engine.people.users import Actor
from engine.storage.models import Asset, Department, Escalation, History, Location, SlaTimer, User, WorkOrder

# The columns of a timer as the pages need them (all of them: lateness and the time left are computed
# from the row), and of a linked work order as a link shows it and `visibility.can_see` decides.
_TIMER = [column.name for column in SlaTimer.__table__.columns]
_LINKED = ["id", "number", "process", "title", "state", "closed",
           "reporter_id", "assignee_id", "first_contact_id", "department_id"]
_TIMES = {"started_at", "due_at", "paused_at", "stopped_at", "next_check_at", "fired_at"}


@dataclass
class Shown:
    """The names and rows a work order is shown with; `escalations`, `origin`, `follow_ups` only in detail."""

    department: str | None
    reporter: str | None
    assignee: str | None
    first_contact: str | None
    place: str | None
    asset: str | None
    timers: list[SimpleNamespace]  # an SlaTimer's columns, read only (building ORM objects costs more than the read)
    escalations: list[dict] = field(default_factory=list)
    origin: SimpleNamespace | None = None
    follow_ups: list[SimpleNamespace] = field(default_factory=list)


def get(session: Session, actor: Actor, order_id: int) -> tuple[WorkOrder, Shown]:
    """The work order `actor` may see with all its detail shows, in one statement (404 otherwise)."""
    row = session.execute(select(WorkOrder, *columns(session, detail=True)).where(WorkOrder.id == order_id)).first()
    if row is None or not visibility.can_see(actor, row[0]):
        raise NotFound("work_order_not_found", id=order_id)
    return row[0], decoded(row, actor)


def of(session: Session, orders: list[WorkOrder], actor: Actor | None = None, *, detail: bool = False) -> dict[int, Shown]:
    """`Shown` for work orders already read (a page of a list, an order just changed): one statement."""
    if not orders:
        return {}
    rows = session.execute(select(WorkOrder.id, *columns(session, detail=detail))
                           .where(WorkOrder.id.in_([order.id for order in orders]))).all()
    return {row[0]: decoded(row, actor) for row in rows}


def page(rows: list) -> tuple[list[WorkOrder], dict[int, Shown]]:
    """The rows of a list read with `columns` (workorders.search): the work orders, and each one's `Shown`."""
    return [row[0] for row in rows], {row[0].id: decoded(row, None) for row in rows}


def history(session: Session, order_id: int) -> list[tuple[History, str | None]]:
    """The timeline, oldest first, each entry with its actor's username: one statement."""
    return [tuple(row) for row in session.execute(
        select(History, User.username).outerjoin(User, User.id == History.actor_id)
        .where(History.work_order_id == order_id).order_by(History.id)).all()]


# --- the columns ------------------------------------------------------------------------------

def columns(session: Session, *, detail: bool = False) -> list:
    """Correlated subqueries of a SELECT of work orders: names, place, device, timers (and with `detail` the
    escalations, origin and follow-ups)."""
    return _built(session.get_bind().dialect.name, detail)


@cache
def _built(dialect: str, detail: bool) -> list:
    """Built once per database kind: aliases and subqueries cost more to build than the statement takes to run,
    and the same objects let SQLAlchemy reuse its compiled statement."""
    as_json = _Json(dialect)
    reporter, assignee, contact = aliased(User), aliased(User), aliased(User)
    columns = [
        _scalar(Department.name, Department.id == WorkOrder.department_id),
        _scalar(reporter.username, reporter.id == WorkOrder.reporter_id),
        _scalar(assignee.username, assignee.id == WorkOrder.assignee_id),
        _scalar(contact.username, contact.id == WorkOrder.first_contact_id),
        _scalar(Location.full_name, Location.id == WorkOrder.location_id),
        _scalar(Asset.asset_no + " " + Asset.name, Asset.id == WorkOrder.asset_id),
        as_json.rows(SlaTimer, _TIMER, SlaTimer.work_order_id == WorkOrder.id),
    ]
    if detail:
        origin, follow_up = aliased(WorkOrder), aliased(WorkOrder)
        columns += [
            as_json.rows(Escalation, ["id", "level", "fired_at", "recipients"], Escalation.work_order_id == WorkOrder.id),
            as_json.one(origin, _LINKED, origin.id == WorkOrder.origin_id),
            as_json.rows(follow_up, _LINKED, follow_up.origin_id == WorkOrder.id),
        ]
    return columns


def _scalar(column, where):
    return select(column).where(where).scalar_subquery()


class _Json:
    """Rows as JSON in the database's own words: SQLite's json_object/json_group_array, PostgreSQL's
    json_build_object/json_agg. JSON columns are embedded as JSON, not as the text SQLite stores."""

    def __init__(self, dialect: str):
        self.postgres = dialect == "postgresql"

    def _object(self, entity, names: list[str]):
        pairs = []
        for name in names:
            column = getattr(entity, name)
            if not self.postgres and isinstance(column.type, JSON):  # SQLite stores JSON as text
                column = func.json(column)
            pairs += [literal_column(f"'{name}'"), column]
        return (func.json_build_object if self.postgres else func.json_object)(*pairs)

    def rows(self, entity, names: list[str], where):
        objects = self._object(entity, names)
        every = func.coalesce(func.json_agg(objects), literal_column("'[]'::json")) if self.postgres \
            else func.json_group_array(objects)
        return select(every).where(where).scalar_subquery()

    def one(self, entity, names: list[str], where):
        return select(self._object(entity, names)).where(where).scalar_subquery()


# --- reading it back ----------------------------------------------------------------------------

def decoded(row, actor: Actor | None) -> Shown:
    """A row of `_columns` back as Python: JSON decoded (SQLite answers text, psycopg decodes), times aware,
    linked work orders kept only where `actor` may see them."""
    department, reporter, assignee, contact, place, asset, timers, *detail = row[1:]
    shown = Shown(department=department, reporter=reporter, assignee=assignee, first_contact=contact, place=place,
                  asset=asset, timers=[SimpleNamespace(**_times(t)) for t in _by_id(timers)])
    if detail:
        escalations, origin, follow_ups = detail
        shown.escalations = [_times(e) for e in _by_id(escalations)]
        shown.origin = _visible(actor, [_loaded(origin)] if origin is not None else [])
        shown.follow_ups = _visible(actor, _by_id(follow_ups), every=True)
    return shown


def _loaded(value):
    return json.loads(value) if isinstance(value, str) else value


def _by_id(rows) -> list[dict]:
    return sorted(_loaded(rows) or [], key=lambda row: row["id"])


def _times(row: dict) -> dict:
    """ISO texts back to aware UTC datetimes (both databases store naive UTC)."""
    return {name: _utc(value) if name in _TIMES and value is not None else value for name, value in row.items()}


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _visible(actor: Actor | None, rows: list[dict], every: bool = False):
    linked = [SimpleNamespace(**row) for row in rows]
    seen = [order for order in linked if actor is None or visibility.can_see(actor, order)]
    return seen if every else (seen[0] if seen else None)
