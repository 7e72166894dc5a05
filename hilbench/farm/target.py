"""The "labgrid" target driver: a run on a leased farm place.

The place's resources (as the coordinator gave them) are made into a labgrid Target through
labgrid's target factory; the firmware goes on the board through the HilbenchPyocdDriver
bound to the place's probe, and the protocol runs over the exporter's ser2net port (RFC
2217), as it would over a local USB serial port. Which board it is does not matter here:
a QEMU place and a real board are the same resources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hilbench.board import Board
from hilbench.drivers.capabilities import CycleCounter, InstructionCounter, Loader, \
    MemoryAccess, Reset, SerialPort
from hilbench.drivers.target import TargetDriver, TargetOptions
from hilbench.errors import ConfigError, PlaceError, ProbeError, TransportError
from hilbench.farm.lease import PlaceLease
from hilbench.transport.base import Transport
from hilbench.transport.serial_link import SerialTransport


class LabgridDriver(TargetDriver):
    name = "labgrid"
    via = "labgrid"

    def __init__(self, board: Board, options: TargetOptions) -> None:
        super().__init__(board, options)
        lease = options.place
        if not isinstance(lease, PlaceLease):
            raise ConfigError("the labgrid driver runs on a farm place only (--farm)")
        self.lease = lease
        self.serial: SerialTransport | None = None
        self.target, self.pyocd = _labgrid_target(lease, board)

    def capabilities(self) -> dict[type, Any]:
        offered: dict[type, Any] = {Loader: self, SerialPort: self, Reset: self}
        if self.pyocd.core is not None and self.options.link.requires is MemoryAccess:
            from hilbench.targets.pyocd_target import PyocdMemory

            offered[MemoryAccess] = PyocdMemory(self.pyocd.core)
        if self.board.qemu is None and self.board.cycle_counter.kind != "none":
            offered[CycleCounter] = self  # a real core's own counter
        return offered

    def missing(self, protocol: type) -> str:
        if protocol in (InstructionCounter, CycleCounter) and self.board.qemu is not None:
            return (f"a QEMU board on a farm place has no instruction counter (QEMU runs on "
                    f"the exporter host) and its DWT_CYCCNT reads 0")
        return super().missing(protocol)

    @property
    def cycle_source(self) -> str:
        return "measured"

    def load(self, elf: Path) -> None:
        self.pyocd.connect()  # a missing probe is named before anything else is tried
        # the serial port before flashing: what the firmware says after reset is not lost
        if self.options.link.requires is SerialPort:
            self.serial = self._open_serial()
        self.pyocd.load(str(elf))

    def _open_serial(self) -> SerialTransport:
        port = self.lease.resource("NetworkSerialPort")
        # ser2net on a pty answers no SET_CONTROL: labgrid's pyserial fork (a labgrid
        # dependency) can be told not to wait for it, as labgrid's own SerialDriver does
        url = f"rfc2217://{port['host']}:{port['port']}?ign_set_control"
        try:
            return SerialTransport(url, baudrate=int(port.get("speed", self.board.uart.baud)))
        except TransportError as exc:
            raise PlaceError(f"place {self.lease.place}: cannot open its serial port "
                             f"{url}: {exc}") from None

    def open_serial(self) -> Transport:
        if self.serial is None:
            self.serial = self._open_serial()
        return self.serial

    def reset(self) -> None:
        self.pyocd.reset()

    def close(self) -> None:
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        if self.target is not None:
            self.target.deactivate_all_drivers()
            self.target = None


def _labgrid_target(lease: PlaceLease, board: Board) -> tuple[Any, Any]:
    """A labgrid Target holding the place's resources, with the pyOCD driver active."""
    from labgrid import Target
    from labgrid.factory import target_factory

    import hilbench.farm.labgrid_pyocd  # noqa: F401 - registers the resource and driver

    target = Target(lease.place)
    for resource in lease.resources:
        if resource.cls in target_factory.resources:
            target_factory.make_resource(target, resource.cls, resource.name,
                                         dict(resource.params))
    if not target.resources or "HilbenchPyocdProbe" not in {r.cls for r in lease.resources}:
        raise ProbeError(f"place {lease.place} has no HilbenchPyocdProbe resource: nothing "
                         f"can flash its board")
    if board.qemu is not None:
        from hilbench.targets.pyocd_target import board_target_name

        target_type: str | None = board_target_name(board)  # the bridge's memory map
        options = {"frequency": 1000000, "connect_mode": "halt"}
    else:
        target_type = None if board.probe is None else board.probe.target
        options = {}
    driver = target_factory.make_driver(target, "HilbenchPyocdDriver", None,
                                        {"options": options})
    probe = lease.resource("HilbenchPyocdProbe")
    if probe.get("target_type") is None:
        driver.target_type = target_type
    target.activate(driver)
    return target, driver
