"""Admin: a team's members and skills, its shifts, and its rota (排班), edited by hand or as an .xlsx sheet."""
from datetime import date, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, UploadFile

from engine.storage import unit_of_work
from engine.dispatch import rotas
from engine.errors import FIELDS_INVALID, HouqinError, Invalid, problem
from engine.people.users import user_by_name
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.limits import takes_files
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render, roles

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/admin")], include_in_schema=False)
DAYS_SHOWN = 14


def _page(team: str, first: str | None = None) -> str:
    return f"/admin/teams/{quote(team)}" + (f"?from={first}" if first else "")


def _first(value, today: date) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else today
    except ValueError:
        return today


@router.get("/admin/teams/{team}")
def team_page(request: Request, team: str, session: SessionDep, actor: ActorPage, clock: ClockDep):
    found = rotas.get_team(session, team[:100])
    first = _first(request.query_params.get("from"), clock.now().date())
    last = first + timedelta(days=DAYS_SHOWN - 1)
    grid: dict[date, dict[str, list[str]]] = {}
    for day, shift, people in rotas.rota(session, found, first, last):
        grid.setdefault(day, {})[shift] = people
    return render(request, "rota.html", actor, team=found, members=rotas.members(session, found),
                  shifts=rotas.shifts(session, found), grid=grid, first=first, last=last,
                  earlier=first - timedelta(days=DAYS_SHOWN), later=first + timedelta(days=DAYS_SHOWN),
                  on_duty=rotas.on_duty(session, found.id, clock.now()))


def _run(request: Request, session, actor, team: str, change, first: str | None = None):
    t = Translator(language(request, actor))
    try:
        message = change(t)
    except HouqinError as exc:
        unit_of_work.rollback(session)  # the request's one change is undone; the page says why
        flash_error(request, t, exc)
    else:
        flash(request, "ok", message)
    return redirect(_page(team, first))


def _text(form, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.replace("，", ",").replace(" ", ",").split(",") if name.strip()]


@router.post("/admin/teams/{team}/members")
def save_member(request: Request, team: str, session: SessionDep, actor: ActorPage, form: FormDep):
    def change(t):
        found = rotas.get_team(session, team[:100])
        user = user_by_name(session, _text(form, "username", 64))
        rotas.add_member(session, found, user, skills=_names(_text(form, "skills", 500)), lead=form.get("lead") == "on")
        return t("admin.saved")

    return _run(request, session, actor, team, change)


@router.post("/admin/teams/{team}/shifts")
def save_shift(request: Request, team: str, session: SessionDep, actor: ActorPage, form: FormDep):
    def change(t):
        name = _text(form, "name", 32)
        if not name:
            raise Invalid(FIELDS_INVALID, [problem("name", "shift_needs_name")])
        rotas.add_shift(session, rotas.get_team(session, team[:100]), name, _text(form, "hours", 11),
                        days=_text(form, "days", 16) or "all")
        return t("admin.saved")

    return _run(request, session, actor, team, change)


@router.post("/admin/teams/{team}/rota")
def save_rota(request: Request, team: str, session: SessionDep, actor: ActorPage, form: FormDep):
    first = _text(form, "from", 10)

    def change(t):
        found = rotas.get_team(session, team[:100])
        by_name = {shift.name: shift for shift in rotas.shifts(session, found)}
        shift = by_name.get(_text(form, "shift", 32))
        try:
            day = date.fromisoformat(_text(form, "day", 10))
        except ValueError:
            raise Invalid(FIELDS_INVALID, [problem("day", "not_a_date")]) from None
        if shift is None:
            raise Invalid(FIELDS_INVALID, [problem("shift", "unknown_shift", name=_text(form, "shift", 32),
                                                   shifts=list(by_name))])
        rotas.put_on(session, shift, day, [user_by_name(session, name) for name in _names(_text(form, "people", 2000))])
        return t("admin.saved")

    return _run(request, session, actor, team, change, first)


@router.post("/admin/teams/{team}/rota.xlsx")
@takes_files
def upload_rota(request: Request, team: str, session: SessionDep, actor: ActorPage, form: FormDep):
    def change(t):
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "file"):
            raise Invalid(FIELDS_INVALID, [problem("file", "choose_xlsx")])
        count = rotas.import_xlsx(session, rotas.get_team(session, team[:100]), upload.file.read(2_000_000))
        return t("rota.imported", n=count)

    return _run(request, session, actor, team, change)
