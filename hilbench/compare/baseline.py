"""Baselines: figures of an earlier build, per model and board, to catch regressions.

QEMU instruction counts are exact and deterministic for a given build, vectors and seed,
so their default tolerance is 0; cycles measured on real cores get a percentage.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hilbench.compare.checks import Check
from hilbench.config_files import read_json
from hilbench.errors import ConfigError

DEFAULT_TOLERANCE_EXACT = 0.0  # percent
DEFAULT_TOLERANCE_MEASURED = 5.0


def baseline_key(model: str, board: str) -> str:
    return f"{model}@{board}"


# figures a baseline record may carry, and what each must be
_COUNTS = ("vectors", "seed", "instructions", "cycles", "flash_bytes", "ram_bytes")
_TEXTS = ("model", "board")


def load_baselines(path: Path) -> dict[str, Any]:
    data = read_json(path, "baseline file")
    if not isinstance(data, dict) or "baselines" not in data:
        raise ConfigError(f"{path}: not a hilbench baseline file")
    baselines = data["baselines"]
    if not isinstance(baselines, dict):
        raise ConfigError(f"{path}: 'baselines' must be an object keyed by model@board")
    for key, record in baselines.items():
        _check_record(record, f"{path}: baseline {key[:80]!r}")
    return baselines


def _check_record(record: Any, where: str) -> None:
    """Typed like the records `baseline save` writes: every count an integer >= 0 (or
    null), layer figures lists of them; NaN, infinities, strings and negatives refused."""
    if not isinstance(record, dict):
        raise ConfigError(f"{where} must be an object, not {type(record).__name__}")
    for name in _COUNTS:
        value = record.get(name)
        if value is not None and not _count(value):
            raise ConfigError(f"{where}: {name} must be an integer >= 0, not {value!r:.40}")
    for name in _TEXTS:
        if name in record and not isinstance(record[name], str):
            raise ConfigError(f"{where}: {name} must be a string")
    layers = record.get("layer_instructions", [])
    if not isinstance(layers, list) or not all(v is None or _count(v) for v in layers):
        raise ConfigError(f"{where}: layer_instructions must be a list of integers >= 0")
    ops = record.get("layer_ops", [])
    if not isinstance(ops, list) or not all(isinstance(v, str) for v in ops):
        raise ConfigError(f"{where}: layer_ops must be a list of strings")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def save_baseline(path: Path, record: dict[str, Any]) -> None:
    """Add or replace the record of its model and board. Read, update and replace happen
    under an exclusive lock (parallel CI jobs saving to one file lose nothing), and the
    file is replaced atomically (an interrupted save leaves the old file whole)."""
    if path.is_dir():
        raise ConfigError(f"baseline file {path} is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            baselines = load_baselines(path) if path.exists() else {}
            baselines[baseline_key(record["model"], record["board"])] = record
            text = json.dumps({"baselines": baselines}, indent=2, sort_keys=True) + "\n"
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(handle, "w") as out:
                    out.write(text)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
    except OSError as exc:
        raise ConfigError(f"cannot write the baseline file {path}: {exc.strerror or exc}") \
            from None


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
