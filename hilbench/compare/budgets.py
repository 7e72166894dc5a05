"""Budgets: limits per model and board, from a TOML file or a pyproject.toml.

    [[budget]]                       # or [[tool.hilbench.budget]] in pyproject.toml
    model = "kws_ds_cnn_int8"        # the model file's stem; omit to match every model
    board = "qemu-mps2-an386"        # omit to match every board
    latency_us = 100                 # worst inference, at the board's clock
    cycles = 2_500_000               # worst inference
    ram_bytes = 102_400              # static RAM + measured stack peak
    flash_bytes = 262_144
    bit_exact = true
    max_abs_diff = 0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hilbench.compare.checks import Check
from hilbench.config_files import read_toml
from hilbench.errors import ConfigError

LIMITS = ("latency_us", "cycles", "ram_bytes", "flash_bytes", "bit_exact", "max_abs_diff")


@dataclass(frozen=True)
class Budget:
    model: str | None
    board: str | None
    limits: dict[str, Any]
    source: str


def load_budgets(path: Path) -> list[Budget]:
    data = read_toml(path, "budget file")
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("hilbench", {})
    tables = data.get("budget", [])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path}: no [[budget]] tables"
                          + (" under [tool.hilbench]" if path.name == "pyproject.toml" else ""))
    budgets = []
    for i, table in enumerate(tables):
        where = f"{path.name}, budget {i + 1}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a [[budget]] table, not {type(table).__name__}")
        for key in ("model", "board"):
            if key in table and not isinstance(table[key], str):
                raise ConfigError(f"{where}: {key} must be a string")
        unknown = set(table) - set(LIMITS) - {"model", "board"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                              f"limits are {', '.join(LIMITS)}")
        limits = {k: table[k] for k in LIMITS if k in table}
        for key, value in limits.items():
            wanted = bool if key == "bit_exact" else (int, float)
            if not isinstance(value, wanted) or (key != "bit_exact" and isinstance(value, bool)):
                raise ConfigError(f"{where}: {key} must be "
                                  f"{'true or false' if key == 'bit_exact' else 'a number'}")
            if key != "bit_exact" and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{where}: {key} must be a finite number >= 0, not {value}")
        if not limits:
            raise ConfigError(f"{where}: sets no limit")
        budgets.append(Budget(table.get("model"), table.get("board"), limits, where))
    return budgets


def applicable(budgets: list[Budget], model: str, board: str) -> list[Budget]:
    return [b for b in budgets if b.model in (None, model) and b.board in (None, board)]


def ram_budget(budgets: list[Budget] | None, model: str, board: str) -> int | None:
    """The tightest ram_bytes of the budgets for this model and board (what `--memory auto`
    plans for), or None."""
    limits = [b.limits["ram_bytes"] for b in applicable(budgets or [], model, board)
              if "ram_bytes" in b.limits]
    return int(min(limits)) if limits else None


def check_budgets(budgets: list[Budget], figures: dict[str, Any]) -> list[Check]:
    """figures: latency_us, cycles (worst case, or None if not measured), ram_bytes,
    flash_bytes, bit_exact, max_abs_diff; where cycles come from (cycle_source) or why
    there are none (timing_missing)."""
    checks = []
    for budget in budgets:
        for key, limit in budget.limits.items():
            actual = figures.get(key)
            if key == "bit_exact":
                checks.append(Check(key, actual is True or not limit, str(actual).lower(),
                                    str(limit).lower()))
                continue
            if actual is None:
                checks.append(Check(key, False, "not measured", f"<= {limit:g}",
                                    figures.get("timing_missing")
                                    or "this target reports no cycle figures"))
                continue
            note = (figures.get("cycle_source") or "") if key in ("latency_us", "cycles") else ""
            checks.append(Check(key, actual <= limit, _number(actual), f"<= {_number(limit)}",
                                note))
    return checks


def _number(value: float) -> str:
    return f"{value:,}" if float(value).is_integer() else f"{value:,.1f}"
