"""The monthly appraisal (绩效考核): per person and per team, what they finished and how well.

A work order is *done* in the local month it closed, in one of the `done` states the piece-rate
file (engine.published.data_files: $HOUQIN_APPRAISAL, else definitions/appraisal.yaml) gives its
process (any final state of a process the file does not list); it is credited to its assignee and
the assignee's team when it closed. Of the done work orders: how many, their timers' on-time rate,
the requesters' satisfaction (real ratings only: a confirmation by silence says nothing), how many
were sent back for rework (reopened), how many were urged, and their piece-rate points (计件).
Labour minutes are those each person recorded in the month, on any work order.

Supervisors and leaders see everyone; a technician sees their own line only. Each figure is one
query grouped by person or team, whatever the number of people.
"""
from sqlalchemy import and_, case, func, literal, or_
from sqlmodel import Session, select

from engine import settings
from engine.errors import Forbidden
from engine.people.users import Actor
from engine.published import data_files, definitions
from engine.reports import periods
from engine.reports.dashboard import ENDED, _SLA_ONLY, _count_if, _rate, _whole
from engine.storage.models import Feedback, History, SlaTimer, Team, User, WorkOrder
from workflows.appraisal import Appraisal, load_file
from workflows.schema import ProcessDefinition

EVERYONE = frozenset({"supervisor", "leader"})
OWN = "technician"


def current() -> Appraisal:
    return data_files.current(settings.current().appraisal_path, load_file, Appraisal, "appraisal")


def may_see(actor: Actor) -> bool:
    return bool(actor.roles & EVERYONE) or actor.has(OWN)


def appraisal(session: Session, actor: Actor, month: str) -> dict:
    """`{"month", "people": [...], "teams": [...]}`, each line with the figures of the module's docstring."""
    if not may_see(actor):
        raise Forbidden("appraisal_roles")
    start, end = periods.month(month)
    processes = {row.key: definitions.compiled(session, row.key, row.version).definition
                 for row in definitions.current_rows(session)}
    rates = current()
    done, points = _done(processes, rates, start, end), _points(rates)
    everyone = bool(actor.roles & EVERYONE)
    only = None if everyone else actor.id
    people = _lines(session, WorkOrder.assignee_id, History.actor_id, done, points, start, end, only)
    teams = _lines(session, WorkOrder.team_id, User.team_id, done, points, start, end, None) if everyone else {}
    return {"month": month, "people": _named_people(session, people), "teams": _named_teams(session, teams)}


def _done(processes: dict[str, ProcessDefinition], rates: Appraisal, start, end):
    """Work orders closed in [start, end) in a state that is work done."""
    states = [and_(WorkOrder.process == key, WorkOrder.state.in_(
        rates.processes[key].done if key in rates.processes else sorted(d.final_states())))
        for key, d in processes.items()]
    return and_(WorkOrder.closed == True, WorkOrder.closed_at >= start, WorkOrder.closed_at < end,  # noqa: E712
                or_(*states) if states else literal(False))


def _points(rates: Appraisal):
    """A work order's piece-rate points as SQL: its choice's points (else the process's) × its priority's factor."""
    branches = []
    for key, rate in rates.processes.items():
        base = literal(rate.points)
        if rate.field and rate.by_choice:
            choice = WorkOrder.fields[rate.field].as_string()
            base = case(*[(choice == value, literal(points)) for value, points in rate.by_choice.items()],
                        else_=literal(rate.points))
        factor = case(*[(WorkOrder.priority == name, literal(value)) for name, value in rate.priority.items()],
                      else_=literal(1.0)) if rate.priority else literal(1.0)
        branches.append((WorkOrder.process == key, base * factor))
    return case(*branches, else_=literal(0.0)) if branches else literal(0.0)


def _lines(session: Session, group, labour_group, done, points, start, end, only: int | None) -> dict:
    """The figures per value of `group` (a person's or a team's id), one query per figure."""
    mine = (group == only) if only is not None else group.is_not(None)
    lines: dict[int, dict] = {}

    def line(key) -> dict:
        return lines.setdefault(key, {"done": 0, "points": 0.0, "reworked": 0, "urged": 0, "on_time_met": 0,
                                      "on_time_ended": 0, "ratings": 0, "satisfied": 0, "labour_minutes": 0.0})

    for key, count, points, reworked, urged in session.exec(
        select(group, func.count(), func.sum(points), _count_if(WorkOrder.reopen_count > 0),
               _count_if(WorkOrder.urge_count > 0)).where(done, mine).group_by(group)
    ).all():
        line(key).update(done=count, points=round(float(points or 0), 2), reworked=int(reworked), urged=int(urged))
    for key, met, ended in session.exec(
        select(group, _count_if(SlaTimer.status == "met"), _count_if(SlaTimer.status.in_(ENDED)))
        .join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id)
        .where(done, mine, _SLA_ONLY).group_by(group)
    ).all():
        line(key).update(on_time_met=int(met), on_time_ended=int(ended))
    for key, ratings, satisfied in session.exec(
        select(group, func.count(), _count_if(Feedback.satisfied == True))  # noqa: E712
        .join(WorkOrder, WorkOrder.id == Feedback.work_order_id)
        .where(done, mine, Feedback.auto == False).group_by(group)  # noqa: E712
    ).all():
        line(key).update(ratings=int(ratings), satisfied=int(satisfied))
    for key, minutes in _labour(session, labour_group, start, end, only):
        line(key)["labour_minutes"] = minutes
    for figures in lines.values():
        figures["on_time_rate"] = _rate(figures["on_time_met"], figures["on_time_ended"])
        figures["satisfaction_rate"] = _rate(figures["satisfied"], figures["ratings"])
        figures["rework_rate"] = _rate(figures["reworked"], figures["done"])
    return lines


def _labour(session: Session, group, start, end, only: int | None):
    """Labour minutes recorded in the month, per person (or per the recorder's team), one query in all: the
    number each step kept from its process's labour field."""
    minutes = History.labour_minutes
    query = (select(group, func.sum(minutes)).select_from(History).join(User, User.id == History.actor_id)
             .where(History.at >= start, History.at < end, minutes.is_not(None),
                    group.is_not(None) if only is None else History.actor_id == only)
             .group_by(group))
    return [(key, _whole(total or 0)) for key, total in session.exec(query).all()]


def _named_people(session: Session, lines: dict) -> list[dict]:
    users = {user.id: user for user in session.exec(select(User).where(User.id.in_(lines)))} if lines else {}
    teams = _team_names(session, {user.team_id for user in users.values()})
    rows = [{"user": users[key].username, "name": users[key].display_name or users[key].username,
             "team": teams.get(users[key].team_id), **figures} for key, figures in lines.items() if key in users]
    return sorted(rows, key=lambda row: (-row["points"], -row["done"], row["user"]))


def _named_teams(session: Session, lines: dict) -> list[dict]:
    names = _team_names(session, set(lines))
    rows = [{"team": names[key], **figures} for key, figures in lines.items() if key in names]
    return sorted(rows, key=lambda row: (-row["points"], row["team"]))


def _team_names(session: Session, ids: set) -> dict[int, str]:
    ids = {key for key in ids if key is not None}
    return dict(session.exec(select(Team.id, Team.name).where(Team.id.in_(ids))).all()) if ids else {}
