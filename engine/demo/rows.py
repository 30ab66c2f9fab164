"""The demo history written as the live engine would have written it, in bulk.

Each work order's moves go through `engine.foresight.timeline.replay`, which gives the timers, the
escalation rungs and the final priority by the engine's own timer rules; the rows are then the shapes the
engine writes for the same steps (engine/orders/workorders.py create and fire, engine/sla/escalation.py,
engine/orders/feedback.py, engine/sla/autoconfirm.py, engine/notify), inserted table by table with one
multi-row statement each, in the caller's transaction. Work order and timer ids come back from the inserts
(RETURNING), so nothing is guessed about sequences and the live engine carries on numbering after them.
"""
import json
import multiprocessing
import os
import threading
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, func, insert, update
from sqlmodel import Session, select

from engine.demo.staff import Staff
from engine.demo.stories import Move, Order
from engine.foresight import timeline
from engine.notify.messages import message
from engine.sla.lateness import past_due
from engine.storage.stored_json import StoredJSON
from engine.storage.models import (Asset, AutoConfirmTimer, Counter, Escalation, Feedback, History, Notification,
                                   RecurringRun, SlaTimer, WorkOrder)
from workflows.schema import ProcessDefinition, raised

READ_AFTER = timedelta(days=2)  # notifications older than this at "now" have been read
BATCH = 5000


class Writer:
    def __init__(self, session: Session, staff: Staff, definitions: dict[str, tuple[int, ProcessDefinition]],
                 calendars, calendar_version: int | None, now: datetime, zone: ZoneInfo):
        self.session, self.staff, self.definitions = session, staff, definitions
        self.calendars, self.version, self.now, self.zone = calendars, calendar_version, now, zone
        self.rows: dict[str, list[dict]] = {name: [] for name in ("history", "notifications", "escalations", "feedback",
                                                                   "auto_confirm_timers", "recurring_runs")}

    def write(self, orders: list[Order]) -> Tally:
        orders = sorted(orders, key=lambda order: order.filed)
        numbers = self._numbers(orders)
        outcomes = replay_all(orders, self.definitions, self.calendars, self.now)
        before = self._insert(WorkOrder, [self._order_row(order, number, outcome)
                                          for order, number, outcome in zip(orders, numbers, outcomes)])
        by_number = dict(self.session.execute(select(WorkOrder.number, WorkOrder.id).where(WorkOrder.id > before)).all())
        ids = [by_number[number] for number in numbers]
        timer_rows = [dict(timer, work_order_id=order_id, calendar_version=self.version)
                      for order_id, outcome in zip(ids, outcomes) for timer in outcome.timers]
        before = self._insert(SlaTimer, timer_rows)
        timer_ids = {(order_id, name, cycle): id_ for id_, order_id, name, cycle in self.session.execute(
            select(SlaTimer.id, SlaTimer.work_order_id, SlaTimer.name, SlaTimer.cycle).where(SlaTimer.id > before)).all()}
        for order, order_id, number, outcome in zip(orders, ids, numbers, outcomes):
            self._journey(order, order_id, number, outcome, timer_ids)
        for table, model in (("history", History), ("escalations", Escalation), ("notifications", Notification),
                             ("feedback", Feedback), ("auto_confirm_timers", AutoConfirmTimer),
                             ("recurring_runs", RecurringRun)):
            self._insert(model, self.rows[table])
        self._devices(orders, outcomes)
        written = Tally({table: len(rows) for table, rows in self.rows.items()})
        written.update(work_orders=len(ids), sla_timers=len(timer_rows))
        return written

    # --- work orders and their timers ------------------------------------------------------------------

    def _numbers(self, orders: list[Order]) -> list[str]:
        """RP-2026-000123 in filing order, after what the counters hold; the counters advanced past them."""
        values = {(row.prefix, row.year): row.value for row in self.session.exec(select(Counter)).all()}
        fresh = set()
        numbers = []
        for order in orders:
            prefix = self.definitions[order.process][1].number_prefix
            key = (prefix, order.filed.astimezone(self.zone).year)
            if key not in values:
                fresh.add(key)
            values[key] = values.get(key, 0) + 1
            numbers.append(f"{prefix}-{key[1]}-{values[key]:06d}")
        for key, value in values.items():
            if key in fresh:
                self.session.add(Counter(prefix=key[0], year=key[1], value=value))
            else:
                self.session.execute(update(Counter).where(Counter.prefix == key[0], Counter.year == key[1])
                                     .values(value=value))
        self.session.flush()
        return numbers

    def _order_row(self, order: Order, number: str, outcome: "Replayed") -> dict:
        version, definition = self.definitions[order.process]
        last = order.moves[-1]
        closed = last.state in definition.final_states()
        fields = dict(order.fields)
        for move in order.moves:
            fields.update(move.values)
        unsatisfied = definition.feedback.unsatisfied if definition.feedback else None
        reopened = sum(move.event == unsatisfied for move in order.moves) if unsatisfied else 0
        level = outcome.level
        if reopened and definition.feedback.escalate_unsatisfied:
            level = max(level, 1)
        holder, team = self._holder(order, definition, order.moves)
        return dict(number=number, process=order.process, definition_version=version, state=last.state,
                    priority=outcome.priority, department_id=order.department_id, location=order.location,
                    location_id=order.location_id, asset_id=order.asset_id, origin_id=None, title=order.title,
                    description="", fields=fields, reporter_id=order.reporter, assignee_id=holder, team_id=team,
                    first_contact_id=self._first_contact(order), version=1, escalation_level=level,
                    reopen_count=reopened, urge_count=0, urged_at=None, closed=closed,
                    auto_confirmed=any(move.verdict is not None and move.verdict.auto for move in order.moves),
                    reached_feedback=definition.feedback is not None
                    and any(move.state == definition.feedback.state for move in order.moves),
                    deadline_missed=any(timer["status"] == "breached" for timer in outcome.timers),
                    created_at=order.filed, updated_at=last.at, closed_at=last.at if closed else None)

    def _holder(self, order: Order, definition: ProcessDefinition, moves: list[Move]) -> tuple[int | None, int | None]:
        """Who holds the work order after `moves`, and its team (an assignment brings the assignee's team)."""
        claim = definition.dispatch.claim if definition.dispatch else None
        holder, team = None, order.team_id
        for move in moves:
            if move.assignee is not None:
                holder = move.assignee
                team = order.team_id if move.actor is None and order.team_id else self.staff.team_of.get(holder)
            elif move.event is not None and move.event == claim:
                holder = move.actor
        return holder, team

    def _first_contact(self, order: Order) -> int | None:
        desk = lambda uid: uid is not None and "dispatcher" in self.staff.roles.get(uid, ())  # noqa: E731
        return next((move.actor for move in order.moves if desk(move.actor)), None)

    def _insert(self, model, rows: list[dict]) -> int:
        """Insert `rows` with as few statements as the driver allows; returns the highest id before them, so
        the caller reads the new ids back by their keys (RETURNING with the rows' order kept would cost
        SQLite one statement per row)."""
        table = model.__table__
        before = self.session.execute(select(func.max(table.c.id))).scalar() or 0
        if rows and self.session.get_bind().dialect.name == "postgresql":
            self._copy(table, rows)
            return before
        for start in range(0, len(rows), BATCH):
            self.session.execute(insert(table), rows[start:start + BATCH])
        return before

    def _copy(self, table, rows: list[dict]) -> None:
        """PostgreSQL: COPY, in the session's transaction; times stored as the engine stores them (naive UTC),
        JSON as the engine serialises it. Several times faster than multi-row INSERTs for this many rows."""
        self.session.flush()
        columns = list(rows[0])
        documents = {column.name for column in table.columns if isinstance(column.type, (JSON, StoredJSON))}
        cursor = self.session.connection().connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c]) if c in documents else _stored(row[c]) for c in columns])

    # --- one work order's rows ---------------------------------------------------------------------------

    def _journey(self, order: Order, order_id: int, number: str, outcome: "Replayed",
                 timer_ids: dict) -> None:
        definition = self.definitions[order.process][1]
        title = f"{number} {order.title}"
        events: list[tuple[datetime, int, int, object]] = [(move.at, 1, n, move) for n, move in enumerate(order.moves)]
        events += [(rung.at, 0, n, rung) for n, rung in enumerate(outcome.rungs)]  # a rung fires before a step at its time
        events.sort(key=lambda item: item[:3])
        history = self.rows["history"]
        priority, level, done = order.priority, 0, []
        timers = {(timer["name"], timer["cycle"]): SimpleNamespace(**timer) for timer in outcome.timers}

        def note(user_ids, kind: str, said: dict, at: datetime, actor: int | None) -> None:
            recipients = list(dict.fromkeys(uid for uid in user_ids if uid is not None))
            if not recipients:
                return
            read = at + timedelta(hours=2) if at < self.now - READ_AFTER else None
            self.rows["notifications"] += [dict(user_id=uid, work_order_id=order_id, kind=kind, title=title, body="",
                                                message=said, created_at=at, read_at=read) for uid in recipients]
            history.append(dict(work_order_id=order_id, at=at, actor_id=actor, kind="notification", event=None,
                                from_state=None, to_state=None, comment=title,
                                data={"kind": kind, "recipients": recipients}, labour_minutes=None))

        def row(at, actor, kind, *, event=None, from_state=None, to_state=None, comment="", data=None,
                labour=None) -> None:
            history.append(dict(work_order_id=order_id, at=at, actor_id=actor, kind=kind, event=event,
                                from_state=from_state, to_state=to_state, comment=comment, data=data or {},
                                labour_minutes=labour))

        for at, _, _, item in events:
            if isinstance(item, timeline.Rung):
                spec = definition.sla[item.timer]
                step = next(s for s in spec.escalation if s.level == item.level)
                actions = []
                if item.raise_priority and raised(priority) != priority:
                    actions.append({"raise_priority": {"from": priority, "to": raised(priority)}})
                    priority = raised(priority)
                people = self._recipients(order, definition, step.recipients, done)
                names = [self.staff.usernames[uid] for uid in people]
                said = self._message(spec, timers[(item.timer, item.cycle)], step.level, at)
                self.rows["escalations"].append(dict(timer_id=timer_ids[(order_id, item.timer, item.cycle)],
                                                     work_order_id=order_id, level=item.level, fired_at=at,
                                                     recipients=names))
                row(at, None, "escalation",
                    data={"level": item.level, "timer": item.timer, "cycle": item.cycle, "recipients": names,
                          "actions": actions, "message": said})
                note(people, "escalation" if item.level >= 1 else "warning", said, at, None)
                level = max(level, item.level)
                continue
            move: Move = item
            done.append(move)
            if move.event is None:
                row(at, move.actor, "create", to_state=move.state,
                    data={"fields": order.fields, "priority": order.priority, "title": order.title})
                if order.run is not None:
                    key, period, rule = order.run
                    row(at, None, "schedule", comment=rule,
                        data={"rule": rule, "scheduled_for": period.isoformat(), "late": False,
                              **({"asset_id": order.asset_id} if "#" in key else {})})
                    self.rows["recurring_runs"].append(dict(rule=key, scheduled_for=period, created_at=at, late=False,
                                                            work_order_id=order_id))
                if order.routing is not None and order.routing.get("history"):
                    row(at, None, "dispatch", from_state=move.state, to_state=move.state, data=order.routing["history"])
                continue
            data = {"fields": move.values}
            if move.assignee is not None:
                data["assignee"] = self.staff.usernames[move.assignee]
            row(at, move.actor, "transition", event=move.event, from_state=move.from_state, to_state=move.state,
                comment=move.comment, data=data, labour=definition.labour_in(move.values))
            if move.assignee is not None:
                note([move.assignee], "assignment", move.comment, at, move.actor)
            if move.event in definition.notify_reporter and order.reporter != move.actor:
                text = definition.states[move.state].label.zh + (f"：{move.comment}" if move.comment.strip() else "")
                note([order.reporter], "progress", text, at, move.actor)
            verdict = move.verdict
            if verdict is not None:
                self.rows["feedback"].append(dict(work_order_id=order_id, satisfied=verdict.satisfied,
                                                  rating=verdict.rating, comment=verdict.comment, auto=verdict.auto,
                                                  at=at, by_id=move.actor))
                row(at, move.actor, "feedback", comment=verdict.comment,
                    data={"satisfied": verdict.satisfied, "rating": verdict.rating, "auto": verdict.auto})
                if not verdict.satisfied and definition.feedback.escalate_unsatisfied:
                    level = max(level, 1)
                    row(at, move.actor, "escalation", data={"level": level, "message": message("reopened_unsatisfied")})
                    note(self.staff.with_role("supervisor"), "escalation", message("reopened_unsatisfied"), at, move.actor)
        self._auto_confirm(order, order_id, definition)

    def _message(self, spec, timer, level: int, at: datetime) -> dict:
        """The rung's message as engine/sla/escalation._message says it (which reads the settings each time:
        too slow for thousands of rungs)."""
        late = "overdue" if past_due(timer.due_at, at) else "due"
        return message(f"sla_warning_{late}" if level == 0 else f"sla_escalated_{late}",
                       timer=spec.label.model_dump() if spec.label else {"zh": timer.name, "en": timer.name},
                       due=timer.due_at.astimezone(self.zone).strftime("%m-%d %H:%M"), level=level)

    def _recipients(self, order: Order, definition: ProcessDefinition, targets, done: list[Move]) -> list[int]:
        """The active people a rung names, as the sweeper resolves them at the moment it fires."""
        holder, team = self._holder(order, definition, done)
        found: dict[int, None] = {}
        for target in targets:
            if target.kind == "role":
                people = self.staff.with_role(target.name)
            elif target.kind == "user":
                people = [self.staff.ids[target.name]] if target.name in self.staff.ids else []
            elif target.kind == "dept_head":
                people = self.staff.in_department(order.department_id, "dept_head") if order.department_id else []
            elif target.kind == "team_lead":
                people = self.staff.leads.get(team, [])
            elif target.kind == "on_duty":
                people = [uid for uid, _ in self.staff.members.get(team, [])]
            else:
                person = {"assignee": holder, "reporter": order.reporter,
                          "first_contact": self._first_contact_of(done)}.get(target.kind)
                people = [person] if person is not None else []
            found.update(dict.fromkeys(uid for uid in people if uid in self.staff.usernames))
        return list(found)

    def _first_contact_of(self, moves: list[Move]) -> int | None:
        return next((m.actor for m in moves if m.actor is not None and "dispatcher" in self.staff.roles.get(m.actor, ())),
                    None)

    def _auto_confirm(self, order: Order, order_id: int, definition: ProcessDefinition) -> None:
        """The waits for a silent requester: one per entry into the feedback state, as engine/sla/autoconfirm.py."""
        spec = definition.feedback
        if spec is None or spec.auto_confirm is None:
            return
        wait, cycle, running = spec.auto_confirm, 0, None
        cal = self.calendars(wait.calendar)
        for move in order.moves:
            if running is not None and move.state != spec.state:
                auto = move.verdict is not None and move.verdict.auto
                running.update(status="confirmed" if auto else "cancelled", stopped_at=move.at, next_check_at=None)
                running = None
            elif running is None and move.state == spec.state:
                cycle += 1
                due = cal.add(move.at, minutes=wait.after.minutes, working_days=wait.after.days)
                running = dict(work_order_id=order_id, cycle=cycle, calendar=wait.calendar,
                               calendar_version=self.version, wait_minutes=wait.after.minutes,
                               wait_days=wait.after.days, started_at=move.at, due_at=due, status="running",
                               stopped_at=None, next_check_at=due)
                self.rows["auto_confirm_timers"].append(running)

    def _devices(self, orders: list[Order], outcomes) -> None:
        """A device with a repair still open is under repair (engine/places/assets.follow_work)."""
        open_on = {order.asset_id for order in orders if order.asset_id is not None and order.process == "repair"
                   and order.moves[-1].state not in self.definitions["repair"][1].final_states()}
        if open_on:
            self.session.execute(update(Asset).where(Asset.id.in_(open_on), Asset.status == "in_service")
                                 .values(status="under_repair"))


# --- the replays, on every core ------------------------------------------------------------------------

@dataclass
class Replayed:
    """What the engine's timer rules made of one work order's moves: its final priority, escalation level,
    timers (as rows, less the work order and calendars version) and the rungs that fired."""

    priority: str
    level: int
    timers: list[dict]
    rungs: list[timeline.Rung]


_JOB: tuple = ()  # what forked workers replay: set before the fork, read by them, never sent to them
PARALLEL_FROM = 2000  # fewer work orders than this are replayed here: starting workers would cost more


def replay_all(orders: list[Order], definitions, calendars, now: datetime) -> list[Replayed]:
    """Each order's replay (engine/foresight/timeline.py), shared out to forked workers when there are
    many: the replays are independent, and they are most of the time the history takes."""
    global _JOB
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    _JOB = (orders, definitions, calendars, now)
    try:
        # Forking a process that runs other threads could leave a lock held for good in the child.
        if (workers < 2 or len(orders) < PARALLEL_FROM or threading.active_count() > 1
                or "fork" not in multiprocessing.get_all_start_methods()):
            return _replay_range((0, len(orders)))
        size = -(-len(orders) // (workers * 4))
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_replay_range, [(start, start + size) for start in range(0, len(orders), size)])
        return [replayed for part in parts for replayed in part]
    finally:
        _JOB = ()


def _replay_range(bounds: tuple[int, int]) -> list[Replayed]:
    orders, definitions, calendars, now = _JOB
    out = []
    for order in orders[bounds[0]:bounds[1]]:
        definition = definitions[order.process][1]
        steps = [timeline.Step(at=move.at, event=move.event, state=move.state) for move in order.moves]
        outcome = timeline.replay(definition, calendars, priority=order.priority, fields=order.fields, steps=steps,
                                  until=now)
        out.append(Replayed(outcome.priority, outcome.escalation_level, [_timer_row(t) for t in outcome.timers],
                            outcome.rungs))
    return out


def _stored(value):
    return value.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(value, datetime) else value


def _timer_row(timer) -> dict:
    return dict(name=timer.name, cycle=timer.cycle, calendar=timer.calendar, target_minutes=timer.target_minutes,
                target_days=timer.target_days, started_at=timer.started_at, due_at=timer.due_at, status=timer.status,
                paused_at=timer.paused_at, paused_seconds=timer.paused_seconds or 0.0, stopped_at=timer.stopped_at,
                working_seconds=timer.working_seconds, breached=bool(timer.breached), level=timer.level,
                next_check_at=timer.next_check_at)
