"""Board descriptions: boards/<name>.toml, validated when loaded.

A board is data only (a labgrid "resource"): memory map, UART, core, clock, how to build
for it and how to reach it. Targets (QEMU, pyOCD) consume it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hilbench.config_files import read_toml
from hilbench.errors import ConfigError
from hilbench.paths import BOARDS_DIR, FIRMWARE_DIR

DEFAULT_BOARD = "qemu-mps2-an386"
CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
         "cortex-m55")


@dataclass(frozen=True)
class MemoryRegion:
    origin: int
    size: int


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    clock_hz: int
    flash: MemoryRegion
    ram: MemoryRegion
    stack_size: int
    uart: dict[str, Any]
    cycle_counter: str
    cflags: tuple[str, ...]
    defines: dict[str, str]
    sources: tuple[str, ...]  # relative to firmware/boards/
    linker_script: str
    kernels: str = "ref"  # default kernel variant for this core
    qemu: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)  # pyOCD target, pack, unique_id
    path: Path | None = None

    @property
    def is_qemu(self) -> bool:
        return bool(self.qemu)


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def load_board(name_or_path: str) -> Board:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = BOARDS_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(f"unknown board {name_or_path!r}; known boards: "
                              f"{', '.join(board_names())}")
    return _validate(read_toml(path, "board file"), path)


def _get(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: Path) -> Any:
    value = data
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ConfigError(f"{where.name}: missing '{key}'")
        value = value[part]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where.name}: '{key}' must be {getattr(kind, '__name__', kind)}")
    return value


def _region(data: dict[str, Any], key: str, where: Path) -> MemoryRegion:
    origin = _get(data, f"{key}.origin", int, where)
    size = _get(data, f"{key}.size", int, where)
    if origin < 0 or size <= 0:
        raise ConfigError(f"{where.name}: '{key}' needs a non-negative origin and a positive size")
    return MemoryRegion(origin, size)


def _validate(data: dict[str, Any], path: Path) -> Board:
    core = _get(data, "core", str, path)
    if core not in CORES:
        raise ConfigError(f"{path.name}: unknown core {core!r}; one of {', '.join(CORES)}")
    clock = _get(data, "clock_hz", int, path)
    if clock <= 0:
        raise ConfigError(f"{path.name}: clock_hz must be positive")
    build = _get(data, "build", dict, path)
    sources = tuple(_get(data, "build.sources", list, path))
    for source in sources + (_get(data, "build.linker_script", str, path),):
        if not (FIRMWARE_DIR / "boards" / source).exists():
            raise ConfigError(f"{path.name}: board source firmware/boards/{source} does not exist")
    if "qemu" not in data and not isinstance(data.get("probe", {}).get("target"), str):
        raise ConfigError(f"{path.name}: needs [qemu] machine or [probe] target (pyOCD)")
    stack = _get(data, "memory.stack_size", int, path)
    ram = _region(data, "memory.ram", path)
    if not 1024 <= stack < ram.size:
        raise ConfigError(f"{path.name}: stack_size must be at least 1024 and below the RAM size")
    return Board(
        name=_get(data, "name", str, path),
        description=data.get("description", ""),
        core=core, clock_hz=clock,
        flash=_region(data, "memory.flash", path), ram=ram, stack_size=stack,
        uart=_get(data, "uart", dict, path),
        cycle_counter=data.get("cycle_counter", {}).get("kind", "none"),
        cflags=tuple(build.get("cflags", ())),
        defines={k: str(v) for k, v in build.get("defines", {}).items()},
        sources=sources, linker_script=build["linker_script"],
        kernels=str(build.get("kernels", "ref")),
        qemu=data.get("qemu", {}), probe=data.get("probe", {}), path=path)
