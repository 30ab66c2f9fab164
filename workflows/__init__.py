"""The Houqin languages: process definitions (schema, loading, validation, compiling, diagrams),
business calendars (`calendars.py`, with their arithmetic), schedules (`schedules.py`) and the
one duration grammar they share (`durations.py`). Each file is data, checked with line and column.

Nothing here knows about the database or HTTP; the engine builds on it.
"""
from workflows.errors import BeyondLimits, DefinitionError, Problem
from workflows.loader import load_definition, load_file
from workflows.schema import ROLES, PSEUDO_ROLES, ProcessDefinition

__all__ = [
    "BeyondLimits", "DefinitionError", "Problem", "load_definition", "load_file",
    "ProcessDefinition", "ROLES", "PSEUDO_ROLES",
]
