"""A real board behind a debug probe, through pyOCD: find the probe, program the ELF,
reset and run, and talk over the probe's USB serial port (the virtual COM port that ST-LINK
and J-Link/DAPLink probes expose, matched by the probe's USB serial number).

Exercised in CI only up to probe discovery (no board is attached there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hilbench.board import Board
from hilbench.errors import ProbeError
from hilbench.transport.base import Transport
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


def list_probes() -> list[tuple[str, str, str]]:
    """Attached debug probes as (unique ID, description, serial port or "")."""
    connect, _ = _pyocd()
    probes = []
    for probe in connect.get_all_connected_probes(blocking=False):
        try:
            port = serial_port_of(probe.unique_id)
        except ProbeError:
            port = ""
        probes.append((probe.unique_id, probe.description, port))
    return probes


class PyocdMemory:
    """Target RAM through pyOCD: SWD reads and writes while the core runs, no halt."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def halt(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.target.read_memory_block8(address, length))

    def write(self, address: int, data: bytes) -> None:
        self.target.write_memory_block8(address, list(data))

    def close(self) -> None:
        pass


def _link_after_reset(session: Any, elf: Path, link: str) -> Transport | None:
    """The probe link's transport, or None when the caller uses a serial port."""
    if link != "probe":
        return None
    from hilbench.transport.probe_link import ProbeTransport, control_block_address

    return ProbeTransport(PyocdMemory(session.target), control_block_address(elf))


class PyocdTarget(Target):
    def __init__(self, board: Board, unique_id: str | None = None, link: str = "serial") -> None:
        self.board = board
        self.link = link
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
        port = serial_port_of(probe.unique_id) if self.link == "serial" else ""
        session.target.reset()
        probe_link = _link_after_reset(session, elf, self.link)
        if probe_link is not None:
            return probe_link
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


def board_target_name(board: Board) -> str:
    """Register a pyOCD target type with the board's memory map; return its name."""
    from pyocd.core.memory_map import MemoryMap, RamRegion
    from pyocd.coresight.coresight_target import CoreSightTarget
    from pyocd.target import TARGET

    name = f"hilbench_{board.name.replace('-', '_')}"
    if name not in TARGET:
        memory_map = MemoryMap(
            RamRegion(start=board.flash.origin, length=board.flash.size, name="code"),
            RamRegion(start=board.ram.origin, length=board.ram.size, name="ram"))

        class BoardTarget(CoreSightTarget):
            VENDOR = "hilbench"

            def __init__(self, session: Any) -> None:
                super().__init__(session, memory_map.clone())

        TARGET[name] = BoardTarget
    return name


class PyocdQemuTarget(Target):
    """A QEMU board driven through pyOCD, as a real board would be: QEMU starts halted with
    no image; pyOCD (through the GDB-stub probe plugin) loads the ELF, resets and runs it;
    the protocol runs on the UART; statistics can also be read through pyOCD's memory."""

    def __init__(self, board: Board, extra_args: tuple[str, ...] = (),
                 link: str = "serial") -> None:
        from hilbench.targets.qemu import QemuTarget

        self.board = board
        self.link = link
        self.qemu = QemuTarget(board, extra_args, link=link)
        self.session: Any = None

    def start(self, elf: Path) -> Transport:
        from hilbench.targets.qemu import _free_port

        connect, programmer = _pyocd()
        if self.link == "probe":  # QEMU opens its GDB stub on its own port; pyOCD takes it
            self.qemu.loader = ("-S",)
            gdb_port = self.qemu.launch(elf)
            transport: Transport | None = None
        else:
            gdb_port = _free_port()
            self.qemu.loader = ("-S", "-gdb", f"tcp:127.0.0.1:{gdb_port}")
            transport = self.qemu.start(elf)  # the UART first: QEMU waits for it
        try:
            session = connect.session_with_chosen_probe(
                unique_id=f"qemu:127.0.0.1:{gdb_port}", target_override=board_target_name(self.board),
                options={"frequency": 1000000, "connect_mode": "halt"})
            if session is None:
                raise ProbeError("pyOCD did not find the QEMU GDB-stub probe (is hilbench "
                                 "installed, with its pyocd.probe entry point?)")
            self.session = session
            session.open()
            programmer(session).program(str(elf))
            session.target.reset()
            transport = _link_after_reset(session, elf, self.link) or transport
        except ProbeError:
            self.stop()
            raise
        except Exception as exc:  # pyOCD raises many kinds; report one line
            self.stop()
            raise ProbeError(f"pyOCD failed on {self.board.name}: {type(exc).__name__}: {exc}") from None
        assert transport is not None
        return transport

    def read_memory(self, address: int, length: int) -> bytes:
        return bytes(self.session.target.read_memory_block8(address, length))

    def stop(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # closing must not mask the error that got us here
                pass
            self.session = None
        self.qemu.stop()
