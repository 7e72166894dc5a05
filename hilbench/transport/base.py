"""The byte link between host and firmware, whatever carries it (UART, RAM ring buffers)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Transport(Protocol):
    def write(self, data: bytes) -> None:
        """Send all of `data`."""

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` seconds; b"" when nothing did."""

    def close(self) -> None:
        """Release the link. Safe to call twice."""
