"""Capability protocols: what a driver can do for a run, each a few methods.

A target driver offers some of them (TargetDriver.capability); which ones may depend on how
it was opened (an emulator offers memory access only when started with its debug stub).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from hilbench.timing.counts import InferenceCount
from hilbench.transport.base import Transport


@runtime_checkable
class Loader(Protocol):
    def load(self, elf: Path) -> None:
        """Put the firmware on the target and start it."""


@runtime_checkable
class SerialPort(Protocol):
    def open_serial(self) -> Transport:
        """The firmware's console UART as a byte link."""


@runtime_checkable
class MemoryAccess(Protocol):
    def read_memory(self, address: int, length: int) -> bytes: ...

    def write_memory(self, address: int, data: bytes) -> None: ...

    def paused(self) -> AbstractContextManager[None]:
        """Hold the core still for an access of several words that must be consistent
        (a no-op where the debugger reads while the core runs)."""


@runtime_checkable
class InstructionCounter(Protocol):
    def instruction_counts(self) -> list[InferenceCount]:
        """Exact per-inference, per-layer instruction counts. Stops the target first: the
        counts are complete only once it stopped."""


@runtime_checkable
class CycleCounter(Protocol):
    """The firmware's own cycle counter gives figures worth reporting."""

    @property
    def cycle_source(self) -> str:
        """"measured" (a real core's counter) or "virtual" (an emulator's clock)."""


@runtime_checkable
class Reset(Protocol):
    def reset(self) -> None:
        """Restart the firmware from its reset vector."""
