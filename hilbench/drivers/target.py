"""The base of every target driver and of every link driver.

A target driver reaches one board (an emulator, a probe-attached chip) and offers
capabilities; a link driver opens the byte link the protocol runs over, using one
capability of the target (a serial port, or memory access for RAM ring buffers) and
naming the firmware part that answers on the other side.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from hilbench.errors import TargetError
from hilbench.transport.base import Transport

if TYPE_CHECKING:
    from hilbench.board import Board

C = TypeVar("C")


class LinkDriver(ABC):
    name: ClassVar[str]
    firmware_source: ClassVar[str]  # firmware/dut/<file>: the link's device side
    max_data: ClassVar[int]  # protocol data bytes per frame
    ram_bytes: ClassVar[int]  # RAM the device side adds beyond the serial link's buffers
    requires: ClassVar[type]  # the target capability the link runs over

    @abstractmethod
    def open(self, target: TargetDriver, elf: Path) -> Transport:
        """The link to the firmware `elf`, which the target has just loaded and started."""


@dataclass(frozen=True)
class TargetOptions:
    link: LinkDriver  # the link the run will open
    workdir: Path  # owned and removed by the run: a driver's temporary files go here
    count_instructions: bool = False  # wanted: exact counts, where the driver can
    virtual_time: bool = False  # wanted: an emulator's clock behind the firmware's counter
    place: Any = None  # a leased board-farm place (hilbench.farm.lease.PlaceLease), if any


class TargetDriver(ABC):
    """Opened for one run, closed after it (a context manager); closing releases every
    process, port and session, and is safe to call twice."""

    name: ClassVar[str]  # registry name, as board files list it
    via: ClassVar[str] = "direct"  # what `--via` calls this way of reaching a board
    # how the image got onto the target, once loaded ("qemu-kernel", "pyocd-flash",
    # "pyocd-ram"), and why it was not flash, where that is worth saying
    load_method: str = ""
    load_note: str = ""

    def __init__(self, board: Board, options: TargetOptions) -> None:
        self.board = board
        self.options = options

    @abstractmethod
    def capabilities(self) -> dict[type, Any]:
        """Capability protocol -> the object providing it, as opened."""

    def capability(self, protocol: type[C]) -> C | None:
        provider = self.capabilities().get(protocol)
        if provider is not None and not isinstance(provider, protocol):
            raise TypeError(f"{type(provider).__name__} does not implement {protocol.__name__}")
        return provider

    def require(self, protocol: type[C], purpose: str) -> C:
        provider = self.capability(protocol)
        if provider is None:
            raise TargetError(f"the {self.name} driver of {self.board.name} offers no "
                              f"{protocol.__name__}, needed {purpose}")
        return provider

    def missing(self, protocol: type) -> str:
        """Why a capability is not offered, for a figure reported as missing."""
        return f"the {self.name} driver of {self.board.name} offers no {protocol.__name__}"

    def probe_record(self) -> dict[str, Any] | None:
        """The debug probe the run went through (unique ID, target, serial port, connect
        attempts), for drivers that use one."""
        return None

    def exit_report(self) -> str | None:
        """When the target itself has died (an emulator's process ended): how, with its
        last words, for the message of the error that the death caused. None otherwise."""
        return None

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> TargetDriver:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
