"""Errors a process designer reads: each names the file, line, column and what to fix.

`message` is the English the command line prints; a problem with a `code` (and its `params`) is said
in the reader's language by the web layer (the catalogue's `errors.<code>`), like the engine's errors.
"""
from dataclasses import dataclass, field

from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    message: str
    code: str | None = None
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


class DefinitionError(ValueError):
    """A definition that cannot be published; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.line, p.column, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class BeyondLimits(DefinitionError):
    """A text past the language's bounds (size, nesting, aliases; workflows.limits): refused before it is
    read as a definition at all, so none of its other problems are known."""


def coded(code: str, english: str, **params) -> PydanticCustomError:
    """A definition check's refusal with its code and params (the catalogue's `errors.<code>` says it in the
    reader's language); `english` is what the command line prints. A ValueError, so a caller that catches one
    (a schedule, a calendar, the engine) reads it as before; in a pydantic check its code and params are kept."""
    return PydanticCustomError(code, english, params)
