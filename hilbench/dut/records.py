"""What `hilbench dut` is asked to do and what it found: one source for the table, the
JSON document and the exit status."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.board import Board
from hilbench.compare.printed import PrintedComparison
from hilbench.errors import ConfigError
from hilbench.toolchain.firmware import FirmwareBuild

# MLPerf Tiny's runner: a window must last at least this long to count
MLPERF_MIN_WINDOW_S = 10.0
# the runner's inferences per window (timed, warm-up), by model id
MLPERF_COUNTS = {"kws01": (70, 10), "vww01": (20, 5), "ic01": (20, 5), "ad01": (1500, 10)}
DEFAULT_COUNTS = (10, 1)


@dataclass(frozen=True)
class DutRequest:
    model: Path
    port: str | None = None  # a pyserial URL: a real port, socket://host:port, a pty
    board: Board | None = None  # or: build hilbench's MLPerf firmware and start it (QEMU)
    vectors: int = 5  # windows, one vector each (MLPerf's performance mode has 5)
    seed: int = 0
    data: tuple[Path, ...] = ()  # the user's inputs (hilbench/run/data.py), else generated
    count: int | None = None  # timed inferences per window; None: the runner's for the id
    warmup: int | None = None
    model_id: str | None = None  # expected from the DUT, and built into --board firmware
    kernels: str | None = None  # for --board builds
    timeout: float = 60.0  # seconds an `infer` reply may take
    baud: int = 115200

    def __post_init__(self) -> None:
        if (self.port is None) == (self.board is None):
            raise ConfigError("give the DUT as either --port URL or --board NAME")
        if self.vectors < 1:
            raise ConfigError("--vectors must be at least 1")
        if self.seed < 0:
            raise ConfigError("--seed must not be negative")
        if self.count is not None and not 1 <= self.count <= 100_000_000:
            raise ConfigError("--count must be between 1 and 100000000")
        if self.warmup is not None and not 0 <= self.warmup <= 100_000_000:
            raise ConfigError("--warmup must be between 0 and 100000000")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigError("--timeout must be a positive number of seconds")

    @property
    def model_name(self) -> str:
        return self.model.stem

    def counts(self, model_id: str) -> tuple[int, int]:
        default = MLPERF_COUNTS.get(model_id, DEFAULT_COUNTS)
        return (self.count if self.count is not None else default[0],
                self.warmup if self.warmup is not None else default[1])


@dataclass(frozen=True)
class Window:
    """One vector: loaded, then `infer count warmup`."""
    vector: int
    count: int
    warmup: int
    elapsed_us: int

    @property
    def seconds(self) -> float:
        return self.elapsed_us / 1e6

    @property
    def throughput(self) -> float:
        """Inferences per second, MLPerf's performance figure for the window."""
        return self.count / self.seconds if self.elapsed_us > 0 else math.inf

    @property
    def latency_us(self) -> float:
        return self.elapsed_us / self.count


@dataclass(frozen=True)
class DutResult:
    request: DutRequest
    link: str  # the URL the DUT was reached on
    dut_name: str
    profile: str
    model_id: str
    windows: tuple[Window, ...]
    comparison: PrintedComparison
    data_source: str
    virtual_time: bool  # QEMU with -icount: the laps are the emulator's virtual time
    firmware: FirmwareBuild | None = None  # when hilbench built it (--board)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.comparison.passed

    @property
    def median_throughput(self) -> float:
        return statistics.median(w.throughput for w in self.windows)

    @property
    def median_latency_us(self) -> float:
        return statistics.median(w.latency_us for w in self.windows)

    @property
    def shortest_window_s(self) -> float:
        return min(w.seconds for w in self.windows)

    @property
    def mlperf_windows(self) -> bool:
        """Whether the windows meet MLPerf's rules: 5 of them, each at least 10 s."""
        return len(self.windows) == 5 and self.shortest_window_s >= MLPERF_MIN_WINDOW_S
