"""One matrix job in its own process: `python -m hilbench.matrix.worker JOB.json`.

It writes one JSON object per line on stdout: `{"state": "building"}`, `{"state":
"running", "done": k, "of": n}` as vectors come back, and last `{"outcome": {...}}`: the
run's JSON record (`report.run_report.run_record`, with the per-layer profile), its
`figures` for baselines, and its checks; or a skip (the model does not fit: the message
says by how many bytes) or an error, each with its one-line message. A process per job
keeps runs apart (a crash, a hang or a leak ends with its process) and makes the parent
free to be killed at any time: QEMU dies with its worker, the worker with the matrix.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hilbench.errors import BuildError, HilbenchError, TargetError

_DOES_NOT_FIT = re.compile(r"does not fit .*over by ([\d,]+) B")


def job_spec(model: Path, board: str, kernels: str | None, vectors: int, seed: int,
             timeout: float, budget_file: Path | None, memory: str = "inplace",
             place: dict[str, Any] | None = None) -> dict[str, Any]:
    """`place`: a leased farm place (PlaceLease.to_json()) to run on, else the board's own
    driver."""
    return {"model": str(model), "board": board, "kernels": kernels, "vectors": vectors,
            "seed": seed, "timeout": timeout, "memory": memory,
            "budget_file": None if budget_file is None else str(budget_file), "place": place}


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    from hilbench.board import load_board
    from hilbench.compare.budgets import applicable, load_budgets, ram_budget
    from hilbench.compare.verdict import figures, verdict
    from hilbench.report.run_report import run_record
    from hilbench.run import RunRequest, run

    start = time.perf_counter()
    try:
        board = load_board(spec["board"])
        model = Path(spec["model"])
        place = None
        if spec.get("place") is not None:
            from hilbench.farm.lease import PlaceLease

            place = PlaceLease.from_json(spec["place"])
        budgets = load_budgets(Path(spec["budget_file"])) if spec["budget_file"] else None
        if budgets is not None and not applicable(budgets, model.stem, board.name):
            budgets = None  # a plan's budgets need not cover every model and board
        request = RunRequest(model=model, board=board, vectors=spec["vectors"],
                             seed=spec["seed"], kernels=spec["kernels"],
                             memory=spec.get("memory", "inplace"),
                             ram_budget=ram_budget(budgets, model.stem, board.name),
                             timeout=spec["timeout"], place=place)
        _emit({"state": "building"})
        total = request.vectors

        def progress(done: int) -> None:
            _emit({"state": "running", "done": done, "of": total})

        result = run(request, progress=progress)
        checks = verdict(result, budgets)
        return {"status": "pass" if all(c.passed for c in checks) else "fail",
                "record": run_record(result, profile=True), "figures": figures(result),
                "checks": [asdict(c) for c in checks],
                "duration": time.perf_counter() - start}
    except BuildError as exc:
        fit = _DOES_NOT_FIT.search(str(exc))
        return {"status": "skipped" if fit else "error", "message": str(exc),
                "over_by": int(fit.group(1).replace(",", "")) if fit else None,
                "duration": time.perf_counter() - start}
    except HilbenchError as exc:
        # a target's failure (link, probe, place) may be the place's, not the job's
        return {"status": "error", "message": str(exc), "duration": time.perf_counter() - start,
                "target_failed": isinstance(exc, TargetError)}
    except Exception as exc:  # a bug: still one job's error, not the matrix's
        return {"status": "error", "message": f"{type(exc).__name__}: {exc}",
                "duration": time.perf_counter() - start}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    _emit({"outcome": run_job(spec)})
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
