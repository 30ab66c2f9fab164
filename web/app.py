"""The FastAPI application: API, pages, and the mapping from engine errors to HTTP.

Each app holds its settings (`app.state.settings`) and its clock (`app.state.clock`):
two apps in one process (tests) never share either.
"""
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, field_validator
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from engine import settings as settings_module
from engine.clock import Clock
from engine.errors import Conflict, Forbidden, HouqinError, Invalid, NotFound, TooSoon
from engine.people.ldap_signin import LdapDirectory
from engine.settings import Settings
from web.api import router as api_router
from web.deps import ClockDep
from web.limits import BodyLimitMiddleware, document_refusals
from web.public import ClockPublic, errors

STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403, Invalid: 422, TooSoon: 429}


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The app, with `settings` (default: read from the environment) and `clock` (default: real time)."""
    settings = settings or settings_module.current()
    # /docs is served from local assets (below); ReDoc would load its script from a CDN an intranet cannot reach.
    app = FastAPI(title="Houqin", version="0.1.0", lifespan=_lifespan, docs_url=None, redoc_url=None,
                  description="Hospital logistics work orders: repairs, procurement, hazards, complaints.")
    app.state.settings, app.state.clock = settings, clock or Clock()
    # The hospital's directory, when HOUQIN_LDAP_URL is set; a bad group mapping stops the start here.
    app.state.ldap = LdapDirectory.from_settings(settings)
    app.include_router(api_router)
    app.add_api_route("/docs", _api_docs, include_in_schema=False)
    if settings.test_clock:
        app.include_router(_test_clock_router())
    app.add_exception_handler(HouqinError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(BodyLimitMiddleware)  # added first: innermost, it sees the session the pages add
    _mount_pages(app)
    document_refusals(app)
    return app


def _api_docs() -> HTMLResponse:
    """Swagger UI from the vendored copy: a hospital intranet cannot reach a CDN."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Houqin API",
                               swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                               swagger_css_url="/static/vendor/swagger-ui.css",
                               swagger_favicon_url="/static/favicon.svg")


@asynccontextmanager
async def _lifespan(app: FastAPI):
    """`houqin serve` sets HOUQIN_SWEEPER=1: sweep SLA timers and send the outbox in this process."""
    sweeper = None
    if app.state.settings.sweeper:
        from web.worker import Sweeper

        sweeper = Sweeper(app.state.settings, app.state.clock).start()
    try:
        yield
    finally:
        if sweeper is not None:
            sweeper.stop()


def _mount_pages(app: FastAPI) -> None:
    try:
        from web.pages import mount
    except ImportError:
        return
    mount(app)


async def _engine_error(request: Request, exc: HouqinError) -> JSONResponse:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    content = {"detail": exc.message}
    if isinstance(exc, Invalid) and exc.errors:
        content["errors"] = exc.errors
    headers = {"Retry-After": str(exc.seconds)} if isinstance(exc, TooSoon) else None
    return JSONResponse(status_code=status, content=content, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException):
    """405 names every method the path has (Starlette's names only those of the first route matching it)."""
    if exc.status_code == 405:
        path = request.url.path
        methods = {method for route in request.app.routes
                   if isinstance(route, Route) and route.methods and route.path_regex.match(path)
                   for method in route.methods}
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(methods))}
    return await http_exception_handler(request, exc)


async def _data_error(request: Request, exc: DataError) -> JSONResponse:
    """A value the database cannot store (PostgreSQL: an id past 32 bits, a NUL character in text).

    Bad input, not a fault: the transaction is rolled back and nothing changed.
    """
    return JSONResponse(status_code=422, content={
        "detail": "a value is out of range or not allowed (numbers at most 2147483647, no NUL characters in text)"})


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "message": e["msg"]}
              for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})


class ClockSetting(BaseModel):
    now: datetime | None

    @field_validator("now", mode="before")
    @classmethod
    def _a_time_not_a_number(cls, value):
        if isinstance(value, int | float):  # pydantic would read it as seconds since 1970
            raise ValueError("now must be a time, e.g. 2026-10-09T17:00:00+08:00")
        return value


def _test_clock_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["test"])

    @router.put("/_test/clock", response_model=ClockPublic, responses=errors(400, 422))
    def set_clock(body: ClockSetting, clock: ClockDep):
        """Set this app's clock (a fixed instant, or null for real time again)."""
        if body.now is not None and body.now.tzinfo is None:
            return JSONResponse(status_code=422, content={"detail": "now needs a time zone, e.g. 2026-10-09T17:00:00+08:00"})
        clock.set(body.now)
        return ClockPublic(now=clock.now())

    return router


app = create_app()
