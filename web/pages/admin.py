"""Admin: users and their roles, departments, teams, notification channels and failed deliveries."""
import re

from fastapi import APIRouter, Depends, Path, Request

from engine.errors import HouqinError, NotFound
from engine.notify import channels
from engine.people import credentials, directory, passwords
from engine.people.users import add_user
from engine.storage import unit_of_work
from engine.storage.models import User
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render, roles
from workflows.schema import ROLES

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/admin")], include_in_schema=False)
UserId = Path(ge=1, le=2**31 - 1)


@router.get("/admin")
def admin_page(request: Request, session: SessionDep, actor: ActorPage):
    return render(request, "admin.html", actor, people=directory.people(session), roles=ROLES,
                  channel_kinds=channels.KINDS, notification_kinds=channels.NOTIFICATION_KINDS,
                  departments=directory.departments(session), teams=directory.teams(session),
                  channels=directory.channels(session), failures=directory.failed_deliveries(session),
                  password_min=passwords.min_length())


def _run(request: Request, session, actor, anchor: str, change, labels: dict[str, str] | None = None,
         codes: str | None = None) -> object:
    t = Translator(language(request, actor))
    try:
        message = change(t)
    except HouqinError as exc:
        unit_of_work.rollback(session)  # the request's one change is undone; the page says why
        flash_error(request, t, exc, labels, codes)
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
                        display_name=_text(form, "display_name", 100),
                        must_change_password=form.get("must_change") == "yes")  # the admin knows this password
        return t("admin.user_added", username=user.username)

    return _run(request, session, actor, "users", create, codes="password.problem")


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


@router.post("/admin/users/{user_id}/password")
def reset_password(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep, user_id: int = UserId):
    """A temporary password, shown to the admin on this one page (never kept in a cookie or a flash message);
    the user must change it at the next sign-in, and every session of theirs ends now."""
    t = Translator(language(request, actor))
    try:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("no_user_id", id=user_id)
        temporary = credentials.reset_password(session, user, now=clock.now())
    except HouqinError as exc:
        unit_of_work.rollback(session)
        flash_error(request, t, exc)
        return redirect("/admin#users")
    return render(request, "password_reset.html", actor, person=user, temporary=temporary)


@router.post("/admin/departments")
def create_department(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    return _run(request, session, actor, "departments",
                lambda t: t("admin.department_added", name=directory.add_department(session, _text(form, "name", 101)).name))


@router.post("/admin/teams")
def create_team(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    return _run(request, session, actor, "teams",
                lambda t: t("admin.team_added", name=directory.add_team(session, _text(form, "name", 101)).name))


def _channel_labels(request: Request, actor) -> dict[str, str]:
    t = Translator(language(request, actor))
    return {name: t(f"admin.channel_{name}") for name in ("name", "kind", "target", "kinds", "recipients", "secret",
                                                          "language")}


def _channel_fields(form) -> dict:
    """The channel form as the engine takes it; the engine checks it (a blank secret is left out: kept)."""
    fields = {"name": _text(form, "name", 65), "kind": _text(form, "kind", 16), "target": _text(form, "target", 501),
              "kinds": [k for k in form.getlist("kinds") if isinstance(k, str)][:len(channels.NOTIFICATION_KINDS) + 1],
              # addresses never hold a comma, semicolon or space, so any of them separates two
              "recipients": [a for a in re.split(r"[\s,;]+", _text(form, "recipients", 10_000)) if a][:101],
              "active": form.get("active") == "yes", "language": _text(form, "language", 8) or "zh"}
    secret = form.get("secret")
    if isinstance(secret, str) and secret:
        fields["secret"] = secret[:501]
    return fields


@router.post("/admin/channels")
def create_channel(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    return _run(request, session, actor, "channels",
                lambda t: t("admin.channel_added", name=channels.create(session, **_channel_fields(form)).name),
                _channel_labels(request, actor))


@router.post("/admin/channels/{channel_id}")
def update_channel(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, channel_id: int = Path(ge=1, le=2**31 - 1)):
    return _run(request, session, actor, "channels",
                lambda t: t("admin.channel_saved", name=channels.update(session, channel_id, _channel_fields(form)).name),
                _channel_labels(request, actor))


@router.post("/admin/channels/{channel_id}/delete")
def delete_channel(request: Request, session: SessionDep, actor: ActorPage, channel_id: int = Path(ge=1, le=2**31 - 1)):
    return _run(request, session, actor, "channels",
                lambda t: t("admin.channel_deleted", name=channels.remove(session, channel_id).name))


@router.post("/admin/deliveries/{delivery_id}/retry")
def retry_delivery(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep,
                   delivery_id: int = Path(ge=1, le=2**31 - 1)):
    return _run(request, session, actor, "failures",
                lambda t: t("admin.delivery_queued", id=channels.retry(session, delivery_id, now=clock.now()).id))
