"""Admin: users and their roles, departments, teams, notification channels and failed deliveries."""
from fastapi import APIRouter, Depends, Path, Request

from engine import directory
from engine.errors import HouqinError
from engine.users import add_user
from web.deps import SessionDep
from web.i18n import Translator
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render, roles
from workflows.schema import ROLES

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/admin")], include_in_schema=False)
UserId = Path(ge=1, le=2**31 - 1)


@router.get("/admin")
def admin_page(request: Request, session: SessionDep, actor: ActorPage):
    return render(request, "admin.html", actor, people=directory.people(session), roles=ROLES,
                  departments=directory.departments(session), teams=directory.teams(session),
                  channels=directory.channels(session), failures=directory.failed_deliveries(session))


def _run(request: Request, session, actor, anchor: str, change) -> object:
    t = Translator(language(request, actor))
    try:
        message = change(t)
    except HouqinError as exc:
        session.rollback()
        flash_error(request, t, exc)
    else:
        flash(request, "ok", message)
    return redirect(f"/admin#{anchor}")


def _text(form, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@router.post("/admin/users")
def create_user(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    def create(t):
        user = add_user(session, username=_text(form, "username", 64), password=str(form.get("password", ""))[:1024],
                        roles=[r for r in form.getlist("roles") if isinstance(r, str)] or ["requester"],
                        department=_text(form, "department", 100) or None, team=_text(form, "team", 100) or None,
                        display_name=_text(form, "display_name", 100))
        session.commit()
        return t("admin.user_added", username=user.username)

    return _run(request, session, actor, "users", create)


@router.post("/admin/users/{user_id}/roles")
def change_roles(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, user_id: int = UserId):
    def change(t):
        directory.set_roles(session, user_id, [r for r in form.getlist("roles") if isinstance(r, str)])
        return t("admin.saved")

    return _run(request, session, actor, "users", change)


@router.post("/admin/users/{user_id}/placement")
def change_placement(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, user_id: int = UserId):
    def change(t):
        directory.set_placement(session, user_id, department=_text(form, "department", 100), team=_text(form, "team", 100))
        return t("admin.saved")

    return _run(request, session, actor, "users", change)


@router.post("/admin/users/{user_id}/active")
def change_active(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, user_id: int = UserId):
    def change(t):
        if user_id == actor.id:
            return t("admin.not_yourself")
        directory.set_active(session, user_id, form.get("active") == "yes")
        return t("admin.saved")

    return _run(request, session, actor, "users", change)


@router.post("/admin/departments")
def create_department(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    return _run(request, session, actor, "departments",
                lambda t: t("admin.department_added", name=directory.add_department(session, _text(form, "name", 101)).name))


@router.post("/admin/teams")
def create_team(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    return _run(request, session, actor, "teams",
                lambda t: t("admin.team_added", name=directory.add_team(session, _text(form, "name", 101)).name))
