"""What every page shares: templates, the signed-in user, CSRF, flash messages, the menu.

Pages are thin: a handler asks the engine for its data and renders a template.
Who may open a page is checked here, on the server; which work orders a user
sees and which events they may fire is the engine's business.
"""
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData
from starlette.templating import Jinja2Templates

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from engine import settings
from engine.errors import Conflict, Forbidden, HouqinError, Invalid, NotFound
from engine.notify import reading as notifications
from engine.orders.inbox import inbox
from engine.people import passwords
from engine.people.users import Actor
from web.deps import SessionDep, SignedIn
from web.i18n import Translator, has, language_of, problem_text, said
from web.limits import calls
from web.session import CSRF_FIELD, CSRF_HEADER, UNSAFE, csrf_matches, csrf_token

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

# The menu: path, catalogue key, the roles that see it (None: everybody signed in).
# The same sets guard the pages themselves (see `roles`).
MENU = [
    ("/inbox", "nav.inbox", None),
    ("/submit", "nav.submit", None),
    ("/department", "nav.department", None),
    ("/work", "nav.work", frozenset({"technician"})),
    ("/dispatch", "nav.dispatch", frozenset({"dispatcher", "supervisor", "admin"})),
    # 回访: the shipped processes have the desk make their follow-up calls; the page asks the definitions' calls.by
    ("/calls", "nav.calls", frozenset({"dispatcher"})),
    ("/escalations", "nav.escalations", frozenset({"supervisor", "dispatcher", "leader", "admin"})),
    ("/cockpit", "nav.cockpit", frozenset({"supervisor", "leader", "admin", "dept_head", "dispatcher"})),
    ("/ledger", "nav.ledger", frozenset({"inspector", "supervisor", "leader", "admin", "dispatcher"})),
    ("/appraisal", "nav.appraisal", frozenset({"supervisor", "leader", "technician"})),
    ("/designer", "nav.designer", frozenset({"designer", "admin"})),
    ("/admin", "nav.admin", frozenset({"admin"})),
    ("/assets", "assets.nav", frozenset({"logistics", "admin"})),
    ("/notifications", "nav.notifications", None),
]
PAGE_ROLES = {path: roles for path, _, roles in MENU}
# Where each kind of user lands after signing in: the page of their main job.
HOME_BY_ROLE = [("technician", "/work"), ("dispatcher", "/dispatch"), ("supervisor", "/escalations"),
                ("designer", "/designer"), ("admin", "/admin"), ("leader", "/cockpit")]


_KINDS = (("notfound", NotFound), ("conflict", Conflict), ("forbidden", Forbidden), ("invalid", Invalid))


class SignInRequired(Exception):
    def __init__(self, next_path: str):
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    """The user must choose a new password before any other page (reset by an admin, or the first admin)."""

    def __init__(self, next_path: str):
        self.next_path = next_path


class PageForbidden(Exception):
    pass


class CsrfRejected(Exception):
    pass


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = when
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(ZoneInfo(settings.timezone())) if moment else None


def when(moment: datetime | None, seconds: bool = False) -> str:
    """A time as the hospital reads it: local time zone, no seconds."""
    if moment is None:
        return ""
    return local(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


templates = Jinja2Templates(env=_environment())


def home_for(actor: Actor) -> str:
    return next((path for role, path in HOME_BY_ROLE if actor.has(role)), "/submit")


def menu_for(actor: Actor) -> list[tuple[str, str]]:
    return [(path, key) for path, key, roles in MENU if roles is None or actor.roles & roles]


# --- dependencies -----------------------------------------------------------------------------

def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def signed_in_page(request: Request, actor: SignedIn, session: SessionDep) -> Actor:
    """The signed-in user (web.deps.signed_in, as the API reads it), or off to the sign-in page; even a user
    who must change their password first (only the password page and the language switch take this).

    The request's session is kept for `render`, which counts the user's inbox and unread notifications.
    """
    if actor is None:
        request.session.pop("username", None)
        request.session.pop("epoch", None)
        raise SignInRequired(_here(request))
    request.state.db = session
    return actor


SignedInPage = Annotated[Actor, Depends(signed_in_page)]


def page_actor(request: Request, actor: SignedInPage) -> Actor:
    """The signed-in user, or off to choose a new password when they must."""
    if actor.must_change_password:
        raise PasswordChangeRequired(_here(request))
    return actor


ActorPage = Annotated[Actor, Depends(page_actor)]


def roles(path: str):
    """Dependency: the page at `path` is open to the roles the menu names for it."""
    allowed = PAGE_ROLES[path]

    def check(actor: ActorPage) -> Actor:
        if allowed is not None and not actor.roles & allowed:
            raise PageForbidden()
        return actor

    return Depends(check)


async def read_form(request: Request) -> FormData:
    """The posted form, read within its route's body limit (web.limits: past it, the read stops with a 413)."""
    return await request.form()


async def csrf_protect(request: Request) -> None:
    """Router-wide: an unsafe request must carry the session's CSRF token.

    A post that cannot succeed is refused before its form is read: a session never given a token,
    or nobody signed in on a page that needs someone (off to sign in, as the page itself would send them).
    """
    if request.method not in UNSAFE:
        return
    if not request.session.get("csrf"):
        raise CsrfRejected()
    route = request.scope.get("route")
    if not request.session.get("username") and route is not None and calls(route.dependant, page_actor):
        raise SignInRequired(request.url.path)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await read_form(request)
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not csrf_matches(request.session, sent):
        raise CsrfRejected()


FormDep = Annotated[FormData, Depends(read_form)]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never `//evil.example` or `https://...`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


# --- rendering --------------------------------------------------------------------------------

def flash(request: Request, kind: str, text: str) -> None:
    request.session.setdefault("flash", []).append([kind, text])


def flash_error(request: Request, t: Translator, exc: HouqinError, labels: dict[str, str] | None = None,
                codes: str | None = None) -> None:
    """An engine refusal in the user's language: a translated headline, then the reason, each problem naming its
    field by the page's `labels`. Problems that carry a `code` with a text under `codes` in the catalogue (e.g.
    "password.problem") are said in that text."""
    kind = next((name for name, cls in _KINDS if isinstance(exc, cls)), "other")
    labels = labels or {}
    problems = exc.errors if isinstance(exc, Invalid) else []
    if problems:
        details = " ".join(_problem_said(t, problem, labels, codes) for problem in problems)
    else:
        details = said(t.language, exc)
    flash(request, "error", f"{t(f'error.{kind}')} {details}")


def _problem_said(t: Translator, problem: dict, labels: dict[str, str], codes: str | None) -> str:
    if codes and has(t.language, f"{codes}.{problem.get('code')}"):
        figures = {"min": passwords.min_length(), "max": passwords.MAX_LENGTH}  # what the texts may name
        return t(f"{codes}.{problem['code']}", **figures)
    return problem_text(t.language, problem, labels.get(str(problem.get("field", "")).removeprefix("fields.")))


def language(request: Request, actor: Actor | None = None) -> str:
    return language_of(actor.language if actor else request.session.get("lang"))


def render(request: Request, name: str, actor: Actor | None, status_code: int = 200, **context):
    t = Translator(language(request, actor))
    context.update(
        t=t, actor=actor, lang=t.language, csrf=csrf_token(request.session),
        # a user who must change their password first has nowhere else to go yet
        menu=menu_for(actor) if actor and not actor.must_change_password else [], path=request.url.path,
        flashes=request.session.pop("flash", []),
    )
    db = getattr(request.state, "db", None)
    if actor is not None and db is not None:
        context.update(_waiting(db, actor, home=request.url.path == home_for(actor)))
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _waiting(session: Session, actor: Actor, home: bool) -> dict:
    """The menu's counts (my inbox, my unread notifications) and, on the landing page, the inbox itself."""
    try:
        found = inbox(session, actor)
        unread = notifications.unread_count(session, actor.id)
    except SQLAlchemyError:  # a transaction already failed on this page: show it without the counts
        return {}
    return {"inbox_count": found.total, "unread_count": unread, "home_inbox": found if home else None}


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)
