"""Sign-in sessions for the pages: a signed cookie, a CSRF token bound to it, and who is signed in.

The cookie is Starlette's signed session (HttpOnly, SameSite=Lax; Secure when
HOUQIN_SECURE_COOKIES=1, i.e. behind HTTPS). It is signed with a key derived
from the installation's secret (web.security.secret_key), read on the first
request rather than at import, because the database may not exist yet when the
app object is built.

CSRF: every session carries a random token; every unsafe page request must send
it back (form field `csrf_token` or header `X-CSRF-Token`). API calls that ride
on the session cookie instead of a valid bearer token must send the header too, so a
page on another site can never fire an event with a signed-in user's cookie.
"""
import hashlib
import hmac
import secrets

from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.settings import Settings
from engine.storage.db import session_scope
from web.errors import refusal
from web.limits import facts_of
from web.security import SIGN_IN_FIRST, secret_key, subject_in

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


class ApiCsrfMiddleware:
    """Unsafe /api calls: who calls is settled here, before the body is read.

    A bearer token alone says who calls (web.deps.signed_in never falls back to the cookie), so a call
    with a valid one needs no CSRF token; one that fails its signature or expiry is 401 where the route
    needs a caller. Any other call riding on the page cookie needs the CSRF header, whatever
    Authorization header it sends. A call with no credentials at all is 401 where the route needs a
    caller: answered now, rather than after FastAPI has read and parsed a body of any size.
    """

    def __init__(self, app: ASGIApp):
        self.app = app
        self._key: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE and scope["path"].startswith("/api/"):
            answer = await self._refusal(scope)
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refusal(self, scope: Scope) -> Response | None:
        connection = HTTPConnection(scope)
        needs_caller = facts_of(scope).needs_caller
        scheme, token = get_authorization_scheme_param(connection.headers.get("authorization"))
        if scheme.lower() == "bearer":
            if subject_in(token, await self._token_key(scope)) is not None:
                return None  # the token says who calls; the cookie is not used
            if needs_caller:
                return _unauthorized(scope, "token_invalid")
        session = scope.get("session") or {}
        if session.get("username"):
            if csrf_matches(session, connection.headers.get(CSRF_HEADER)):
                return None
            return refusal(scope, 403, "csrf_header")
        return _unauthorized(scope, SIGN_IN_FIRST) if needs_caller else None

    async def _token_key(self, scope: Scope) -> str:
        if self._key is None:  # made once and kept in the database: fetched off the event loop
            self._key = await run_in_threadpool(_token_key, scope["app"].state.settings.database)
        return self._key


def _token_key(database_url: str) -> str:
    with session_scope(database_url) as session:
        return secret_key(session)


def _unauthorized(scope: Scope, code: str) -> Response:
    return refusal(scope, 401, code, {"WWW-Authenticate": "Bearer"})
