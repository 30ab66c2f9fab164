"""How much a request may send, settled before a byte of its body is read.

Every body is bounded by the kind of route it goes to:
- JSON and forms: HOUQIN_MAX_BODY_BYTES (1 MB);
- a process definition sent as YAML: the definition language's own limit (workflows.limits, 256 KB);
- an upload (a form with a file): HOUQIN_MAX_ATTACHMENT_MB, plus 64 KB for the form around the file.

The kind comes from the route's own declaration (a JSON model, a form, a multipart or YAML request
body in `openapi_extra`, a page marked `takes_files`), so a new route is bounded without being
listed here.

An API call announcing more than its limit (Content-Length) is answered 413 at once, unread. Any
other body is counted as it is read: past the limit, reading stops and the route answers 413
(`BodyTooLarge`, an HTTPException, so the API answers in its error shape and a page shows the
error page). That covers a body sent in chunks, with no Content-Length, and a page whose form is
over the limit: its first read is refused before a byte is pulled. Starlette's
RequestBodyLimitMiddleware counts the same way, but its 413 is plain text and names no limit.

A JSON route sent a body in another media type is refused with 415 before reading: FastAPI would
read it and then call it invalid, or parse it as something else.

Who calls is settled before the body too (web.session.ApiCsrfMiddleware, from `facts_of`); the
refusals both middlewares give are added to the OpenAPI document by `document_refusals`.
"""
import email.message
import weakref
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.orders import attachments
from engine.settings import Settings
from web.deps import current_actor, signed_in_actor
from web.errors import Refused, refusal
from web.public import ERROR_TEXT
from workflows.limits import MAX_TEXT_BYTES

JSON, FORM, YAML, UPLOAD = "json", "form", "yaml", "upload"
ENVELOPE = 64 * 1024  # room for the multipart boundaries and the other fields around one file
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SEND_JSON = "send_json"  # the 415's code (web.errors)
_FACTS_KEY = "houqin.route_facts"


@dataclass(frozen=True)
class RouteFacts:
    """What a route reads (JSON, FORM, YAML, UPLOAD, or None: nothing declared) and whether it needs a caller."""

    body: str | None
    needs_caller: bool  # it answers 401 unless someone is signed in (web.deps.signed_in_actor)
    refuses_unchanged: bool = False  # 403 while the caller must change their password (web.deps.current_actor)


NOWHERE = RouteFacts(body=None, needs_caller=False)


@dataclass(frozen=True)
class Limit:
    size: int
    code: str  # the refusal's code (web.errors), which names the limit
    params: dict


class BodyTooLarge(Refused):
    def __init__(self, limit: Limit):
        super().__init__(413, limit.code, headers={"Connection": "close"}, **limit.params)


def takes_files(endpoint):
    """Mark a page whose form carries a file (a photo, a sheet): its body may be as large as an upload."""
    endpoint.takes_files = True
    return endpoint


def limit_for(kind: str | None, settings: Settings) -> Limit:
    if kind == UPLOAD:  # the engine's own limit (engine.orders.attachments), read as it reads it
        return Limit(attachments.max_bytes() + ENVELOPE, "upload_over_limit",
                     {"mb": f"{attachments.max_megabytes():g}", "envelope": _size(ENVELOPE)})
    if kind == YAML:
        return Limit(MAX_TEXT_BYTES, "definition_over_limit", {"limit": _size(MAX_TEXT_BYTES)})
    return Limit(settings.max_body_bytes, "body_over_limit", {"limit": _size(settings.max_body_bytes)})


def _size(count: int) -> str:
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if count >= unit and count % unit == 0:
            return f"{count // unit} {name}"
    return f"{count} bytes"


# --- which route a request goes to ---------------------------------------------------------------

class _RouteTable:
    """Every route of an app with its facts, in the router's order: the first full match is the one served."""

    def __init__(self, app: FastAPI):
        self.entries = [(context, _facts(context)) for context in iter_route_contexts(app.routes)]

    def lookup(self, scope: Scope) -> RouteFacts:
        for context, facts in self.entries:
            if context.matches(scope)[0] is Match.FULL:
                return facts
        return NOWHERE


_tables: "weakref.WeakKeyDictionary[FastAPI, _RouteTable]" = weakref.WeakKeyDictionary()


def _table(app: FastAPI) -> _RouteTable:
    table = _tables.get(app)
    if table is None:
        table = _tables[app] = _RouteTable(app)
    return table


def facts_of(scope: Scope) -> RouteFacts:
    """The facts of the route this request goes to (looked up once per request)."""
    facts = scope.get(_FACTS_KEY)
    if facts is None:
        facts = scope[_FACTS_KEY] = _table(scope["app"]).lookup(scope)
    return facts


def _facts(context) -> RouteFacts:
    route = context.original_route
    if not isinstance(route, APIRoute):
        return NOWHERE
    dependant = getattr(context, "dependant", None) or route.dependant
    return RouteFacts(body=_body_kind(context, route, dependant), needs_caller=calls(dependant, signed_in_actor),
                      refuses_unchanged=calls(dependant, current_actor))


def _body_kind(context, route: APIRoute, dependant: Dependant) -> str | None:
    if getattr(route.endpoint, "takes_files", False):
        return UPLOAD
    extra = getattr(context, "openapi_extra", None) or route.openapi_extra or {}
    declared = extra.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in declared:
        return UPLOAD
    if any("yaml" in media for media in declared):
        return YAML
    if (getattr(context, "body_field", None) or route.body_field) is None:
        return None
    fields = [field.field_info for field in _body_params(dependant)]
    if any(isinstance(info, params.File) for info in fields):
        return UPLOAD
    return FORM if any(isinstance(info, params.Form) for info in fields) else JSON


def _body_params(dependant: Dependant):
    yield from dependant.body_params
    for sub in dependant.dependencies:
        yield from _body_params(sub)


def calls(dependant: Dependant, target) -> bool:
    """`target` is among the dependencies of `dependant`, at any depth."""
    return any(sub.call is target or calls(sub, target) for sub in dependant.dependencies)


# --- the middleware ------------------------------------------------------------------------------

class BodyLimitMiddleware:
    """Bounds every request body by its route's kind (see the module's docstring)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        announced = _content_length(headers)
        sends_body = bool(announced) or "chunked" in headers.get("transfer-encoding", "").lower()
        facts = facts_of(scope) if sends_body or scope["method"] in UNSAFE else NOWHERE
        limit = limit_for(facts.body, scope["app"].state.settings)
        if scope["path"].startswith("/api/"):
            if announced is not None and announced > limit.size:
                await refusal(scope, 413, limit.code, {"Connection": "close"}, **limit.params)(scope, receive, send)
                return
            if facts.body == JSON and sends_body and not _is_json(headers.get("content-type")):
                await refusal(scope, 415, SEND_JSON)(scope, receive, send)
                return
        await self.app(scope, _bounded(receive, limit, announced), send)


def _bounded(receive: Receive, limit: Limit, announced: int | None) -> Receive:
    received = 0

    async def receive_within_limit():
        nonlocal received
        if announced is not None and announced > limit.size:  # a page's form: refused at its first read
            raise BodyTooLarge(limit)
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit.size:
                raise BodyTooLarge(limit)
        return message

    return receive_within_limit


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


# --- the OpenAPI document ------------------------------------------------------------------------

def refusals(method: str, facts: RouteFacts) -> list[int]:
    """What a call may be answered before its route runs, or by FastAPI reading its body."""
    codes = []
    if facts.needs_caller:
        codes.append(401)  # nobody signed in, or a bearer token that fails its signature or expiry
    if facts.refuses_unchanged:
        codes.append(403)  # a caller who must change their password first
    if method in UNSAFE:
        codes += [403, 413]  # a call on the page cookie without its CSRF header; a body over the limit
    if facts.body in (JSON, FORM, UPLOAD):
        codes += [400, 422]  # a body FastAPI cannot parse; a value that fails its model
    if facts.body == JSON:
        codes.append(415)
    return codes


def document_refusals(app: FastAPI) -> None:
    """The app's OpenAPI document, with the refusals of `refusals` on every operation they can reach."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for context, facts in _table(app).entries:
            for method in context.methods or ():
                operation = schema["paths"].get(context.path_format, {}).get(method.lower())
                for code in refusals(method, facts) if operation is not None else ():
                    operation["responses"].setdefault(str(code), {
                        "description": ERROR_TEXT[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}}})
        return schema

    app.openapi = openapi
