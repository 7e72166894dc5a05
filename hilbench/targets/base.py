"""The target interface: start(elf) -> transport, stop(). Used as a context manager."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

from hilbench.transport.base import Transport


class Target(ABC):
    @abstractmethod
    def start(self, elf: Path) -> Transport:
        """Load and run the firmware; return the link to its console UART."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the firmware and release every resource. Safe to call twice."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
