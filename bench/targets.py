"""A benchmark's target and the one line bench/run_all.sh collects for its table:

    RATIO <name> <database> <value> target <op><target> met|NOT met
"""
import operator
from dataclasses import dataclass

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Target:
    op: str
    value: float

    def met(self, figure: float) -> bool:
        return _OPS[self.op](figure, self.value)

    def line(self, name: str, database: str, figure: float) -> str:
        verdict = "met" if self.met(figure) else "NOT met"
        return f"RATIO {name} {database} {figure:.3g} target {self.op}{self.value:g} {verdict}"
