"""Sign-in sessions for the pages: a signed cookie, a CSRF token bound to it, and who is signed in.

The cookie is Starlette's signed session (HttpOnly, SameSite=Lax; Secure when
HOUQIN_SECURE_COOKIES=1, i.e. behind HTTPS). It is signed with a key derived
from the installation's secret (web.security.secret_key), read on the first
request rather than at import, because the database may not exist yet when the
app object is built.

CSRF: every session carries a random token; every unsafe page request must send
it back (form field `csrf_token` or header `X-CSRF-Token`). API calls that ride
on the session cookie instead of a bearer token must send the header too, so a
page on another site can never fire an event with a signed-in user's cookie.
"""
import hashlib
import hmac
import secrets

from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.settings import Settings
from engine.storage.db import session_scope
from web.security import secret_key

COOKIE = "houqin_session"
MAX_AGE = 12 * 3600
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _cookie_key(database_url: str) -> str:
    with session_scope(database_url) as session:
        master = secret_key(session)
    # A key of its own, so a session cookie can never be passed off as an API token or the reverse.
    return hmac.new(master.encode(), b"houqin page session", hashlib.sha256).hexdigest()


class LazySessionMiddleware:
    """SessionMiddleware whose signing key is fetched on the first request."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app, self.settings = app, settings
        self._inner: SessionMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._inner is None:
            self._inner = SessionMiddleware(
                self.app, secret_key=_cookie_key(self.settings.database), session_cookie=COOKIE, max_age=MAX_AGE,
                same_site="lax", https_only=self.settings.secure_cookies,
            )
        await self._inner(scope, receive, send)


def csrf_token(session: dict) -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_matches(session: dict, sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and sent) and hmac.compare_digest(expected, sent)


def sign_in(session: dict, username: str, epoch: int) -> None:
    """A fresh session for the user in their sign-in epoch: nothing from before sign-in survives (no fixation).

    Raising the user's epoch (engine.people.credentials) ends this session wherever its cookie is."""
    language = session.get("lang")
    session.clear()
    session["username"] = username
    session["epoch"] = epoch
    if language:
        session["lang"] = language
    csrf_token(session)


def sign_out(session: dict) -> None:
    """Forget who was signed in; the language chosen stays."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def session_subject(session: dict) -> tuple[str, int] | None:
    """The username and epoch this page session was signed in with, if any."""
    username, epoch = session.get("username"), session.get("epoch")
    if isinstance(username, str) and username and type(epoch) is int:
        return username, epoch
    return None


class ApiCsrfMiddleware:
    """Unsafe /api calls authenticated by the page cookie (no bearer token) need the CSRF header."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE and scope["path"].startswith("/api/"):
            connection = HTTPConnection(scope)
            session = scope.get("session") or {}
            bearer = connection.headers.get("authorization", "").lower().startswith("bearer ")
            if session.get("username") and not bearer and not csrf_matches(session, connection.headers.get(CSRF_HEADER)):
                response = JSONResponse(status_code=403, content={
                    "detail": "send the page's CSRF token in the X-CSRF-Token header, or use a bearer token"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
