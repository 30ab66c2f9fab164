"""Process definitions over HTTP: list, read, check and publish.

Checking and publishing parse, validate and compile a definition and write it:
CPU and database work, so those routes are plain `def` routes, which FastAPI runs
in its threadpool, never on the event loop every other request shares. Their
YAML body is read by the small async dependency `yaml_body`, in the loop, after
the caller's roles are checked (a route's `dependencies` come first), so a
refused caller's body is never read.
"""
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.published import definitions
from web.deps import ActorDep, ClockDep, SessionDep, require_roles
from web.errors import body as error_body, definition_problems, language
from web.i18n import error_text
from web.public import (DefinitionCheckPublic, ErrorPublic, ProcessPublic, ProcessPublished, ProcessSummaryPublic,
                        errors)
from workflows import BeyondLimits, DefinitionError, ProcessDefinition
from workflows.machine import mermaid

router = APIRouter(tags=["processes"])
_YAML_BODY = {"requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}}
# The editor checks whatever it holds, an empty text included (which has problems, reported as such).
_YAML_TEXT = {"requestBody": {"required": False, "content": {"application/yaml": {
    "schema": {"description": "any text: the answer lists its problems"}}}}}


async def yaml_body(request: Request) -> bytes:
    """The request body, awaited here so that the route that uses it need not be async."""
    return await request.body()


YamlBody = Annotated[bytes, Depends(yaml_body)]


def _refused(request: Request, exc: DefinitionError, code: str, **params) -> JSONResponse:
    said = language(request.headers)
    return JSONResponse(status_code=422, content=ErrorPublic(
        **error_body(said, code, params), errors=definition_problems(said, exc.problems)).model_dump(mode="json"))


def describe(row, definition: ProcessDefinition, language: str = "zh") -> dict:
    """The fields of web.public.ProcessDescribed."""
    return {
        "key": row.key, "version": row.version, "published_at": row.published_at,
        "title": definition.title.model_dump(), "number_prefix": definition.number_prefix,
        "initial_state": definition.initial_state,
        "states": [{"name": name, "label": s.label.model_dump(), "initial": s.initial, "final": s.final}
                   for name, s in definition.states.items()],
        "events": [{"name": e.name, "label": definition.event_label(e.name).model_dump(), "from": e.from_, "to": e.to,
                    "roles": e.roles, "fields": e.fields, "assigns": e.assigns, "comment": e.comment,
                    "condition": e.condition} for e in definition.events],
        "fields": {name: spec.model_dump(exclude_none=True) for name, spec in definition.fields.items()},
        "sla": {name: spec.model_dump(mode="json", exclude_none=True) for name, spec in definition.sla.items()},
        "feedback": definition.feedback.model_dump(mode="json") if definition.feedback else None,
        "yaml": row.yaml_text,
        "diagram": mermaid(definition, language=language),
    }


@router.get("/processes", responses=errors(401))
def list_processes(session: SessionDep, actor: ActorDep) -> list[ProcessSummaryPublic]:
    out = []
    for row in definitions.current_rows(session):
        definition = definitions.compiled(session, row.key, row.version).definition
        out.append(ProcessSummaryPublic(key=row.key, version=row.version, title=definition.title,
                                        published_at=row.published_at))
    return out


@router.get("/processes/{key}", responses=errors(401, 404, 422))
def get_process(key: str, session: SessionDep, actor: ActorDep, version: int | None = None) -> ProcessPublic:
    if version is not None and not 1 <= version <= 1_000_000:
        raise Invalid(FIELDS_INVALID, [problem("version", "positive_version")])
    row = definitions.row(session, key, version)
    definition = definitions.compiled(session, row.key, row.version).definition
    out = describe(row, definition, actor.language)
    out["versions"] = [{"version": v.version, "published_at": v.published_at} for v in definitions.versions(session, key)]
    return ProcessPublic(**out)


@router.post("/processes", status_code=201, openapi_extra=_YAML_BODY, response_model=ProcessPublished,
             dependencies=[require_roles("designer", "admin")],
             responses={200: {"model": ProcessPublished, "description": "the text was the current version already"},
                        **errors(401, 403, 409, 422)})
def publish_process(request: Request, session: SessionDep, actor: ActorDep, clock: ClockDep, body: YamlBody):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(FIELDS_INVALID, [problem("body", "not_utf8")]) from None
    try:
        row, created = definitions.publish(session, text, file="<upload>", actor_id=actor.id, now=clock.now())
    except DefinitionError as exc:
        return _refused(request, exc, "definition_problems", count=len(exc.problems))
    out = describe(row, definitions.compiled(session, row.key, row.version).definition, actor.language)
    shown = ProcessPublished(**out, created=created).model_dump(mode="json", by_alias=True)
    return JSONResponse(status_code=201 if created else 200, content=shown)


@router.post("/processes/validate", openapi_extra=_YAML_TEXT, response_model_exclude_unset=True,
             dependencies=[require_roles("designer", "admin")], responses=errors(401, 403, 422))
def validate_process(request: Request, actor: ActorDep, body: YamlBody) -> DefinitionCheckPublic:
    """Check a definition without publishing it (the designer's editor calls this on each change).

    Its problems are the answer (`valid: false`, each at its line); a text past the language's bounds
    (size, nesting, aliases) is not checked at all but refused, 422, at the line where it passes them.
    """
    said = language(request.headers)
    try:
        definition = definitions.parse(body.decode("utf-8"), "<editor>")
    except UnicodeDecodeError:
        return DefinitionCheckPublic(valid=False, errors=[{"line": 1, "column": 1,
                                                           "message": error_text(said, "not_utf8", {"field": "body"})}])
    except BeyondLimits as exc:
        return _refused(request, exc, "beyond_limits")
    except DefinitionError as exc:
        return DefinitionCheckPublic(valid=False, errors=definition_problems(said, exc.problems))
    return DefinitionCheckPublic(valid=True, errors=[], diagram=mermaid(definition, language=actor.language))
