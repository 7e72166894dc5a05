"""The verdict of a run: bit-exactness, budgets and baselines, as checks computed from the
typed RunResult. Reports only render what this returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hilbench.compare.baseline import baseline_key, compare_baseline
from hilbench.compare.budgets import Budget, applicable, check_budgets
from hilbench.compare.checks import Check
from hilbench.errors import ConfigError
from hilbench.run.records import RunResult


def figures(result: RunResult) -> dict[str, Any]:
    """The flat worst-case figures that budgets and baselines compare."""
    t = result.timing
    return {
        "model": result.model, "board": result.board, "vectors": result.vectors,
        "seed": result.seed, "bit_exact": result.comparison.bit_exact,
        "max_abs_diff": result.comparison.max_abs_diff, "flash_bytes": result.build.sizes.flash,
        "ram_bytes": result.ram_total,
        "instructions": None if t.instructions is None else int(t.instructions.max),
        "cycles": None if t.cycles is None else int(round(t.cycles.max)),
        "latency_us": None if t.latency_us is None else round(t.latency_us.max, 3),
        "estimated": t.cycles_estimated,
        "cycle_source": t.cycle_source,
        "timing_missing": t.missing,
        "layer_ops": [layer.op for layer in t.layers],
        "layer_instructions": [layer.instructions for layer in t.layers],
    }


def verdict(result: RunResult, budgets: list[Budget] | None = None,
            budget_source: Path | None = None, baselines: dict[str, Any] | None = None,
            baseline_source: Path | None = None, tolerance: float | None = None) -> list[Check]:
    """Bit-exactness always; the budgets that apply to this model and board; the baseline
    recorded for them. A budget file or baseline file that has nothing for this run is a
    configuration error, not a silent pass."""
    c = result.comparison
    checks = [Check("bit_exact", c.bit_exact, f"{c.mismatches} mismatching values", "0")]
    current = figures(result)
    if budgets is not None:
        matching = applicable(budgets, result.model, result.board)
        if not matching:
            raise ConfigError(f"no budget in {budget_source} applies to model "
                              f"{result.model!r} on board {result.board!r}")
        checks += check_budgets(matching, current)
    if baselines is not None:
        key = baseline_key(result.model, result.board)
        if key not in baselines:
            raise ConfigError(f"{baseline_source} has no baseline for {key}")
        checks += compare_baseline(baselines[key], current, tolerance)
    return checks
