"""Teams, members with skills, shifts and rotas (排班), and who is on duty: /api/v1/teams.

Admins shape teams and shifts; admins and supervisors keep the rota (also as an
.xlsx sheet, one row per date and shift); anyone signed in may ask who is on duty.
"""
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from engine.dispatch import rotas
from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.people.users import user_by_name
from web.deps import ActorDep, ClockDep, SessionDep, UploadDep, require_roles
from web.public import errors, files

router = APIRouter(tags=["teams"], responses=errors(401, 404, 422))
SHAPES = errors(400, 403)  # a body to parse; admins (and, for the rota, supervisors) only
TeamName = Annotated[str, Path(min_length=1, max_length=100, description="the team's name, e.g. 电梯班")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_RANGE = 366
SHEET_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamCreate(Body):
    name: str = Field(min_length=1, max_length=100)
    calendar: str = Field(default="24x7", max_length=64)


class MemberPut(Body):
    skills: list[Annotated[str, Field(max_length=32)]] = Field(default=[], max_length=50)
    lead: bool = False


class ShiftPut(Body):
    hours: str = Field(max_length=11, description="local HH:MM-HH:MM; 17:30-08:00 runs past midnight")
    days: str = Field(default="all", max_length=16, description="all, workdays or restdays")
    calendar: str = Field(default="workday", max_length=64)


class RotaPut(Body):
    people: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=200)


class OnDutyPerson(BaseModel):
    user_id: int
    username: str
    display_name: str
    shift: str
    skills: list[str]


class OnDutyOut(BaseModel):
    team: str
    at: datetime
    on_duty: list[OnDutyPerson]
    team_lead: list[str]


class MemberOut(BaseModel):
    username: str
    display_name: str
    skills: list[str]
    lead: bool


class ShiftOut(BaseModel):
    name: str
    starts: str
    ends: str
    days: str
    calendar: str


class TeamOut(BaseModel):
    name: str
    calendar: str
    members: list[MemberOut]
    shifts: list[ShiftOut]


class RotaRow(BaseModel):
    day: date
    shift: str
    people: list[str]


def team_out(session, team) -> TeamOut:
    return TeamOut(
        name=team.name, calendar=team.calendar,
        members=[MemberOut(username=user.username, display_name=user.display_name, skills=member.skills.split(",") if member.skills else [],
                           lead=member.lead) for user, member in rotas.members(session, team)],
        shifts=[ShiftOut(name=s.name, starts=s.starts, ends=s.ends, days=s.days, calendar=s.calendar)
                for s in rotas.shifts(session, team)])


@router.get("/teams")
def list_teams(session: SessionDep, actor: ActorDep) -> list[TeamOut]:
    from sqlmodel import select

    from engine.storage.models import Team

    return [team_out(session, team) for team in session.exec(select(Team).order_by(Team.name)).all()]


@router.post("/teams", status_code=201, dependencies=[require_roles("admin")], responses=SHAPES)
def create_team(body: TeamCreate, session: SessionDep) -> TeamOut:
    team = rotas.ensure_team(session, body.name, calendar=body.calendar)
    return team_out(session, team)


@router.get("/teams/{team}")
def get_team(team: TeamName, session: SessionDep, actor: ActorDep) -> TeamOut:
    return team_out(session, rotas.get_team(session, team))


@router.put("/teams/{team}/members/{username}", dependencies=[require_roles("admin")], responses=SHAPES)
def put_member(team: TeamName, username: Annotated[str, Path(max_length=64)], body: MemberPut,
               session: SessionDep) -> TeamOut:
    found = rotas.get_team(session, team)
    rotas.add_member(session, found, user_by_name(session, username), skills=body.skills, lead=body.lead)
    return team_out(session, found)


@router.put("/teams/{team}/shifts/{name}", dependencies=[require_roles("admin")], responses=SHAPES)
def put_shift(team: TeamName, name: Annotated[str, Path(min_length=1, max_length=32)], body: ShiftPut,
              session: SessionDep) -> TeamOut:
    found = rotas.get_team(session, team)
    rotas.add_shift(session, found, name, body.hours, days=body.days, calendar=body.calendar)
    return team_out(session, found)


@router.put("/teams/{team}/rota/{day}/{shift}", dependencies=[require_roles("admin", "supervisor")], responses=SHAPES)
def put_rota(team: TeamName, day: date, shift: Annotated[str, Path(max_length=32)], body: RotaPut,
             session: SessionDep) -> list[RotaRow]:
    found = rotas.get_team(session, team)
    by_name = {s.name: s for s in rotas.shifts(session, found)}
    if shift not in by_name:
        raise Invalid(FIELDS_INVALID, [problem("shift", "unknown_shift", name=shift, shifts=list(by_name))])
    rotas.put_on(session, by_name[shift], day, [user_by_name(session, name) for name in body.people])
    return [RotaRow(day=d, shift=s, people=p) for d, s, p in rotas.rota(session, found, day, day)]


@router.get("/teams/{team}/rota")
def get_rota(team: TeamName, session: SessionDep, actor: ActorDep, clock: ClockDep,
             first: Annotated[date | None, Query(alias="from")] = None,
             last: Annotated[date | None, Query(alias="to")] = None) -> list[RotaRow]:
    first, last = _range(first, last, clock.now())
    return [RotaRow(day=d, shift=s, people=p) for d, s, p in rotas.rota(session, rotas.get_team(session, team), first, last)]


@router.get("/teams/{team}/rota.xlsx", response_class=Response,
            responses=files(XLSX, description="the rota as a sheet: one row per date and shift"))
def export_rota(team: TeamName, session: SessionDep, actor: ActorDep, clock: ClockDep,
                first: Annotated[date | None, Query(alias="from")] = None,
                last: Annotated[date | None, Query(alias="to")] = None) -> Response:
    first, last = _range(first, last, clock.now())
    data = rotas.export_xlsx(session, rotas.get_team(session, team), first, last)
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="rota-{first}.xlsx"'})


# The role check (a route dependency, solved first) refuses before the sheet is read.
@router.post("/teams/{team}/rota.xlsx", dependencies=[require_roles("admin", "supervisor")], responses=SHAPES,
             openapi_extra=SHEET_BODY)
def import_rota(team: TeamName, session: SessionDep, form: UploadDep) -> dict[str, int]:
    sheet = form.get("file")
    if not isinstance(sheet, UploadFile):
        raise Invalid(FIELDS_INVALID, [problem("file", "file_missing")])
    count = rotas.import_xlsx(session, rotas.get_team(session, team), sheet.file.read(2_000_000))
    return {"rows": count}


@router.get("/teams/{team}/on-duty")
def on_duty(team: TeamName, session: SessionDep, actor: ActorDep, clock: ClockDep,
            at: datetime | None = None) -> OnDutyOut:
    """Who is on duty at `at` (now when not given; a time with its zone, e.g. 2026-10-18T02:00:00+08:00)."""
    if at is not None and at.tzinfo is None:
        raise Invalid(FIELDS_INVALID, [problem("at", "needs_time_zone")])
    when = at or clock.now()
    found = rotas.get_team(session, team)
    try:
        people = rotas.on_duty(session, found.id, when)
    except (OverflowError, ValueError):
        raise Invalid(FIELDS_INVALID, [problem("at", "out_of_range")]) from None
    return OnDutyOut(team=found.name, at=when, on_duty=[OnDutyPerson(**p.as_dict()) for p in people],
                     team_lead=[user.username for user in rotas.leads(session, found.id)])


def _range(first: date | None, last: date | None, now: datetime) -> tuple[date, date]:
    today = now.date()
    first = first or today
    last = last or (first + timedelta(days=6))
    if last < first or (last - first).days > MAX_RANGE:
        raise Invalid(FIELDS_INVALID, [problem("to", "rota_range", days=MAX_RANGE)])
    return first, last
