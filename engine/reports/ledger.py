"""The risk ledger (风险台账): every work order of a ledger process is one row, until it is crossed off.

Which process is a ledger, which form fields are its columns, which SLA timer
gives the deadline and which events are rounds of re-inspection: the
definition's `ledger` section says; nothing here knows about hazards. A page of
rows costs a fixed handful of queries (orders, deadline timers, inspection
rounds, names), whatever its length; an export walks the ledger in batches.
"""
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import func
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Invalid, NotFound, problem
from engine.orders import visibility as permissions
from engine.people.users import Actor
from engine.places import locations
from engine.published import definitions
from engine.reports import periods
from engine.sla import lateness
from engine.storage.models import Department, History, Location, SlaTimer, User, WorkOrder
from workflows.schema import Label, ProcessDefinition

MAX_PAGE = 200
BATCH = 500
FILTERABLE_TYPES = ("choice", "string", "text", "user")
# Columns every ledger has, around the ones its definition declares.
BUILT_IN = {
    "number": Label(zh="编号", en="Number"),
    "found_at": Label(zh="发现时间", en="Found at"),
    "title": Label(zh="标题", en="Title"),
    "place": Label(zh="地点", en="Place"),  # the node of the location tree
    "location": Label(zh="位置", en="Location"),  # the free-text detail beside it
    "found_by": Label(zh="发现人", en="Found by"),
    "department": Label(zh="责任部门", en="Responsible department"),
    "deadline": Label(zh="期限", en="Deadline"),
    "status": Label(zh="状态", en="Status"),
    "overdue": Label(zh="是否逾期", en="Overdue"),
    "inspections": Label(zh="复查记录", en="Re-inspections"),
    "failed_rounds": Label(zh="复查不通过次数", en="Failed re-inspections"),
    "closed_out_by": Label(zh="销号人", en="Closed out by"),
    "closed_out_at": Label(zh="销号时间", en="Closed out at"),
}
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}


@dataclass
class Filters:
    process: str | None = None
    status: str | None = None  # a state, or `open` / `closed`
    department: str | None = None
    start: datetime | None = None  # found (created) at or after
    end: datetime | None = None  # found before
    location_id: int | None = None  # this place of the tree and everything under it
    fields: dict[str, str] = field(default_factory=dict)  # declared columns, by value
    limit: int = 50
    offset: int = 0


@dataclass
class Ledger:
    process: str
    definition: ProcessDefinition

    @property
    def spec(self):
        return self.definition.ledger

    def columns(self, language: str = "zh") -> list[dict]:
        """Column keys with their headers, in the order of a row in an export."""
        def text(label: Label) -> str:
            return label.en if language == "en" else label.zh

        keys = ["number", "found_at", "title", "place", "location", "found_by"]
        labels = {key: BUILT_IN[key] for key in BUILT_IN}
        if self.spec.department_field is None:
            keys.append("department")
        for name in self.spec.columns:
            keys.append(name)
            spec = self.definition.fields[name]
            labels[name] = spec.label or Label(zh=name, en=name)
        if self.spec.deadline:
            keys.append("deadline")
            timer = self.definition.sla[self.spec.deadline]
            labels["deadline"] = timer.label or BUILT_IN["deadline"]
        keys += ["status", "overdue"]
        if self.spec.inspection:
            keys += ["inspections", "failed_rounds"]
        keys += ["closed_out_by", "closed_out_at"]
        return [{"key": key, "label": text(labels[key])} for key in keys]


def ledgers(session: Session) -> list[Ledger]:
    """The current definitions that declare a ledger."""
    found = []
    for row in definitions.current_rows(session):
        definition = definitions.compiled(session, row.key, row.version).definition
        if definition.ledger is not None:
            found.append(Ledger(row.key, definition))
    return found


def ledger_for(session: Session, process: str | None) -> Ledger:
    available = ledgers(session)
    if process:
        match = next((ledger for ledger in available if ledger.process == process), None)
        if match is None:
            raise NotFound("no_ledger_for", process=process, processes=[ledger.process for ledger in available],
                           titles=[ledger.definition.title.model_dump() for ledger in available])
        return match
    if not available:
        raise NotFound("no_ledger")
    if len(available) > 1:
        raise Invalid("which_ledger", [problem("process", "which_ledger", processes=[l.process for l in available])],
                      processes=[l.process for l in available])
    return available[0]


# --- querying -----------------------------------------------------------------------------------

def _query(session: Session, actor: Actor | None, ledger: Ledger, f: Filters):
    definition, spec = ledger.definition, ledger.spec
    errors = []
    query = select(WorkOrder).where(WorkOrder.process == ledger.process)
    if actor is not None:
        visible = permissions.visible_clause(actor)
        if visible is not None:
            query = query.where(visible)
    if f.status in ("open", "closed"):
        query = query.where(WorkOrder.closed == (f.status == "closed"))
    elif f.status:
        if f.status not in definition.states:
            errors.append(problem("status", "ledger_status", states=list(definition.states),
                                  labels=[state.label.model_dump() for state in definition.states.values()]))
        query = query.where(WorkOrder.state == f.status)
    if f.department:
        if spec.department_field:
            query = query.where(WorkOrder.fields[spec.department_field].as_string() == f.department)
        else:
            query = query.join(Department, Department.id == WorkOrder.department_id).where(Department.name == f.department)
    for name, value in f.fields.items():
        field_spec = definition.fields.get(name) if name in spec.columns else None
        if field_spec is None or field_spec.type not in FILTERABLE_TYPES:
            allowed = [c for c in spec.columns if definition.fields[c].type in FILTERABLE_TYPES]
            errors.append(problem(name, "not_filterable", allowed=allowed + ["status", "department", "from", "to"]))
        elif field_spec.type == "choice" and value not in field_spec.choices:
            errors.append(problem(name, "not_a_choice", choices=list(field_spec.choices),
                                  choice_labels=[c.label.model_dump() if c.label else str(c) for c in field_spec.choices]))
        else:
            query = query.where(WorkOrder.fields[name].as_string() == value)
    if f.location_id is not None:
        if session.get(Location, f.location_id) is None:
            errors.append(problem("location_id", "no_location", id=f.location_id))
        query = query.where(locations.within(WorkOrder.location_id, session, f.location_id))
    if f.start:
        query = query.where(WorkOrder.created_at >= f.start)
    if f.end:
        query = query.where(WorkOrder.created_at < f.end)
    if f.start and f.end and f.end <= f.start:
        errors.append(problem("to", "to_before_from"))
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    return query.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())


def page(session: Session, actor: Actor | None, f: Filters, now: datetime) -> tuple[Ledger, list[dict], int]:
    ledger = ledger_for(session, f.process)
    query = _query(session, actor, ledger, f)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    orders = session.exec(query.offset(max(f.offset, 0)).limit(max(1, min(f.limit, MAX_PAGE)))).all()
    return ledger, _rows(session, ledger, list(orders), now), total


def every_row(session: Session, actor: Actor | None, f: Filters, now: datetime) -> tuple[Ledger, Iterator[dict]]:
    """All matching rows, fetched a batch at a time (for exports: people by their display names)."""
    ledger = ledger_for(session, f.process)
    query = _query(session, actor, ledger, f)

    def walk():
        offset = 0
        while True:
            orders = list(session.exec(query.offset(offset).limit(BATCH)).all())
            yield from _rows(session, ledger, orders, now, display_names=True)
            if len(orders) < BATCH:
                return
            offset += BATCH

    return ledger, walk()


def _rows(session: Session, ledger: Ledger, orders: list[WorkOrder], now: datetime, *,
          display_names: bool = False) -> list[dict]:
    if not orders:
        return []
    definition, spec = ledger.definition, ledger.spec
    ids = [order.id for order in orders]
    deadlines = {}
    if spec.deadline:
        for timer in session.exec(select(SlaTimer).where(SlaTimer.work_order_id.in_(ids), SlaTimer.name == spec.deadline)
                                  .order_by(SlaTimer.cycle)).all():
            deadlines[timer.work_order_id] = timer  # the latest cycle wins
    rounds: dict[int, list[History]] = {}
    passed = set(spec.inspection.passed) if spec.inspection else set()
    failed = set(spec.inspection.failed) if spec.inspection else set()
    finals = definition.final_states()
    closings: dict[int, History] = {}
    for row in session.exec(select(History).where(
            History.work_order_id.in_(ids), History.kind == "transition",
            (History.event.in_(passed | failed)) | History.to_state.in_(finals)).order_by(History.id)).all():
        if row.event in passed | failed:
            rounds.setdefault(row.work_order_id, []).append(row)
        if row.to_state in finals:
            closings[row.work_order_id] = row
    people = {order.reporter_id for order in orders} | {h.actor_id for hs in rounds.values() for h in hs} | {
        h.actor_id for h in closings.values()}
    names = {uid: (display_name or username) if display_names else username for uid, username, display_name in
             session.exec(select(User.id, User.username, User.display_name).where(User.id.in_(people - {None}))).all()}
    departments = {} if spec.department_field else dict(session.exec(select(Department.id, Department.name).where(
        Department.id.in_({o.department_id for o in orders} - {None}))).all())
    places = locations.full_names(session, {order.location_id for order in orders})

    out = []
    for order in orders:
        timer = deadlines.get(order.id)
        closing = closings.get(order.id) if order.closed else None
        state = definition.states.get(order.state)
        history = [
            {"round": number, "result": "passed" if h.event in passed else "failed", "event": h.event,
             "by": names.get(h.actor_id), "at": h.at, "comment": h.comment}
            for number, h in enumerate(rounds.get(order.id, []), start=1)
        ]
        out.append({
            "id": order.id, "number": order.number, "found_at": order.created_at, "title": order.title,
            "place": places.get(order.location_id), "location": order.location,
            "found_by": names.get(order.reporter_id),
            "department": order.fields.get(spec.department_field) if spec.department_field else departments.get(order.department_id),
            "fields": {name: order.fields.get(name) for name in spec.columns},
            "deadline": timer.due_at if timer else None,
            "status": order.state, "status_label": state.label.model_dump() if state else None,
            "overdue": bool(timer and not order.closed and lateness.timer_is_late(timer, now)),
            "inspections": history, "failed_rounds": sum(1 for h in history if h["result"] == "failed"),
            "closed_out_by": names.get(closing.actor_id) if closing else None,
            "closed_out_at": order.closed_at if order.closed else None,
        })
    return out


# --- exporting ----------------------------------------------------------------------------------

def _cells(ledger: Ledger, row: dict, language: str) -> list:
    """One row as the values of the export's columns; times in the hospital's local time."""
    definition = ledger.definition
    yes, no = YES_NO.get(language, YES_NO["zh"])

    def label(value: Label | None, default: str) -> str:
        return (value.en if language == "en" else value.zh) if value else default

    def when(moment):
        return periods.local(moment).replace(tzinfo=None) if moment else None

    values = {
        "number": row["number"], "found_at": when(row["found_at"]), "title": row["title"], "place": row["place"],
        "location": row["location"],
        "found_by": row["found_by"], "department": row["department"], "deadline": when(row["deadline"]),
        "status": label(definition.states[row["status"]].label if row["status"] in definition.states else None, row["status"]),
        "overdue": yes if row["overdue"] else no,
        "inspections": "\n".join(
            f"{r['round']}. {label(definition.event_label(r['event']), r['event'])} "
            f"{when(r['at']):%Y-%m-%d %H:%M} {r['by'] or ''}" + (f": {r['comment']}" if r["comment"] else "")
            for r in row["inspections"]),
        "failed_rounds": row["failed_rounds"], "closed_out_by": row["closed_out_by"],
        "closed_out_at": when(row["closed_out_at"]),
        # a choice as its definition labels it; any other value, or a choice left unlabelled, as stored
        **{name: label(definition.fields[name].choice_label(value), value) for name, value in row["fields"].items()},
    }
    out = []
    for column in ledger.columns(language):
        value = values.get(column["key"])
        out.append(", ".join(map(str, value)) if isinstance(value, list) else value)
    return out


def to_xlsx(ledger: Ledger, rows: Iterator[dict], language: str = "zh") -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(ledger.spec.title.en if language == "en" else ledger.spec.title.zh)[:31])
    sheet.append([column["label"] for column in ledger.columns(language)])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in _cells(ledger, row, language)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # typed text, never a formula
    return cell


def to_csv(ledger: Ledger, rows: Iterator[dict], language: str = "zh") -> Iterator[str]:
    """CSV text, starting with a byte-order mark so that Excel reads the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([column["label"] for column in ledger.columns(language)])
    yield "\ufeff" + flush()
    for row in rows:
        writer.writerow([_csv_value(value) for value in _cells(ledger, row, language)])
        yield flush()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet would run a cell that starts like a formula: keep it text
    return str(value)
