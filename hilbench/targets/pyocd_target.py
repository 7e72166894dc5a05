"""Boards behind a debug probe, through pyOCD: find the probe, program the ELF, reset and
run, and talk over the probe's USB serial port (the virtual COM port that ST-LINK and
J-Link/DAPLink probes expose, matched by the probe's USB serial number) or RAM buffers.

Two drivers: `pyocd` for real boards (exercised in CI only up to probe discovery: no board
is attached there), and `pyocd-qemu`, the same pyOCD code driving a QEMU machine through
the GDB-stub probe plugin (pyocd_qemu_probe.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from hilbench.board import Board
from hilbench.drivers.capabilities import (
    CycleCounter,
    InstructionCounter,
    Loader,
    MemoryAccess,
    Reset,
    SerialPort,
)
from hilbench.drivers.target import TargetDriver, TargetOptions
from hilbench.errors import ProbeError
from hilbench.transport.base import Transport
from hilbench.targets.qemu import QemuEmulation
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

    def read_memory(self, address: int, length: int) -> bytes:
        return bytes(self.target.read_memory_block8(address, length))

    def write_memory(self, address: int, data: bytes) -> None:
        self.target.write_memory_block8(address, list(data))

    def paused(self) -> AbstractContextManager[None]:
        return nullcontext()


class _PyocdSession:
    """An open pyOCD session on one probe: program, reset, memory."""

    def __init__(self) -> None:
        self.session: Any = None

    def open(self, unique_id: str, target_name: str, options: dict[str, Any]) -> None:
        connect, _ = _pyocd()
        session = connect.session_with_chosen_probe(
            unique_id=unique_id, target_override=target_name, options=options)
        if session is None:
            raise ProbeError(f"pyOCD could not open a session on probe {unique_id}")
        self.session = session
        session.open()

    def program_and_reset(self, elf: Path) -> None:
        _, programmer = _pyocd()
        programmer(self.session).program(str(elf))
        self.session.target.reset()

    def memory(self) -> PyocdMemory | None:
        return PyocdMemory(self.session.target) if self.session is not None else None

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # closing must not mask the error that got us here
                pass
            self.session = None


class PyocdDriver(TargetDriver):
    """A real board: programmed through pyOCD's flash algorithms, reset, and reached over
    the probe's serial port or the RAM link; its own cycle counter is measured time."""

    name = "pyocd"
    via = "pyocd"

    def __init__(self, board: Board, options: TargetOptions) -> None:
        super().__init__(board, options)
        if board.probe is None:
            raise ProbeError(f"board {board.name} has no [probe] section for pyOCD")
        self.probe = board.probe
        self.pyocd = _PyocdSession()
        self.unique_id: str | None = self.probe.unique_id
        self.serial: SerialTransport | None = None

    def capabilities(self) -> dict[type, Any]:
        offered: dict[type, Any] = {Loader: self, SerialPort: self, Reset: self}
        memory = self.pyocd.memory()
        if memory is not None:
            offered[MemoryAccess] = memory
        if self.board.cycle_counter.kind != "none":
            offered[CycleCounter] = self
        return offered

    def missing(self, protocol: type) -> str:
        if protocol is InstructionCounter:
            return "a real core has no instruction counter; its cycle counter is measured"
        return super().missing(protocol)

    @property
    def cycle_source(self) -> str:
        return "measured"

    def load(self, elf: Path) -> None:
        connect, _ = _pyocd()
        probes = connect.get_all_connected_probes(blocking=False, unique_id=self.unique_id)
        target_name = self.probe.target
        if not probes:
            wanted = f" with unique ID {self.unique_id}" if self.unique_id else ""
            raise ProbeError(f"no debug probe{wanted} attached for {self.board.name} (pyOCD "
                             f"target {target_name}): connect the board's probe over USB")
        if len(probes) > 1 and self.unique_id is None:
            ids = ", ".join(p.unique_id for p in probes)
            raise ProbeError(f"{len(probes)} debug probes attached ({ids}): choose one with "
                             f"unique_id in the board file")
        if not self.probe.pack and target_name.startswith("stm32"):
            raise ProbeError(f"{self.board.name} needs the vendor's CMSIS-Pack for "
                             f"{target_name}: set [probe] pack in the board file")
        self.unique_id = probes[0].unique_id
        self.pyocd.open(self.unique_id, target_name,
                        {"pack": self.probe.pack} if self.probe.pack else {})
        self.pyocd.program_and_reset(elf)

    def open_serial(self) -> Transport:
        assert self.unique_id is not None, "load() first"
        self.serial = SerialTransport(serial_port_of(self.unique_id), baudrate=self.board.uart.baud)
        return self.serial

    def reset(self) -> None:
        self.pyocd.session.target.reset()

    def close(self) -> None:
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        self.pyocd.close()


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


class PyocdQemuDriver(QemuEmulation):
    """A QEMU board driven through pyOCD, as a real board would be: QEMU starts halted with
    no image; pyOCD (through the GDB-stub probe plugin) loads the ELF, resets and runs it.
    The protocol runs on the UART or the RAM link (pyOCD's memory access); QEMU still
    counts instructions, and gives SysTick boards virtual time."""

    name = "pyocd-qemu"
    via = "pyocd"

    def __init__(self, board: Board, options: TargetOptions) -> None:
        super().__init__(board, options)
        self.pyocd = _PyocdSession()
        self.serial: SerialTransport | None = None

    def capabilities(self) -> dict[type, Any]:
        offered: dict[type, Any] = {Loader: self, Reset: self, **self.emulator_capabilities()}
        if self.options.link.requires is SerialPort:
            offered[SerialPort] = self
        memory = self.pyocd.memory()
        if memory is not None:
            offered[MemoryAccess] = memory
        return offered

    def load(self, elf: Path) -> None:
        self.add_counter(elf)
        serial = self.options.link.requires is SerialPort
        self.process.launch(None, uart=serial, gdb=True, halted=True)
        if serial:  # QEMU waits for its UART before it opens the GDB stub
            self.serial = self.process.connect_uart()
        try:
            self.pyocd.open(f"qemu:127.0.0.1:{self.process.gdb_port}",
                            board_target_name(self.board),
                            {"frequency": 1000000, "connect_mode": "halt"})
            self.pyocd.program_and_reset(elf)
        except ProbeError:
            raise
        except Exception as exc:  # pyOCD raises many kinds; report one line
            raise ProbeError(f"pyOCD failed on {self.board.name}: {type(exc).__name__}: "
                             f"{exc}") from None

    def open_serial(self) -> Transport:
        assert self.serial is not None, "load() first"
        return self.serial

    def reset(self) -> None:
        self.pyocd.session.target.reset()

    def close(self) -> None:
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        self.pyocd.close()
        self.process.stop()
