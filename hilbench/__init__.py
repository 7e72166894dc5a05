"""hilbench: hardware-in-the-loop test and benchmark harness for int8 ML on microcontrollers.

Pipeline, one package per stage; data flows one way:
    model -> reference -> (codegen -> build -> targets) -> compare -> report

The Python API is hilbench.api (`from hilbench import api; api.run(...)`), re-exported
here: `hilbench.run_model` (api.run: the name `hilbench.run` is the run/ stage package),
`hilbench.build`, `hilbench.reference`, `hilbench.load_model`, `hilbench.load_board`. It is
imported on first use, so `import hilbench` stays cheap and the command line loads only
what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("Board", "Budget", "Check", "FirmwareBuild", "Graph", "ReferenceResult", "RunResult",
        "board_names", "build", "load_board", "load_model", "reference", "run_schema")
__all__ = ["__version__", "api", "run_model", *_API]

if TYPE_CHECKING:  # pragma: no cover
    from hilbench.api import (Board, Budget, Check, FirmwareBuild, Graph, ReferenceResult,
                              RunResult, board_names, build, load_board, load_model, reference,
                              run_schema)
    from hilbench.api import run as run_model


def __getattr__(name: str) -> Any:
    if name in _API or name in ("api", "run_model"):
        api = importlib.import_module("hilbench.api")
        if name == "api":
            return api
        return api.run if name == "run_model" else getattr(api, name)
    raise AttributeError(f"module 'hilbench' has no attribute {name!r}")
