"""Signing in and out, one's own password, the home redirect, and the language switch."""
from fastapi import APIRouter, Depends, Request

from engine.errors import Conflict, Invalid
from engine.people import credentials, directory, passwords
from engine.people.ldap_signin import DirectoryUnavailable
from engine.people.users import authenticate
from engine.storage.models import User
from web.deps import ClockDep, SessionDep, SignedIn
from web.i18n import LANGUAGES, Translator, language_of
from web.pages.common import (ActorPage, FormDep, SignedInPage, csrf_protect, flash, home_for, language, redirect,
                              render, safe_next)
from web.session import sign_in, sign_out

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/")
def home(actor: ActorPage):
    return redirect(home_for(actor))


@router.get("/login")
def login_page(request: Request, next: str | None = None, lang: str | None = None):
    if lang in LANGUAGES:
        request.session["lang"] = lang
    return render(request, "login.html", None, next=safe_next(next, ""), username="")


@router.post("/login")
def login(request: Request, session: SessionDep, form: FormDep, clock: ClockDep):
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "")), "")
    address = request.client.host if request.client else "-"
    t = Translator(language_of(request.session.get("lang")))
    limiter = request.app.state.login_limiter
    now = clock.now()
    wait = limiter.retry_after(username, address, now)
    if wait:
        minutes = max(1, -(-wait // 60))
        return render(request, "login.html", None, status_code=429, next=target, username=username,
                      error=t("login.too_many", minutes=minutes))
    try:
        user = authenticate(session, username, password, directory=request.app.state.ldap) if username and password else None
    except DirectoryUnavailable:  # logged; not the person's failure, so not counted against them
        return render(request, "login.html", None, status_code=401, next=target, username=username,
                      error=t("login.directory_down"))
    if user is None:
        limiter.failed(session, username, address, now)
        return render(request, "login.html", None, status_code=401, next=target, username=username,
                      error=t("login.wrong"))
    limiter.succeeded(session, username, address)
    request.session["lang"] = language_of(user.language)
    sign_in(request.session, user.username, user.auth_epoch)
    return redirect(target or "/")  # a user who must change their password is sent on to that page from there


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: SignedIn):
    """Signing out ends every session and token of the user, on every device, not only this cookie."""
    if actor is not None:
        credentials.end_sessions(session, actor.id)
    sign_out(request.session)
    return redirect("/login")


@router.get("/account/password")
def password_page(request: Request, session: SessionDep, actor: SignedInPage, next: str | None = None):
    return _password_form(request, session, actor, next=safe_next(next, ""))


@router.post("/account/password")
def change_password(request: Request, session: SessionDep, actor: SignedInPage, form: FormDep, clock: ClockDep):
    """The user's own change. This session is renewed in place; every other one, and every API token, ends."""
    t = Translator(language(request, actor))
    target = safe_next(_text(form, "next", 2000), "")
    current = _text(form, "current_password", passwords.MAX_LENGTH)
    new = _text(form, "new_password", passwords.MAX_LENGTH + 1)  # one more: the policy says it is too long
    limiter, address, now = request.app.state.login_limiter, request.client.host if request.client else "-", clock.now()
    wait = limiter.retry_after(actor.username, address, now)
    if wait:  # the current password is a password guess too: counted with the sign-in page's
        return _password_form(request, session, actor, next=target, status_code=429,
                              errors=[t("login.too_many", minutes=max(1, -(-wait // 60)))])
    if new != _text(form, "new_password_again", passwords.MAX_LENGTH + 1):
        return _password_form(request, session, actor, next=target, status_code=422,
                              errors=[t("password.problem.mismatch")])
    try:
        epoch = credentials.change_password(session, session.get(User, actor.id), current=current, new=new, now=now)
    except credentials.WrongPassword:
        limiter.failed(session, actor.username, address, now)
        return _password_form(request, session, actor, next=target, status_code=422,
                              errors=[t("password.problem.wrong_current")])
    except Invalid as exc:
        return _password_form(request, session, actor, next=target, status_code=422, errors=[
            t(f"password.problem.{error.get('code')}", min=passwords.min_length(), max=passwords.MAX_LENGTH)
            for error in exc.errors])
    except Conflict:
        return _password_form(request, session, actor, next=target, status_code=409)
    sign_in(request.session, actor.username, epoch)
    flash(request, "ok", t("password.changed"))
    return redirect(target or "/")


def _password_form(request: Request, session, actor, *, next: str, status_code: int = 200, errors=()):
    user = session.get(User, actor.id)
    return render(request, "password.html", actor, status_code=status_code, next=next, errors=list(errors),
                  forced=actor.must_change_password, directory=user.auth_source != "local",
                  min_length=passwords.min_length())


def _text(form, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@router.post("/language")
def switch_language(request: Request, session: SessionDep, actor: SignedInPage, form: FormDep):
    chosen = language_of(str(form.get("language", "")))
    directory.set_language(session, actor.id, chosen)
    request.session["lang"] = chosen
    return redirect(safe_next(str(form.get("next", "")), "/"))
