"""Baselines: figures of an earlier build, per model and board, to catch regressions.

QEMU instruction counts are exact and deterministic for a given build, vectors and seed,
so their default tolerance is 0; cycles measured on real cores get a percentage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hilbench.compare.checks import Check
from hilbench.config_files import read_json
from hilbench.errors import ConfigError

DEFAULT_TOLERANCE_EXACT = 0.0  # percent
DEFAULT_TOLERANCE_MEASURED = 5.0


def baseline_key(model: str, board: str) -> str:
    return f"{model}@{board}"


def load_baselines(path: Path) -> dict[str, Any]:
    data = read_json(path, "baseline file")
    if not isinstance(data, dict) or "baselines" not in data:
        raise ConfigError(f"{path}: not a hilbench baseline file")
    return data["baselines"]


def save_baseline(path: Path, record: dict[str, Any]) -> None:
    baselines = load_baselines(path) if path.exists() else {}
    baselines[baseline_key(record["model"], record["board"])] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"baselines": baselines}, indent=2, sort_keys=True) + "\n")


def compare_baseline(baseline: dict[str, Any], current: dict[str, Any],
                     tolerance: float | None) -> list[Check]:
    if (baseline.get("vectors"), baseline.get("seed")) != (current["vectors"], current["seed"]):
        raise ConfigError(f"the baseline for {baseline_key(current['model'], current['board'])}"
                          f" was recorded with {baseline.get('vectors')} vectors and seed "
                          f"{baseline.get('seed')}; run with the same to compare")
    exact = current.get("instructions") is not None
    if tolerance is None:
        tolerance = DEFAULT_TOLERANCE_EXACT if exact else DEFAULT_TOLERANCE_MEASURED
    checks = []
    figures = ["instructions", "flash_bytes", "ram_bytes"] if exact else \
        ["cycles", "flash_bytes", "ram_bytes"]
    for name in figures:
        before, now = baseline.get(name), current.get(name)
        if before is None or now is None:
            continue
        limit = before * (1 + tolerance / 100)
        ops = current.get("layer_ops", [])
        grew = [f"layer {i} {op}: {a:,} -> {b:,}"
                for i, op, a, b in zip(current.get("layer_indexes", range(len(ops))), ops,
                                       baseline.get("layer_instructions", []),
                                       current.get("layer_instructions", []))
                if name == "instructions" and b > a]
        checks.append(Check(f"baseline.{name}", now <= limit, f"{now:,}",
                            f"<= {before:,} + {tolerance:g}%", "; ".join(grew[:3])))
    return checks
