"""Reading a definition file: YAML with positions, then schema, then semantic checks.

ruamel.yaml keeps the line and column of every key and value, so each problem
pydantic or `validate.py` finds can point the designer at the exact spot. The
text is read within the language's bounds (workflows.bounded_yaml): a text too
large, too deep or with aliases standing for too much is refused at its line
before anything walks it.
"""
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from workflows import bounded_yaml
from workflows.errors import BeyondLimits, DefinitionError, Problem
from workflows.limits import MAX_TEXT_BYTES
from workflows.schema import ProcessDefinition


class Located:
    """A parsed YAML document that can say where any path inside it was written."""

    def __init__(self, file: str, document):
        self.file = file
        self.document = document

    def position(self, path: tuple) -> tuple[int, int]:
        """1-based line and column of the deepest node on `path` that exists."""
        node, line, column = self.document, 1, 1
        for step in path:
            if isinstance(node, CommentedMap) and step in node:
                line, column = _pos(node.lc.value(step) if _is_scalar(node[step]) else node.lc.key(step))
                node = node[step]
            elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
                line, column = _pos(node.lc.item(step))
                node = node[step]
            else:
                break
        return line, column

    def problem(self, path: tuple, message: str, code: str | None = None, **params) -> Problem:
        """A problem at `path`; with a `code` (and its params) the web layer says it in the reader's language."""
        line, column = self.position(path)
        return Problem(self.file, line, column, message, code, params)


def _pos(pair) -> tuple[int, int]:
    return pair[0] + 1, pair[1] + 1


def _is_scalar(value) -> bool:
    return not isinstance(value, (CommentedMap, CommentedSeq))


def parse_yaml(text: str, file: str) -> Located:
    # The round-trip loader builds only plain maps, lists and scalars (never Python objects)
    # and keeps every node's position.
    try:
        document = bounded_yaml.read(text)
    except bounded_yaml.LimitExceeded as exc:
        mark = exc.problem_mark
        raise BeyondLimits([Problem(file, mark.line + 1, mark.column + 1, exc.problem)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise DefinitionError([_syntax(file, line, column, exc.problem or exc)]) from None
    except Exception as exc:  # ruamel raises a few unmarked errors, e.g. on duplicate keys
        raise DefinitionError([_syntax(file, 1, 1, exc)]) from None
    if not isinstance(document, CommentedMap):
        raise DefinitionError([Problem(file, 1, 1, "a definition must be a YAML mapping with key, title, states, events",
                                       "definition_not_mapping")])
    return Located(file, document)


def load_definition(text: str, file: str = "<definition>", calendars: set[str] | None = None) -> ProcessDefinition:
    """Parse and check a definition; raise DefinitionError listing every problem found.

    `calendars`, when given, are the calendar names SLA targets may use.
    """
    from workflows.validate import semantic_problems

    located = parse_yaml(text, file)
    try:
        definition = ProcessDefinition.model_validate(_plain(located.document))
    except ValidationError as exc:
        raise DefinitionError([_schema_problem(located, error) for error in exc.errors()]) from None
    problems = semantic_problems(definition, located, calendars)
    if problems:
        raise DefinitionError(problems)
    return definition


def load_file(path: str | Path, calendars: set[str] | None = None) -> ProcessDefinition:
    return load_definition(read_text(path), str(path), calendars)


def read_text(path: str | Path) -> str:
    """A file's text, read no further than one byte past the language's bound (which parse_yaml refuses:
    a character cut at the end is replaced, never dropped, so the text stays past the bound)."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_TEXT_BYTES + 1)
        return data.decode("utf-8", errors="strict" if len(data) <= MAX_TEXT_BYTES else "replace")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), 1, 1, f"cannot read the file: {exc}")]) from None


def _syntax(file: str, line: int, column: int, detail) -> Problem:
    return Problem(file, line, column, f"YAML syntax: {detail}", "yaml_syntax", {"detail": str(detail)})


def _schema_problem(located: Located, error: dict) -> Problem:
    """pydantic's problem at its place, with a code: a key missing or unknown, or a value by pydantic's error type
    (a check of our own raises workflows.errors.coded: its code and params; a bare ValueError keeps its English
    message: it has no code)."""
    path = tuple(error["loc"])
    where = ".".join(str(step) for step in path)
    message = error["msg"].removeprefix("Value error, ")
    code, params = (None, {}) if error["type"] == "value_error" else (error["type"], {
        name: list(value) if isinstance(value, list | tuple) else value
        for name, value in (error.get("ctx") or {}).items() if isinstance(value, int | float | str | list | tuple)})
    if error["type"] == "missing":
        message, code, params = f"'{path[-1]}' is missing", "definition_key_missing", {"key": str(path[-1])}
    elif error["type"] == "extra_forbidden":
        message, code, params = (f"unknown key '{path[-1]}'; check its spelling", "definition_key_unknown",
                                 {"key": str(path[-1])})
    return located.problem(path, f"{where}: {message}" if where else message, code, field=where, **params)


def _plain(node):
    """ruamel's commented containers → plain dicts and lists for pydantic."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    return node
