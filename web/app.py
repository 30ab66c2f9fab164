"""The FastAPI application: API, pages, and the mapping from engine errors to HTTP.

Each app holds its settings (`app.state.settings`) and its clock (`app.state.clock`):
two apps in one process (tests) never share either.
"""
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, field_validator
from sqlalchemy.exc import DataError
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import settings as settings_module
from engine.clock import Clock
from engine.errors import FIELDS_INVALID, HouqinError, Invalid, problem
from engine.people.ldap_signin import LdapDirectory
from engine.settings import Settings
from web import errors as errors_module
from web.admission import AdmissionMiddleware
from web.api import router as api_router
from web.deps import ClockDep
from web.limits import BodyLimitMiddleware, document_refusals
from web.public import ClockPublic, errors

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
    app.add_exception_handler(HouqinError, errors_module.engine_error)
    app.add_exception_handler(RequestValidationError, errors_module.validation_error)
    app.add_exception_handler(DataError, errors_module.data_error)
    app.add_exception_handler(StarletteHTTPException, errors_module.http_error)
    app.add_middleware(BodyLimitMiddleware)  # added first: innermost, it sees the session the pages add
    app.add_middleware(errors_module.ReaderLanguage)
    _mount_pages(app)
    # Outermost: a request waiting its turn holds nothing yet (web/admission.py).
    app.add_middleware(AdmissionMiddleware, limit=settings.requests_at_once, turn=settings.request_turn)
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


class ClockSetting(BaseModel):
    now: datetime | None

    @field_validator("now", mode="before")
    @classmethod
    def _a_time_not_a_number(cls, value):
        if isinstance(value, int | float):  # pydantic would read it as seconds since 1970
            raise PydanticCustomError("not_a_time", "now must be a time, e.g. 2026-10-09T17:00:00+08:00")
        return value


def _test_clock_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["test"])

    @router.put("/_test/clock", response_model=ClockPublic, responses=errors(400, 422))
    def set_clock(body: ClockSetting, clock: ClockDep):
        """Set this app's clock (a fixed instant, or null for real time again)."""
        if body.now is not None and body.now.tzinfo is None:
            raise Invalid(FIELDS_INVALID, [problem("now", "needs_time_zone")])
        clock.set(body.now)
        return ClockPublic(now=clock.now())

    return router


app = create_app()
