"""What a run is asked to do, and everything it found: the single source that the table,
the JSON document and the verdict's checks are all made from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hilbench.board import Board
from hilbench.codegen.arena import MODES as MEMORY_MODES, MemoryChoice
from hilbench.compare.checks import Check
from hilbench.compare.metrics import OutputMetrics
from hilbench.compare.outputs import Comparison, LayerDivergence
from hilbench.errors import ConfigError
from hilbench.timing.figures import Timing
from hilbench.toolchain.firmware import FirmwareBuild


@dataclass(frozen=True)
class RunRequest:
    model: Path
    board: Board
    vectors: int = 20
    seed: int = 0
    kernels: str | None = None  # kernel variant; None: the board's
    memory: str = "inplace"  # arena plan: plain, inplace, patch, auto (codegen/arena.py)
    ram_budget: int | None = None  # what `auto` must fit: a budget's ram_bytes
    link: str = "serial"  # a link driver's registry name
    via: str | None = None  # which of the board's drivers; None: its first
    cycle_counter: bool = False  # time with the firmware's counter, not exact counts
    timeout: float = 60.0  # seconds one inference may take
    debug_commands: bool = False  # build the firmware's test-only commands in
    data: tuple[Path, ...] = ()  # the user's inputs (see run/data.py); else `vectors` made
    labels: Path | None = None  # class indices for `data`
    per_layer: bool = False  # read every layer's output for one vector (also on mismatch)
    save_failures: Path | None = None  # where mismatching inputs and outputs are written
    firmware: Path | None = None  # a user's ELF on the DUT library, run instead of building
    # vectors form sequences of this many consecutive vectors: the model's state (variable
    # tensors) is reset at the start of each, on the target as in the reference
    sequence_length: int = 1
    place: object | None = field(default=None, compare=False)  # a leased farm place

    def __post_init__(self) -> None:
        if self.vectors < 1:
            raise ConfigError("--vectors must be at least 1")
        if self.seed < 0:
            raise ConfigError("--seed must not be negative")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigError("--timeout must be a positive number of seconds")
        if self.memory not in MEMORY_MODES:
            raise ConfigError(f"unknown memory mode {self.memory!r}; modes are "
                              f"{', '.join(MEMORY_MODES)}")
        if isinstance(self.sequence_length, bool) or not isinstance(self.sequence_length, int) \
                or self.sequence_length < 1:
            raise ConfigError("--sequence-length must be a positive integer")
        if not self.data and self.vectors % self.sequence_length:
            raise ConfigError(f"--vectors {self.vectors} is not a multiple of "
                              f"--sequence-length {self.sequence_length}")
        if self.firmware is not None and (self.kernels or self.debug_commands):
            raise ConfigError("--kernels builds hilbench's firmware; --firmware runs yours "
                              "as it was built: give one of them")

    @property
    def model_name(self) -> str:
        return self.model.stem


@dataclass(frozen=True)
class PartialRun:
    """What a run that failed part-way had verified: attached to the escaping error as
    `partial`, so that `run --json` still writes the vectors done ("complete": false)."""

    request: RunRequest
    vectors: int  # the run's vectors
    done: int  # vectors whose outputs were read back
    comparison: Comparison | None  # of those `done` vectors; None when there are none
    resends: int = 0


@dataclass(frozen=True)
class RunResult:
    request: RunRequest
    driver: str  # registry name of the target driver that reached the board
    via: str  # what --via calls that driver
    comparison: Comparison
    build: FirmwareBuild
    arena_bytes: int
    arena_lower_bound: int
    stack_peak: int  # reported by the firmware (stack painting)
    link_bytes_per_s: float
    vectors_per_s: float
    timing: Timing
    vectors: int = 0  # streamed: the request's count, or the data's
    data_source: str = ""
    metrics: list[OutputMetrics] = field(default_factory=list)  # one per model output
    first_divergence: LayerDivergence | None = None  # from the per-layer mode
    failures_saved: Path | None = None
    probe_stack_peak: int | None = None  # the same, read through the target's memory access
    phases: dict[str, float] = field(default_factory=dict)  # host seconds per stage
    scratch_bytes: int = 0  # kernels' scratch outside the arena (part of static RAM)
    load_method: str = ""  # how the image got there: qemu-kernel, pyocd-flash, pyocd-ram
    load_note: str = ""  # why it was not flash, where the driver says
    # the debug probe used: unique_id, target, serial_port, connect_attempts
    probe: dict[str, Any] | None = None
    memory: MemoryChoice | None = None  # the memory mode and the plan it came to
    identity: str | None = None  # a user firmware's: how its model was recognised
    resends: int = 0  # requests resent after no, or a garbled, reply (link recovery)
    # the verdict, when the caller asked for one (hilbench.api.run always does)
    checks: tuple[Check, ...] = ()

    @property
    def passed(self) -> bool:
        """Every check of the verdict passed (bit-exactness alone when none was computed)."""
        return all(c.passed for c in self.checks) if self.checks else self.comparison.bit_exact

    def to_json(self, profile: bool = False) -> str:
        """The JSON document `hilbench run --json` writes, byte for byte (its schema:
        hilbench/schemas/run.schema.json)."""
        from hilbench.report.run_report import run_json

        return run_json(self, profile)

    @property
    def model(self) -> str:
        return self.request.model_name

    @property
    def board(self) -> str:
        return self.request.board.name

    @property
    def seed(self) -> int:
        return self.request.seed

    @property
    def link(self) -> str:
        return self.request.link

    @property
    def ram_static(self) -> int:
        return self.build.sizes.static_ram

    @property
    def ram_total(self) -> int:
        return self.ram_static + self.stack_peak
