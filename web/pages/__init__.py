"""The web pages: server-rendered, one router per group of pages, every one behind sign-in.

`mount(app)` is called by web.app.create_app: it adds the session and CSRF
middleware, the static files, the page routers, and error pages that answer a
browser in HTML while the API keeps answering in JSON.
"""
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import HouqinError, NotFound
from web.pages import (account, admin, appraisal, asset_health, assets, calls, cockpit, designer, follow_ups, inbox, ledger, locations,
                       orders, queues, rotas, scan, submit)
from web.pages.common import CsrfRejected, PageForbidden, PasswordChangeRequired, SignInRequired, redirect, render
from web.ratelimit import LoginLimiter
from web.session import ApiCsrfMiddleware, LazySessionMiddleware

STATIC = Path(__file__).resolve().parents[1] / "static"
# Scripts and styles come only from this site: everything is vendored under /static.
# Mermaid draws its SVG with inline styles, hence 'unsafe-inline' for styles alone.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def mount(app: FastAPI) -> None:
    app.state.login_limiter = LoginLimiter(app)
    app.add_middleware(ApiCsrfMiddleware)
    app.add_middleware(LazySessionMiddleware, settings=app.state.settings)  # added last = outermost: the CSRF check sees the session
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (account, inbox, submit, orders, queues, designer, cockpit, admin, rotas):
        app.include_router(module.router)
    app.include_router(locations.router)  # the location tree (位置)
    app.include_router(scan.router)  # the URLs printed in QR codes: /s/a/{asset_no}, /s/l/{code}
    app.include_router(follow_ups.router)  # a round's follow-up form
    app.include_router(ledger.router)  # the risk ledger (风险台账)
    app.include_router(calls.router)  # the follow-up call queue (回访)
    app.include_router(appraisal.router)  # the monthly appraisal (绩效考核)
    app.include_router(assets.router)  # the equipment register
    app.include_router(asset_health.router)  # last: fixed names under /assets/ match first
    api_error = app.exception_handlers.get(HouqinError)
    api_http_error = app.exception_handlers.get(StarletteHTTPException)

    async def engine_error(request: Request, exc: HouqinError):
        if _is_page(request) and isinstance(exc, NotFound):
            return render(request, "error.html", None, status_code=404, title_key="error.not_found_title",
                          message_key="error.not_found_text")
        return await api_error(request, exc)

    async def http_error(request: Request, exc: StarletteHTTPException):
        if _is_page(request) and exc.status_code == 404:
            return render(request, "error.html", None, status_code=404, title_key="error.not_found_title",
                          message_key="error.not_found_text")
        if _is_page(request) and exc.status_code == 413:  # a form over its limit (web.limits)
            response = render(request, "error.html", None, status_code=413, title_key="error.too_large_title",
                              message_key="error.too_large_text")
            response.headers.update(exc.headers or {})
            return response
        return await api_http_error(request, exc)

    api_invalid = app.exception_handlers.get(RequestValidationError)

    async def invalid_request(request: Request, exc: RequestValidationError):
        if _is_page(request):  # a mangled link (/orders/abc, ?page=0): a page, not JSON
            return render(request, "error.html", None, status_code=422, title_key="error.bad_link_title",
                          message_key="error.bad_link_text")
        return await api_invalid(request, exc)

    app.add_exception_handler(RequestValidationError, invalid_request)
    api_data_error = app.exception_handlers.get(DataError)

    async def data_error(request: Request, exc: DataError):
        if _is_page(request):
            return render(request, "error.html", None, status_code=422, title_key="error.bad_link_title",
                          message_key="error.bad_link_text")
        return await api_data_error(request, exc)

    if api_data_error is not None:
        app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(HouqinError, engine_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(PasswordChangeRequired, _change_password)
    app.add_exception_handler(PageForbidden, _forbidden)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)


def _is_page(request: Request) -> bool:
    return _is_page_path(request.url.path)


def _is_page_path(path: str) -> bool:
    return not (path.startswith("/api/") or path in ("/docs", "/redoc", "/openapi.json"))


async def _sign_in(request: Request, exc: SignInRequired):
    from urllib.parse import quote

    return redirect("/login" if exc.next_path in ("", "/") else f"/login?next={quote(exc.next_path, safe='')}")


async def _change_password(request: Request, exc: PasswordChangeRequired):
    """Back to the page asked for once the password is changed (a page, not a form's POST)."""
    from urllib.parse import quote

    back = exc.next_path if request.method == "GET" and exc.next_path not in ("", "/") else ""
    return redirect("/account/password" + (f"?next={quote(back, safe='')}" if back else ""))


async def _forbidden(request: Request, exc: PageForbidden):
    return render(request, "error.html", None, status_code=403, title_key="error.forbidden_title",
                  message_key="error.forbidden_text")


async def _csrf_rejected(request: Request, exc: CsrfRejected):
    return render(request, "error.html", None, status_code=403, title_key="error.csrf_title",
                  message_key="error.csrf_text")


class SecurityHeaders:
    """Headers every answer carries, and pages the framing and script rules too. Plain ASGI: it only adds to
    the response's start, where an `http` middleware would stream every response through a task of its own."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = _is_page_path(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if page:
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Content-Security-Policy", CSP)
            await send(message)

        await self.app(scope, receive, with_headers)
