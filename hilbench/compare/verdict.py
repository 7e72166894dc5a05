"""The verdict of a run: bit-exactness, budgets and baselines, as checks computed from the
typed RunResult. Reports only render what this returns."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hilbench.compare.baseline import baseline_key, compare_baseline
from hilbench.compare.budgets import Budget, applicable, check_budgets
from hilbench.compare.checks import Check
from hilbench.compare.metrics import TOLERANCES
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
        "layer_indexes": [layer.index for layer in t.layers],  # a patch stage is one row
        "layer_instructions": [layer.instructions for layer in t.layers],
    }


def parse_tolerances(text: str) -> dict[str, float]:
    """`max_abs_diff=1,l2r=0.01` -> {"max_abs_diff": 1.0, "l2r": 0.01}."""
    tolerances = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        if key not in TOLERANCES:
            raise ConfigError(f"unknown tolerance {key!r}; one of {', '.join(TOLERANCES)}")
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"tolerance {key} needs a number, not {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise ConfigError(f"tolerance {key} must be a finite number >= 0")
        tolerances[key] = number
    if not tolerances:
        raise ConfigError("--tolerance names no limit (e.g. max_abs_diff=1,l2r=0.01)")
    return tolerances


def output_checks(result: RunResult, tolerances: dict[str, float] | None) -> list[Check]:
    """Bit-exactness; or, for a runtime not meant to be bit-exact, the user's tolerances
    on the worst output."""
    c = result.comparison
    if not tolerances:
        return [Check("bit_exact", c.bit_exact, f"{c.mismatches} mismatching values", "0")]
    checks = []
    for key, limit in tolerances.items():
        if key == "max_abs_diff":
            actual = c.max_abs_diff
        else:
            values = [getattr(m, key) for m in result.metrics]
            actual = max(values) if TOLERANCES[key] == "max" else min(values)
        passed = actual <= limit if TOLERANCES[key] == "max" else actual >= limit
        checks.append(Check(f"tolerance.{key}", passed, f"{actual:.6g}",
                            f"{'<=' if TOLERANCES[key] == 'max' else '>='} {limit:g}",
                            f"{c.mismatches} values differ from the reference"))
    return checks


def verdict(result: RunResult, budgets: list[Budget] | None = None,
            budget_source: Path | None = None, baselines: dict[str, Any] | None = None,
            baseline_source: Path | None = None, tolerance: float | None = None,
            tolerances: dict[str, float] | None = None) -> list[Check]:
    """Bit-exactness (or the output tolerances); the budgets that apply to this model and
    board; the baseline recorded for them. A budget file or baseline file that has nothing
    for this run is a configuration error, not a silent pass."""
    checks = output_checks(result, tolerances)
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
