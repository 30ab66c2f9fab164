"""Signing in and out, the home redirect, and the language switch."""
from fastapi import APIRouter, Depends, Request

from engine.people import directory
from engine.people.ldap_signin import DirectoryUnavailable
from engine.people.users import authenticate
from web.deps import ClockDep, SessionDep
from web.i18n import LANGUAGES, Translator, language_of
from web.pages.common import ActorPage, FormDep, csrf_protect, home_for, redirect, render, safe_next
from web.session import sign_in

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
        limiter.failed(username, address, now)
        return render(request, "login.html", None, status_code=401, next=target, username=username,
                      error=t("login.wrong"))
    limiter.succeeded(username, address)
    request.session["lang"] = language_of(user.language)
    sign_in(request.session, user.username)
    return redirect(target or "/")


@router.post("/logout")
def logout(request: Request):
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return redirect("/login")


@router.post("/language")
def switch_language(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    chosen = language_of(str(form.get("language", "")))
    directory.set_language(session, actor.id, chosen)
    request.session["lang"] = chosen
    return redirect(safe_next(str(form.get("next", "")), "/"))
