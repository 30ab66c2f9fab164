"""The piece-rate language (计件): what a finished work order earns its doer in the monthly appraisal
(绩效考核), in definitions/appraisal.yaml.

    processes:
      repair:
        done: [closed]            # the final states that are work done: a cancelled repair earns nothing
        points: 1                 # what a work order earns ...
        field: category           # ... unless the choice it made in this field says otherwise
        by_choice: {elevator: 2, medical_gas: 2}
        priority: {urgent: 2, high: 1.5}   # a factor; a priority not listed counts once

A work order's points are its choice's points (else `points`) times its priority's factor.
A process not listed earns no points, and its work orders still count as done when closed.
Like every file of the language it is read within bounds, with positions, and every problem
is reported at once with its line and column; nothing here knows the database.
"""
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError

from workflows.errors import DefinitionError
from workflows.loader import _plain, _schema_problem, parse_yaml, read_text
from workflows.schema import PRIORITIES, Strict

Points = Annotated[float, Field(ge=0, le=1000)]
Factor = Annotated[float, Field(ge=0, le=100)]


class PieceRate(Strict):
    done: list[str] = Field(min_length=1, max_length=20)
    points: Points = Field(default=1, ge=0, le=1000)
    field: str | None = None
    by_choice: dict[str, Points] = Field(default={}, max_length=200)
    priority: dict[str, Factor] = {}

    def points_of(self, choice: str | None, priority: str) -> float:
        return self.by_choice.get(choice, self.points) * self.priority.get(priority, 1)


class Appraisal(Strict):
    processes: dict[str, PieceRate] = Field(default={}, max_length=100)


def load_appraisal(text: str, file: str = "<appraisal>", *, processes: dict | None = None) -> Appraisal:
    """Parse and check a piece-rate file; raise DefinitionError listing every problem found.

    With `processes` (key → ProcessDefinition), the processes, states, fields and choices named are checked too.
    """
    located = parse_yaml(text, file)
    try:
        found = Appraisal.model_validate(_plain(located.document))
    except ValidationError as exc:
        raise DefinitionError([_schema_problem(located, error) for error in exc.errors()]) from None
    problems = []
    for key, rate in found.processes.items():
        path = ("processes", key)
        problems += [located.problem((*path, "priority", name), f"unknown priority '{name}': use one of "
                                     f"{', '.join(PRIORITIES)}", "appraisal_priority", value=name,
                                     priorities=list(PRIORITIES)) for name in rate.priority if name not in PRIORITIES]
        if rate.by_choice and rate.field is None:
            problems.append(located.problem((*path, "by_choice"), "by_choice needs the choice field it reads: field: category",
                                            "appraisal_by_choice_field"))
        if processes is not None:
            problems += _unknown_names(located, path, key, rate, processes)
    if problems:
        raise DefinitionError(problems)
    return found


def _unknown_names(located, path: tuple, key: str, rate: PieceRate, processes: dict) -> list:
    definition = processes.get(key)
    if definition is None:
        return [located.problem(path, f"unknown process '{key}': use one of {', '.join(sorted(processes))}",
                                "appraisal_unknown_process", process=key, processes=sorted(processes))]
    finals = definition.final_states()
    problems = [located.problem((*path, "done"), f"'{state}' is not a final state of {key}: use one of "
                                f"{', '.join(sorted(finals))}", "appraisal_not_final", state=state, process=key,
                                states=sorted(finals)) for state in rate.done if state not in finals]
    if rate.field is not None:
        spec = definition.fields.get(rate.field)
        if spec is None or spec.type != "choice":
            problems.append(located.problem((*path, "field"), f"{key} has no choice field '{rate.field}'",
                                            "appraisal_no_choice_field", process=key, name=rate.field))
        else:
            problems += [located.problem((*path, "by_choice", name), f"'{name}' is not a choice of {rate.field}: "
                                         f"use one of {', '.join(spec.choices)}", "appraisal_not_a_choice", value=name,
                                         name=rate.field, choices=[str(c) for c in spec.choices])
                         for name in rate.by_choice if name not in spec.choices]
    return problems


def load_file(path: str | Path, *, processes: dict | None = None) -> Appraisal:
    return load_appraisal(read_text(path), str(path), processes=processes)
