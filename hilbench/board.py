"""Board descriptions: boards/<name>.toml, one typed dataclass per section, validated when
loaded.

A board is data only (a labgrid "resource"): memory map, UART, core, clock, how to build
for it and which drivers reach it. Drivers (hilbench.targets, through the registry in
hilbench.drivers) consume it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.config_files import parse_section, read_toml
from hilbench.errors import ConfigError
from hilbench.paths import BOARDS_DIR, FIRMWARE_DIR

DEFAULT_BOARD = "qemu-mps2-an386"
# Compiler flags a board file may give: code generation and optimisation (-m, -O, -f),
# preprocessor definitions (-D, -U), warnings (-W), debug information (-g), the C
# standard. Anything else is refused by name: `-wrapper` once ran a shell command.
CFLAG_PREFIXES = ("-m", "-O", "-D", "-U", "-f", "-W", "-g", "-std=")
# ...and, within those prefixes, what runs code or reaches other tools or files
CFLAG_REFUSED = ("-Wl,", "-Wa,", "-Wp,", "-fplugin", "-fprofile", "-fdump", "-fauto-profile",
                 "-fcallgraph-info", "-fstack-usage")
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QEMU_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
ADDRESS_SPACE = 1 << 32
CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
         "cortex-m55")
CYCLE_COUNTERS = ("dwt", "systick", "none")


@dataclass(frozen=True)
class MemoryRegion:
    origin: int
    size: int


@dataclass(frozen=True)
class MemoryMap:
    flash: MemoryRegion
    ram: MemoryRegion
    stack_size: int


@dataclass(frozen=True)
class UartSpec:
    """The console UART. Its driver is one of the board's build sources; `base` reaches it
    as HB_UART_BASE, `baud` is what the host opens a real serial port with."""
    base: int
    baud: int = 115200


@dataclass(frozen=True)
class CycleCounterSpec:
    """What the firmware times inferences with: "dwt" (DWT_CYCCNT), "systick", or "none"."""
    kind: str = "none"


@dataclass(frozen=True)
class BuildSpec:
    cflags: tuple[str, ...]
    sources: tuple[str, ...]  # relative to firmware/boards/
    linker_script: str
    defines: dict[str, str] = field(default_factory=dict)
    kernels: str = "ref"  # default kernel variant for this core


@dataclass(frozen=True)
class QemuSpec:
    machine: str
    cpu: str | None = None


@dataclass(frozen=True)
class ProbeSpec:
    """A board behind a debug probe, for pyOCD."""
    target: str  # pyOCD target type
    pack: str = ""  # the vendor's CMSIS-Pack, where pyOCD does not know the part built in
    unique_id: str | None = None  # which probe, when several are attached


@dataclass(frozen=True)
class Board:
    name: str
    core: str
    clock_hz: int
    memory: MemoryMap
    uart: UartSpec
    build: BuildSpec
    # target drivers that reach this board, by registry name; the first is the default and
    # `--via` picks another (hilbench.drivers.registry)
    drivers: tuple[str, ...]
    description: str = ""
    cycle_counter: CycleCounterSpec = CycleCounterSpec()
    qemu: QemuSpec | None = None
    probe: ProbeSpec | None = None
    path: Path | None = field(default=None, metadata={"toml": False})

    @property
    def is_qemu(self) -> bool:
        return self.qemu is not None

    @property
    def flash(self) -> MemoryRegion:
        return self.memory.flash

    @property
    def ram(self) -> MemoryRegion:
        return self.memory.ram

    @property
    def stack_size(self) -> int:
        return self.memory.stack_size

    @property
    def defines(self) -> dict[str, str]:
        """Preprocessor definitions for the firmware: the board file's, and the UART base."""
        return {"HB_UART_BASE": f"{self.uart.base:#x}u", **self.build.defines}


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def load_board(name_or_path: str) -> Board:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = BOARDS_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(f"unknown board {name_or_path!r}; known boards: "
                              f"{', '.join(board_names())}")
    board = parse_section(Board, read_toml(path, "board file"), path.name)
    _check(board, path.name)
    return Board(**{**board.__dict__, "path": path})


def _check(board: Board, where: str) -> None:
    """What the types alone do not say."""
    if board.core not in CORES:
        raise ConfigError(f"{where}: unknown core {board.core!r}; one of {', '.join(CORES)}")
    if not 0 < board.clock_hz <= 10**10:
        raise ConfigError(f"{where}: clock_hz must be between 1 and 10^10, not {board.clock_hz}")
    for name, region in (("flash", board.memory.flash), ("ram", board.memory.ram)):
        if region.origin < 0 or region.size <= 0 or region.origin + region.size > ADDRESS_SPACE:
            raise ConfigError(f"{where}: 'memory.{name}' needs a non-negative origin and a "
                              f"positive size within the 32-bit address space")
    if not 0 <= board.uart.base < ADDRESS_SPACE or not 0 < board.uart.baud <= 100_000_000:
        raise ConfigError(f"{where}: 'uart' needs a 32-bit base and a positive baud rate")
    for flag in board.build.cflags:
        if not flag.startswith(CFLAG_PREFIXES) or flag.startswith(CFLAG_REFUSED) \
                or flag in ("-f", "-W", "-D", "-U", "-m"):
            raise ConfigError(f"{where}: compiler flag {flag[:60]!r} is not allowed in a board "
                              f"file (allowed: {', '.join(p + '...' for p in CFLAG_PREFIXES)}; "
                              f"not {', '.join(CFLAG_REFUSED)})")
    for key in board.build.defines:
        if not _C_IDENTIFIER.fullmatch(key):
            raise ConfigError(f"{where}: 'build.defines' key {key[:60]!r} is not a C identifier")
    if board.qemu is not None:
        for key, value in (("machine", board.qemu.machine), ("cpu", board.qemu.cpu or "x")):
            if not _QEMU_NAME.fullmatch(value):
                raise ConfigError(f"{where}: 'qemu.{key}' {value[:60]!r} is not a QEMU name")
    if not 1024 <= board.memory.stack_size < board.memory.ram.size:
        raise ConfigError(f"{where}: stack_size must be at least 1024 and below the RAM size")
    if board.cycle_counter.kind not in CYCLE_COUNTERS:
        raise ConfigError(f"{where}: unknown cycle_counter.kind {board.cycle_counter.kind!r}; "
                          f"one of {', '.join(CYCLE_COUNTERS)}")
    if "HB_UART_BASE" in board.build.defines:
        raise ConfigError(f"{where}: set the UART base as 'uart.base', not in build.defines")
    if not board.drivers:
        raise ConfigError(f"{where}: 'drivers' names no driver")
    boards_dir = (FIRMWARE_DIR / "boards").resolve()
    for source in board.build.sources + (board.build.linker_script,):
        resolved = (boards_dir / source).resolve()
        if not resolved.is_relative_to(boards_dir) or not resolved.is_file():
            raise ConfigError(f"{where}: board source firmware/boards/{source} does not exist")
