"""A real board behind a debug probe, through pyOCD: find the probe, program the ELF,
reset and run, and talk over the probe's USB serial port (the virtual COM port that ST-LINK
and J-Link/DAPLink probes expose, matched by the probe's USB serial number).

Exercised in CI only up to probe discovery (no board is attached there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hilbench.board import Board
from hilbench.errors import ProbeError
from hilbench.protocol.session import Transport
from hilbench.targets.base import Target
from hilbench.transport.serial_link import SerialTransport


def _pyocd():
    try:
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
    except ImportError:  # pragma: no cover - pyocd is a dependency
        raise ProbeError("pyOCD is not installed (pip install pyocd)") from None
    return ConnectHelper, FileProgrammer


def serial_port_of(unique_id: str) -> str:
    """The USB serial port whose serial number is the probe's unique ID."""
    from serial.tools import list_ports

    for port in list_ports.comports():
        if port.serial_number and port.serial_number.lower() == unique_id.lower():
            return port.device
    raise ProbeError(f"debug probe {unique_id} has no USB serial port; is its virtual COM "
                     f"port enabled?")


class PyocdTarget(Target):
    def __init__(self, board: Board, unique_id: str | None = None) -> None:
        self.board = board
        self.target_name = board.probe.get("target", "")
        self.pack = board.probe.get("pack", "")
        self.unique_id = unique_id or board.probe.get("unique_id") or None
        self.session: Any = None  # pyocd.core.session.Session once started
        self.transport: SerialTransport | None = None

    def start(self, elf: Path) -> Transport:
        connect, programmer = _pyocd()
        probes = connect.get_all_connected_probes(blocking=False, unique_id=self.unique_id)
        if not probes:
            wanted = f" with unique ID {self.unique_id}" if self.unique_id else ""
            raise ProbeError(f"no debug probe{wanted} attached for {self.board.name} (pyOCD "
                             f"target {self.target_name}): connect the board's probe over USB")
        if len(probes) > 1 and self.unique_id is None:
            ids = ", ".join(p.unique_id for p in probes)
            raise ProbeError(f"{len(probes)} debug probes attached ({ids}): choose one with "
                             f"unique_id in the board file")
        options = {"pack": self.pack} if self.pack else {}
        if not self.pack and self.target_name.startswith("stm32"):
            raise ProbeError(f"{self.board.name} needs the vendor's CMSIS-Pack for "
                             f"{self.target_name}: set [probe] pack in the board file")
        probe = probes[0]
        session = connect.session_with_chosen_probe(
            unique_id=probe.unique_id, target_override=self.target_name, options=options)
        if session is None:
            raise ProbeError(f"pyOCD could not open a session on probe {probe.unique_id}")
        self.session = session
        session.open()
        programmer(session).program(str(elf))
        port = serial_port_of(probe.unique_id)
        session.target.reset()
        self.transport = SerialTransport(port, baudrate=int(self.board.uart.get("baud", 115200)))
        return self.transport

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.session is not None:
            try:
                self.session.close()
            finally:
                self.session = None
