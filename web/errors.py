"""Refusals in the reader's language: every error the API answers, as `{detail, code, errors}`.

The API speaks the request's Accept-Language (Chinese when it names neither of ours), whatever
refused: an engine error (a code and its params, engine.errors), FastAPI's validation of the
request (said by pydantic's error type), an HTTP error of Starlette (an unknown path, a method the
path does not take) or of a route (`Refused`), or a middleware refusing before any route runs
(`refusal`). `detail` and each field's `message` are the texts; `code` is what a script tests.
"""
from http import HTTPStatus

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from engine.errors import FIELDS_INVALID, Conflict, Forbidden, HouqinError, Invalid, NotFound, TooSoon
from web.i18n import DEFAULT, accepted, error_text, has, problem_text, read_in, refusal_text, stop_reading

STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403, Invalid: 422, TooSoon: 429}
SHOWN = 10  # a detail joins this many problems; `errors` lists them all


class Refused(StarletteHTTPException):
    """A refusal of the web layer itself (401 sign in first, 403 a role needed, 411, 413, 415), as a code."""

    def __init__(self, status: int, code: str, /, headers: dict[str, str] | None = None, **params):
        super().__init__(status, code, headers=headers)
        self.code, self.params = code, params


def language(headers: Headers) -> str:
    """The language a caller reads: their Accept-Language, q-values honoured; Chinese when absent or none of ours."""
    return accepted(headers.get("accept-language"))


def body(language: str, code: str, params: dict | None = None, problems: list[dict] | None = None) -> dict:
    """The error answer: `detail` (the whole refusal), `code`, and `errors` (each problem with its message)."""
    said = [with_message(language, problem) for problem in problems or []]
    detail = refusal_text(language, code, params, said, SHOWN)
    return {"detail": detail, "code": code, **({"errors": said} if said else {})}


def with_message(language: str, problem: dict) -> dict:
    """A problem as the API shows it: its field (and row, line…), its code, and `message` in `language`."""
    shown = {key: value for key, value in problem.items() if key != "params"}
    shown["message"] = problem_text(language, problem)
    return shown


def definition_problems(language: str, problems) -> list[dict]:
    """A definition's problems (workflows.errors.Problem) as the API lists them: line, column, message in
    `language` (a problem with no code keeps the designer's English message)."""
    return [{"line": p.line, "column": p.column, **({"code": p.code} if p.code else {}),
             "message": problem_text(language, {"code": p.code, "params": p.params} if _known(p.code)
                                     else {"message": p.message})}
            for p in problems]


def _known(code: str | None) -> bool:
    return code is not None and any(has(DEFAULT, f"errors.{k}") for k in (code, f"input.{code}"))


class ReaderLanguage:
    """Each API request is answered in its Accept-Language: what the engine says in an answer (a timeline entry,
    a notification: engine/notify/messages.py) reads web.i18n.reading()."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        token = read_in(language(Headers(scope=scope)))
        try:
            await self.app(scope, receive, send)
        finally:
            stop_reading(token)


def refusal(scope, status: int, code: str, headers: dict[str, str] | None = None, **params) -> JSONResponse:
    """A refusal answered by a middleware, before any route: in the language of the request in `scope`."""
    return JSONResponse(status_code=status, content=body(language(Headers(scope=scope)), code, params), headers=headers)


async def engine_error(request: Request, exc: HouqinError) -> JSONResponse:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    problems = exc.errors if isinstance(exc, Invalid) else None
    headers = {"Retry-After": str(exc.seconds)} if isinstance(exc, TooSoon) else None
    return JSONResponse(status_code=status, content=body(language(request.headers), exc.code, exc.params, problems),
                        headers=headers)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own (an unknown path, a method the path does not take) by their status; a route's by its code.
    405 names every method the path has (Starlette's names only those of the first route matching it)."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        path = request.url.path
        methods = {method for route in request.app.routes
                   if isinstance(route, Route) and route.methods and route.path_regex.match(path)
                   for method in route.methods}
        headers["Allow"] = ", ".join(sorted(methods))
    if isinstance(exc, Refused):
        code, params = exc.code, exc.params
    else:
        code, params = f"http_{exc.status_code}", {}
        if exc.detail not in (None, "", _phrase(exc.status_code)):  # a route's own words, not yet a code
            code = str(exc.detail)
    content = body(language(request.headers), code, params)
    return JSONResponse(status_code=exc.status_code, content=content, headers=headers or None)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def data_error(request: Request, exc: DataError) -> JSONResponse:
    """A value the database cannot store (PostgreSQL: an id past 32 bits, a NUL character in text).

    Bad input, not a fault: the transaction is rolled back and nothing changed.
    """
    return JSONResponse(status_code=422, content=body(language(request.headers), "value_out_of_range"))


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Each problem pydantic found, said by its error type (missing, too long, not an integer…) and its field."""
    said = language(request.headers)
    problems = [_validation_problem(said, error) for error in exc.errors()]
    return JSONResponse(status_code=422, content=body(said, FIELDS_INVALID, problems=problems))


def _validation_problem(language: str, error: dict) -> dict:
    """One of pydantic's problems with its message: the catalogue's `errors.input.<type>` (a type of ours, raised
    as a PydanticCustomError, is `errors.<type>`), any other type said as "not valid"."""
    location = error["loc"]
    field = ".".join(str(step) for step in location[1:]) or str(location[0])
    params = {name: value for name, value in (error.get("ctx") or {}).items() if isinstance(value, int | float | str)}
    if "expected" in params:  # pydantic's English list of what a literal or enum takes: 'a', 'b' or 'c'
        params["expected"] = str(params["expected"]).replace(" or ", ", ")
    code = error["type"]
    key = next((k for k in (f"input.{code}", code) if has(DEFAULT, f"errors.{k}")), "input.invalid")
    return {"field": field, "code": code, "message": error_text(language, key, {**params, "field": field})}
