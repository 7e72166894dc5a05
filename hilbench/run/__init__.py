"""Running a model on a board: the typed request, the typed result, and the one strategy
that turns the first into the second (model -> reference -> codegen -> build -> target ->
compare)."""

from hilbench.run.records import RunRequest, RunResult
from hilbench.run.strategy import run

__all__ = ["RunRequest", "RunResult", "run"]
