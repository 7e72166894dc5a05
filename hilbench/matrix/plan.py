"""A matrix plan: models × boards × kernel variants, run with the same vectors and seed.

    [matrix]
    models = ["models/*.tflite", "extra/kws.tflite"]   # paths or globs, relative to this file
    boards = ["qemu-mps2-an386", "qemu-microbit"]      # board names or board files
    variants = ["ref", "mine"]                         # optional; omitted: each board's own
    memory = ["inplace", "patch", "auto"]              # optional memory modes (["inplace"]);
                                                       # auto plans for the budget's ram_bytes
    vectors = 5                                        # optional (5)
    seed = 0                                           # optional (0)
    timeout = 60                                       # optional: seconds per inference

    [[budget]]                                         # optional, as `hilbench run --budget`
    model = "kws_ds_cnn_int8"
    latency_us = 100_000
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.board import Board, load_board
from hilbench.codegen.arena import DEFAULT_MODE as DEFAULT_MEMORY, MODES as MEMORY_MODES
from hilbench.compare.budgets import Budget, load_budgets
from hilbench.config_files import read_toml
from hilbench.errors import ConfigError

DEFAULT_VARIANT = "default"  # the board's own kernel variant
_KEYS = {"models", "boards", "variants", "memory", "vectors", "seed", "timeout"}


@dataclass(frozen=True)
class Job:
    model: Path
    board: Board
    variant: str  # a kernel variant name, or DEFAULT_VARIANT
    memory: str = DEFAULT_MEMORY  # the memory mode (codegen/arena.py)

    @property
    def key(self) -> str:
        """Unique within a plan: what --resume and JUnit names go by (the memory mode is
        named when it is not the default, so keys of plans without it stay as they were)."""
        memory = "" if self.memory == DEFAULT_MEMORY else f",{self.memory}"
        return f"{self.model.stem}@{self.board.name}[{self.variant}{memory}]"

    @property
    def kernels(self) -> str | None:
        return None if self.variant == DEFAULT_VARIANT else self.variant


@dataclass(frozen=True)
class Plan:
    path: Path
    digest: str  # of the plan file's text: a changed plan is a different plan run
    models: tuple[Path, ...]
    boards: tuple[Board, ...]
    variants: tuple[str, ...]
    memory: tuple[str, ...] = (DEFAULT_MEMORY,)
    vectors: int = 5
    seed: int = 0
    timeout: float = 60.0
    budgets: list[Budget] | None = field(default=None, compare=False)

    def jobs(self) -> list[Job]:
        return [Job(m, b, v, memory) for m in self.models for b in self.boards
                for v in self.variants for memory in self.memory]


def model_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_plan(path: Path) -> Plan:
    path = path.resolve()
    data = read_toml(path, "matrix plan")
    table = data.get("matrix")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: no [matrix] table")
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [matrix]: {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(_KEYS))}")
    patterns = _strings(table, "models", path)
    names = _strings(table, "boards", path)
    variants = _strings(table, "variants", path) if "variants" in table else [DEFAULT_VARIANT]
    memory = _strings(table, "memory", path) if "memory" in table else [DEFAULT_MEMORY]
    unknown_modes = [m for m in memory if m not in MEMORY_MODES]
    if unknown_modes:
        raise ConfigError(f"{path}: [matrix] memory {', '.join(map(repr, unknown_modes))}: "
                          f"modes are {', '.join(MEMORY_MODES)}")
    models: list[Path] = []
    for pattern in patterns:
        found = sorted(Path(p) for p in glob.glob(str(path.parent / pattern), recursive=True))
        if not found:
            raise ConfigError(f"{path}: models pattern {pattern!r} matches no file")
        models += [m.resolve() for m in found if m.resolve() not in models]
    stems = [m.stem for m in models]
    clash = {s for s in stems if stems.count(s) > 1}
    if clash:
        raise ConfigError(f"{path}: several models are named {', '.join(sorted(clash))}; "
                          f"results are keyed by the file's stem")
    boards = []
    for name in names:
        board_file = path.parent / name
        boards.append(load_board(str(board_file) if name.endswith(".toml") else name))
    vectors, seed, timeout = table.get("vectors", 5), table.get("seed", 0), table.get("timeout", 60)
    for key, value in (("vectors", vectors), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool) or value < (key == "vectors"):
            raise ConfigError(f"{path}: [matrix] {key} must be a whole number"
                              f"{' >= 1' if key == 'vectors' else ' >= 0'}")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{path}: [matrix] timeout must be a positive number of seconds")
    budgets = load_budgets(path) if "budget" in data else None
    return Plan(path, hashlib.sha256(path.read_bytes()).hexdigest()[:16], tuple(models),
                tuple(boards), tuple(variants), tuple(dict.fromkeys(memory)), vectors, seed,
                float(timeout), budgets)


def _strings(table: dict, key: str, path: Path) -> list[str]:
    value = table.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: [matrix] {key} must be a non-empty list of strings")
    return value
