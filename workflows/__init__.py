"""The Houqin definition language: schema, loading, validation, compiling, diagrams.

Nothing here knows about the database or HTTP; the engine builds on it.
"""
from workflows.errors import DefinitionError, Problem
from workflows.loader import load_definition, load_file
from workflows.schema import ROLES, PSEUDO_ROLES, ProcessDefinition

__all__ = [
    "DefinitionError", "Problem", "load_definition", "load_file",
    "ProcessDefinition", "ROLES", "PSEUDO_ROLES",
]
