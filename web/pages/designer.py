"""The process designer: definitions and their versions, a YAML editor checked as you type, diffs, publish.

Checking as you type goes through the API (`POST /api/v1/processes/validate`),
the same check publishing makes; publishing stores a new version and running
work orders stay on the version they started with (engine.published.definitions).
"""
import difflib
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from engine.published import definitions
from web.deps import ClockDep, SessionDep
from web.errors import definition_problems
from web.i18n import Translator, catalogue
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, language, redirect, render, roles
from workflows import DefinitionError
from workflows.limits import MAX_TEXT_BYTES
from workflows.machine import mermaid

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/designer")], include_in_schema=False)
Version = Annotated[int | None, Query(ge=1, le=1_000_000)]
# What "new process" starts from: the smallest definition that publishes.
SKELETON = Path(__file__).resolve().parents[1] / "templates" / "designer_skeleton.yaml"


def _versions(session, key: str) -> list:
    return definitions.versions(session, key)


@router.get("/designer")
def designer_list(request: Request, session: SessionDep, actor: ActorPage):
    t = Translator(language(request, actor))
    rows = []
    for row in definitions.current_rows(session):
        definition = definitions.compiled(session, row.key, row.version).definition
        rows.append({"key": row.key, "title": t.label(definition.title), "version": row.version,
                     "published_at": row.published_at, "versions": len(_versions(session, row.key))})
    return render(request, "designer_list.html", actor, rows=rows)


def _editor(request, session, actor, *, key: str | None, text: str, version: int | None, errors=None, status_code=200):
    t = Translator(language(request, actor))
    versions = _versions(session, key) if key else []
    diagram = ""
    if not errors:
        try:
            diagram = mermaid(definitions.parse(text, "<editor>", session), language=t.language)
        except DefinitionError as exc:
            errors = _problems(exc, t.language)
    return render(request, "designer_edit.html", actor, status_code=status_code, key=key, text=text,
                  version=version, versions=versions, errors=errors or [], diagram=diagram,
                  simulate_text=_simulate_text(t))


def _simulate_text(t: Translator) -> dict[str, str]:
    """The what-if panel's strings, which its script fills in: the `simulate` section and the role names."""
    keys = [key for key in catalogue("zh") if key.startswith(("simulate.", "role."))]
    return {key: t(key) for key in keys}


def _problems(exc: DefinitionError, language: str) -> list[dict]:
    """Each problem at its line, said in the designer's language (a problem with no code in its English)."""
    return definition_problems(language, exc.problems)


@router.get("/designer/new")
def new_definition(request: Request, session: SessionDep, actor: ActorPage):
    return _editor(request, session, actor, key=None, text=SKELETON.read_text(encoding="utf-8"), version=None)


@router.get("/designer/{key}")
def edit_definition(key: str, request: Request, session: SessionDep, actor: ActorPage, version: Version = None):
    row = definitions.row(session, key, version)
    return _editor(request, session, actor, key=row.key, text=row.yaml_text, version=row.version)


@router.post("/designer/publish")
def publish(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep):
    t = Translator(language(request, actor))
    text = str(form.get("yaml", "")).replace("\r\n", "\n")
    key = str(form.get("key", "")) or None
    if len(text.encode()) > MAX_TEXT_BYTES:
        errors = [{"line": 1, "column": 1, "message": t("designer.too_long", limit=MAX_TEXT_BYTES)}]
        return _editor(request, session, actor, key=key, text=text[:MAX_TEXT_BYTES], version=None, errors=errors, status_code=422)
    try:
        row, created = definitions.publish(session, text, file="<editor>", actor_id=actor.id, now=clock.now())
    except DefinitionError as exc:
        return _editor(request, session, actor, key=key, text=text, version=None, errors=_problems(exc, t.language), status_code=422)
    flash(request, "ok", t("designer.published", key=row.key, version=row.version) if created else t("designer.unchanged"))
    return redirect(f"/designer/{row.key}")


@router.get("/designer/{key}/diff")
def diff(key: str, request: Request, session: SessionDep, actor: ActorPage, a: Version = None, b: Version = None):
    versions = _versions(session, key)
    if not versions:
        definitions.row(session, key)  # raises NotFound: a 404 page
    newest = versions[-1].version
    b = b or newest
    a = a or max(1, b - 1)
    old, new = definitions.row(session, key, a), definitions.row(session, key, b)
    lines = []
    for line in difflib.unified_diff(old.yaml_text.splitlines(), new.yaml_text.splitlines(),
                                     fromfile=f"v{a}", tofile=f"v{b}", lineterm="", n=3):
        kind = "hunk" if line.startswith("@@") else "file" if line.startswith(("---", "+++")) else \
            "add" if line.startswith("+") else "del" if line.startswith("-") else "same"
        lines.append((kind, line))
    return render(request, "designer_diff.html", actor, key=key, a=a, b=b, versions=versions, lines=lines)
