"""Teams, their members and rotas (排班): who is on duty at a given moment.

A shift has local hours (08:00-17:30; 17:30-08:00 runs past midnight; equal
times are a 24-hour standby) and the days it runs on the hospital's calendar
(all days, workdays or rest days, so holidays and make-up working days count).
A rota entry puts a person on a shift for the date the shift starts. "On duty at
t" is then: the entries of the shifts covering t that started today or
yesterday (local), which one indexed query over two dates answers whatever the
size of the rota.
"""
from collections.abc import Set
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from io import BytesIO
from zoneinfo import ZoneInfo

from sqlalchemy import Date, bindparam, or_
from sqlmodel import Session, select

from engine import settings
from engine.sla import calendar as calendars
from engine.errors import FIELDS_INVALID, Invalid, NotFound, problem
from engine.storage.models import RotaEntry, Shift, Team, TeamMember, User
from engine.people.users import team_named

SHIFT_DAYS = ("all", "workdays", "restdays")


@dataclass
class OnDuty:
    """A person on duty now, on which shift, with their skills."""

    user_id: int
    username: str
    display_name: str
    shift: str
    skills: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# --- teams and members ---------------------------------------------------------------------------

def team_by_name(session: Session, name: str) -> Team | None:
    return session.exec(select(Team).where(Team.name == name)).first()


def get_team(session: Session, name: str) -> Team:
    found = team_by_name(session, name)
    if found is None:
        raise NotFound("no_team_named", name=name)
    return found


def ensure_team(session: Session, name: str, *, calendar: str | None = None) -> Team:
    team = team_named(session, name, create=True)
    if calendar is not None:
        _calendar_known(session, calendar)
        team.calendar = calendar
        session.add(team)
    return team


def add_member(session: Session, team: Team, user: User, *, skills: list[str] = (), lead: bool = False) -> TeamMember:
    member = session.get(TeamMember, (team.id, user.id)) or TeamMember(team_id=team.id, user_id=user.id)
    member.skills, member.lead = ",".join(sorted({skill.strip() for skill in skills if skill.strip()})), lead
    if user.team_id is None:
        user.team_id = team.id
        session.add(user)
    session.add(member)
    return member


def members(session: Session, team: Team) -> list[tuple[User, TeamMember]]:
    return list(session.exec(
        select(User, TeamMember).join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id).order_by(User.username)).all())


def leads(session: Session, team_id: int) -> list[User]:
    return list(session.exec(
        select(User).join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team_id, TeamMember.lead == True, User.active == True)).all())  # noqa: E712


# --- shifts and rota -----------------------------------------------------------------------------

def add_shift(session: Session, team: Team, name: str, hours: str, *, days: str = "all",
              calendar: str = "workday") -> Shift:
    """`hours` as '08:00-17:30'; `days` all, workdays or restdays of `calendar`."""
    starts, ends = _hours(hours)
    if days not in SHIFT_DAYS:
        raise Invalid(FIELDS_INVALID, [problem("days", "shift_days", days=list(SHIFT_DAYS))])
    _calendar_known(session, calendar)
    shift = session.exec(select(Shift).where(Shift.team_id == team.id, Shift.name == name)).first()
    shift = shift or Shift(team_id=team.id, name=name, starts=starts, ends=ends)
    shift.starts, shift.ends, shift.days, shift.calendar = starts, ends, days, calendar
    session.add(shift)
    session.flush()
    return shift


def shifts(session: Session, team: Team) -> list[Shift]:
    return list(session.exec(select(Shift).where(Shift.team_id == team.id).order_by(Shift.starts, Shift.name)).all())


def put_on(session: Session, shift: Shift, day: date, people: list[User]) -> None:
    """Who is on `shift` starting on `day`: replaces whoever was."""
    for entry in session.exec(select(RotaEntry).where(RotaEntry.shift_id == shift.id, RotaEntry.day == day)).all():
        session.delete(entry)
    session.flush()
    for user in {user.id: user for user in people}.values():
        session.add(RotaEntry(shift_id=shift.id, day=day, user_id=user.id))
    session.flush()


def rota(session: Session, team: Team, first: date, last: date) -> list[tuple[date, str, list[str]]]:
    """(date, shift, usernames) for every date and shift of the team in [first, last]."""
    by_shift = {shift.id: shift for shift in shifts(session, team)}
    rows = session.exec(
        select(RotaEntry.day, RotaEntry.shift_id, User.username).join(User, User.id == RotaEntry.user_id)
        .where(RotaEntry.shift_id.in_(list(by_shift) or [-1]), RotaEntry.day >= first, RotaEntry.day <= last)
        .order_by(RotaEntry.day, User.username)).all()
    found: dict[tuple[date, int], list[str]] = {}
    for day, shift_id, username in rows:
        found.setdefault((day, shift_id), []).append(username)
    out = []
    day = first
    while day <= last:
        for shift in by_shift.values():
            out.append((day, shift.name, found.get((day, shift.id), [])))
        day += timedelta(days=1)
    return out


# --- who is on duty ------------------------------------------------------------------------------

def on_duty(session: Session, team_id: int, at: datetime) -> list[OnDuty]:
    """The team's members on duty at `at`, one entry per person (their first covering shift)."""
    roster = on_duty_roster(session, team_id, at)
    names = usernames(session, [user_id for user_id, _, _ in roster])
    return [OnDuty(user_id, *names[user_id], shift, skills) for user_id, shift, skills in roster]


def on_duty_roster(session: Session, team_id: int, at: datetime) -> list[tuple[int, str, list[str]]]:
    """(user id, shift, skills) of each member on duty at `at`, by user id: what routing needs of hundreds of
    people, without their names."""
    local = at.astimezone(_zone())
    team_shifts = session.exec(select(Shift).where(Shift.team_id == team_id)).all()
    lookup = _lookup(session)
    covering = {(shift.id, day): shift for shift in team_shifts for day in _days(local)
                if _covers(shift, day, local, lookup)}
    if not covering:
        return []
    params = {"team_id": team_id}
    for index, (shift_id, day) in enumerate(covering):
        params[f"s{index}"], params[f"d{index}"] = shift_id, day
    rows = session.execute(_roster_statement(len(covering)), params).all()
    seen, roster = set(), []
    for user_id, shift_id, day, skills in rows:
        if user_id not in seen:
            seen.add(user_id)
            roster.append((user_id, covering[(shift_id, day)].name, skills.split(",") if skills else []))
    return roster


@lru_cache(maxsize=8)
def _roster_statement(pairs: int):
    """Built once per number of covering (shift, date) pairs: composing a select costs more than running it."""
    entry, user, member = RotaEntry.__table__.c, User.__table__.c, TeamMember.__table__.c
    return (
        select(entry.user_id, entry.shift_id, entry.day, member.skills)
        .join_from(RotaEntry.__table__, User.__table__, user.id == entry.user_id)
        .join(TeamMember.__table__, (member.user_id == entry.user_id) & (member.team_id == bindparam("team_id")),
              isouter=True)
        .where(or_(*[(entry.shift_id == bindparam(f"s{i}")) & (entry.day == bindparam(f"d{i}", type_=Date))
                     for i in range(pairs)]), user.active == True)  # noqa: E712
        .order_by(entry.user_id))


def usernames(session: Session, user_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{id: (username, display name)}."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name).where(User.id.in_(user_ids))).all()
    return {user_id: (username, name or username) for user_id, username, name in rows}


def on_duty_teams(session: Session, user_id: int, at: datetime) -> frozenset[int]:
    """The teams whose rota has this person on duty at `at` (what the `on_duty` role asks)."""
    local = at.astimezone(_zone())
    rows = session.exec(select(Shift, RotaEntry.day).join(RotaEntry, RotaEntry.shift_id == Shift.id)
                        .where(RotaEntry.user_id == user_id, RotaEntry.day.in_(_days(local)))).all()
    lookup = _lookup(session)
    return frozenset(shift.team_id for shift, day in rows if _covers(shift, day, local, lookup))


class DutyTeams(Set):
    """`on_duty_teams` read on first use: most requests never ask whom the signed-in person is on duty for, and
    those cost no query for it."""

    def __init__(self, session: Session, user_id: int, at: datetime):
        self._read = lambda: on_duty_teams(session, user_id, at)
        self._teams: frozenset[int] | None = None

    def _known(self) -> frozenset[int]:
        if self._teams is None:
            self._teams = self._read()
        return self._teams

    def __contains__(self, team_id) -> bool:
        return team_id in self._known()

    def __iter__(self):
        return iter(self._known())

    def __len__(self) -> int:
        return len(self._known())

    def __hash__(self) -> int:  # as the frozenset it stands for (an Actor is a frozen dataclass)
        return hash(self._known())

    @classmethod
    def _from_iterable(cls, teams) -> frozenset[int]:  # what `teams - {one}` gives
        return frozenset(teams)


def _days(local: datetime) -> list[date]:
    return [local.date() - timedelta(days=1), local.date()]


def _covers(shift: Shift, day: date, local: datetime, lookup) -> bool:
    zone = local.tzinfo
    start = datetime.combine(day, _time(shift.starts), zone)
    end_day = day if shift.ends > shift.starts else day + timedelta(days=1)
    end = datetime.combine(end_day, _time(shift.ends), zone)
    if not start <= local < end:
        return False
    if shift.days == "all":
        return True
    working = lookup(shift.calendar).is_working_day(day)
    return working if shift.days == "workdays" else not working


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.timezone())


def _time(text: str) -> time:
    return time(0, 0) if text == "24:00" else time.fromisoformat(text)


def _hours(text: str) -> tuple[str, str]:
    try:
        starts, ends = (part.strip() for part in str(text).split("-"))
        for part in (starts, ends):
            time.fromisoformat(part)
            if len(part) != 5:
                raise ValueError
    except ValueError:
        raise Invalid(FIELDS_INVALID, [problem("hours", "shift_hours", value=str(text))]) from None
    return starts, ends


def _lookup(session: Session):
    """Calendar by name on the newest published calendars (read once, only if a shift asks which days are workdays)."""
    version: list[int | None] = []

    def lookup(name: str):
        if not version:
            version.append(calendars.newest(session))
        return calendars.lookup(session, name, version[0])

    return lookup


def _calendar_known(session: Session, name: str) -> None:
    if name not in calendars.names(session):
        raise Invalid(FIELDS_INVALID, [problem("calendar", "unknown_calendar", name=name)])


# --- spreadsheets --------------------------------------------------------------------------------

HEADER = ["日期 date", "班次 shift", "人员 people"]


def export_xlsx(session: Session, team: Team, first: date, last: date) -> bytes:
    """The rota as a sheet: one row per date and shift, the usernames comma-separated."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "rota"
    sheet.append(HEADER)
    for day, shift, people in rota(session, team, first, last):
        sheet.append([day.isoformat(), shift, ", ".join(people)])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def import_xlsx(session: Session, team: Team, data: bytes) -> int:
    """Read a sheet written by `export_xlsx` (or by hand); every problem at once, nothing kept if any."""
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(BytesIO(data), read_only=True, data_only=True).active
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
    except Exception:  # noqa: BLE001 - any unreadable upload is the user's to fix, not a 500
        raise Invalid(FIELDS_INVALID, [problem("file", "not_xlsx")]) from None
    by_name = {shift.name: shift for shift in shifts(session, team)}
    errors, plan = [], []
    for number, row in enumerate(rows, start=2):
        if not row or all(cell in (None, "") for cell in row[:3]):
            continue
        day, shift_name, people = (list(row) + [None, None, None])[:3]
        try:
            day = day.date() if isinstance(day, datetime) else day if isinstance(day, date) else date.fromisoformat(str(day).strip())
        except ValueError:
            errors.append({"row": number, **problem("date", "not_a_date", value=str(day))})
            continue
        shift = by_name.get(str(shift_name or "").strip())
        if shift is None:
            errors.append({"row": number, **problem("shift", "unknown_shift", name=str(shift_name), shifts=list(by_name))})
            continue
        names = [name.strip() for name in str(people or "").replace("，", ",").split(",") if name.strip()]
        found = {user.username: user for user in session.exec(select(User).where(User.username.in_(names))).all()} if names else {}
        missing = [name for name in names if name not in found]
        if missing:
            errors.append({"row": number, **problem("people", "no_users_named", names=missing)})
            continue
        plan.append((shift, day, [found[name] for name in names]))
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    for shift, day, people in plan:
        put_on(session, shift, day, people)
    return len(plan)
