"""Boards behind a debug probe, through pyOCD: choose the probe by its unique ID, connect
under reset (retried a bounded number of times), program the ELF with pyOCD's flash
algorithm and programmer (erase, program, then verify by reading back), reset and run, and
talk over the serial port that belongs to that probe (the virtual COM port of ST-LINK and
J-Link/DAPLink probes, matched by USB serial number) or over RAM buffers.

Two drivers: `pyocd` for boards on a probe, and `pyocd-qemu`, the same pyOCD code driving
a QEMU machine that it starts itself, through the GDB-stub probe plugin
(pyocd_qemu_probe.py). The plugin can also present standing QEMU machines as probes with
unique IDs, so the `pyocd` driver's whole path (selection, flashing, serial port) runs in
CI. Where QEMU models the chip's flash controller (the micro:bit's nRF51 NVMC) the board
file names the pyOCD target and its flash algorithm runs on the emulated core; elsewhere
the image is written into memory as RAM (`load_method` says which).

`select_probe` and `list_probes` are the public helpers other code (the farm) calls.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
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
from hilbench.errors import FlashError, HilbenchError, ProbeError
from hilbench.toolchain.elf_info import load_image
from hilbench.transport.base import Transport
from hilbench.targets.qemu import QemuEmulation
from hilbench.transport.serial_link import SerialTransport

CONNECT_ATTEMPTS = 3  # connect-under-reset often fails once right after power-up
CONNECT_RETRY_DELAY = 0.2  # seconds between attempts, for the supply and reset to settle


def _pyocd():
    try:
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
    except ImportError:  # pragma: no cover - pyocd is a dependency
        raise ProbeError("pyOCD is not installed (pip install pyocd)") from None
    # pyOCD logs through `logging`; with no handler Python prints its warnings on stderr,
    # beside hilbench's one-line error. A handler here leaves them to the application's
    # logging configuration (they still propagate to the root logger).
    logger = logging.getLogger("pyocd")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return ConnectHelper, FileProgrammer


@dataclass(frozen=True)
class ProbeInfo:
    """One attached debug probe as hilbench sees it."""
    unique_id: str
    description: str
    target_type: str  # the pyOCD target the probe reports (DAPLink board ID), or ""
    serial_port: str  # the port matched to the probe, or ""
    probe: Any = field(default=None, repr=False, compare=False)  # pyOCD's DebugProbe


def serial_port_of(unique_id: str) -> str:
    """The USB serial port whose serial number is the probe's unique ID, or ""."""
    from serial.tools import list_ports

    for port in list_ports.comports():
        if port.serial_number and port.serial_number.lower() == unique_id.lower():
            return port.device
    return ""


def _probe_info(probe: Any) -> ProbeInfo:
    # a probe that knows its own port and target (the QEMU bridge) says so; a USB probe's
    # port is the one carrying its serial number, its target its DAPLink board ID's
    port = getattr(probe, "serial_port", None) or serial_port_of(probe.unique_id)
    target = getattr(probe, "target_type", None)
    if target is None:
        board = getattr(probe, "associated_board_info", None)
        target = board.target if board is not None and board.target else ""
    return ProbeInfo(probe.unique_id, probe.description, target, port, probe)


def list_probes() -> list[ProbeInfo]:
    """Every attached debug probe, with its unique ID, target type and serial port."""
    connect, _ = _pyocd()
    return [_probe_info(p) for p in connect.get_all_connected_probes(blocking=False)]


def select_probe(unique_id: str | None, wanted_for: str) -> ProbeInfo:
    """Exactly the probe with this unique ID (compared whole, not as pyOCD's substring
    filter does: "0671" must not pick "06710"), or the only probe attached. No probe, no
    such ID, or several probes and no ID: a ProbeError naming what is attached."""
    probes = list_probes()
    listing = "; ".join(f"{p.unique_id} ({p.description}"
                        f"{', ' + p.target_type if p.target_type else ''})" for p in probes)
    if unique_id is not None:
        for probe in probes:
            if probe.unique_id.lower() == unique_id.lower():
                return probe
        attached = f"attached: {listing}" if probes else "none is attached"
        raise ProbeError(f"no debug probe with unique ID {unique_id} for {wanted_for}; "
                         f"{attached}")
    if not probes:
        raise ProbeError(f"no debug probe attached for {wanted_for}: connect the board's "
                         f"probe over USB")
    if len(probes) > 1:
        raise ProbeError(f"{len(probes)} debug probes attached and no unique_id for "
                         f"{wanted_for}: {listing}; set [probe] unique_id in the board file")
    return probes[0]


def open_session(probe: ProbeInfo, target_name: str, options: dict[str, Any],
                 attempts: int = CONNECT_ATTEMPTS) -> tuple[Any, int]:
    """A pyOCD session on the probe, connected under reset; retried up to `attempts`
    times, as probes need right after power-up. Returns the session and the attempts."""
    from pyocd.core.session import Session

    errors = []
    for attempt in range(1, attempts + 1):
        session = Session(probe.probe, auto_open=False, target_override=target_name,
                          options={"connect_mode": "under-reset",
                                   "hide_programming_progress": True, **options})
        try:
            session.open()
            return session, attempt
        except HilbenchError:
            _close_quietly(session)
            raise
        except Exception as exc:  # pyOCD raises many kinds; the last one is reported
            errors.append(f"{type(exc).__name__}: {exc}")
            _close_quietly(session)
            if attempt < attempts:
                time.sleep(CONNECT_RETRY_DELAY)
    raise ProbeError(f"could not connect under reset to probe {probe.unique_id} "
                     f"({target_name}) in {attempts} attempts; last: {errors[-1]}")


def _close_quietly(session: Any) -> None:
    try:
        session.close()
    except Exception:  # closing must not mask the error that got us here
        pass


def load_method(session: Any, elf: Path) -> str:
    """"pyocd-flash" when any of the image lands in a flash region of the pyOCD target's
    memory map (its flash algorithm writes it), else "pyocd-ram"."""
    memory_map = session.target.memory_map
    for address, _ in load_image(elf):
        region = memory_map.get_region_for_address(address)
        if region is not None and region.is_flash:
            return "pyocd-flash"
    return "pyocd-ram"


def program(session: Any, elf: Path, where: str) -> None:
    """Erase and program with pyOCD's programmer (its flash algorithm, for flash), then
    verify every byte by reading it back. Failures are FlashErrors with the address."""
    _, programmer = _pyocd()
    image = load_image(elf)
    end = max(address + len(data) for address, data in image)
    _check_fits(session.target.memory_map, image, where)
    try:
        programmer(session, chip_erase="sector").program(str(elf))
    except HilbenchError:
        raise
    except Exception as exc:
        address = getattr(exc, "address", None)
        at = f" at {address:#010x}" if address is not None else ""
        raise FlashError(f"flash programming failed on {where}{at} (image "
                         f"{image[0][0]:#010x}-{end - 1:#010x}): pyOCD: {exc}") from None
    for address, data in image:
        try:
            written = bytes(session.target.read_memory_block8(address, len(data)))
        except HilbenchError as exc:
            raise FlashError(f"flash verify failed on {where}: cannot read back "
                             f"{address:#010x}-{address + len(data) - 1:#010x}: {exc}") from None
        if written != data:
            bad = next(i for i, (a, b) in enumerate(zip(data, written)) if a != b)
            raise FlashError(f"flash verify failed on {where} at {address + bad:#010x}: "
                             f"wrote {data[bad]:#04x}, read back {written[bad]:#04x}")


def _check_fits(memory_map: Any, image: list[tuple[int, bytes]], where: str) -> None:
    """Every byte of the image in one writable region of the target's memory map. pyOCD's
    programmer only logs data outside its regions and leaves it out: a board file that
    claims more flash than the chip has would program half an image without an error."""
    for address, data in image:
        last = address + len(data) - 1
        region = memory_map.get_region_for_address(address)
        if region is not None and region.contains_address(last):
            continue
        outside = address if region is None else region.end + 1
        flash = ", ".join(f"{r.start:#010x}-{r.end:#010x}" for r in memory_map
                          if r.is_flash) or "none"
        raise FlashError(f"flash programming failed on {where} at {outside:#010x}: the image "
                         f"({address:#010x}-{last:#010x}) does not fit the target's flash; "
                         f"pyOCD's memory map has no region at {outside:#010x} (flash: "
                         f"{flash})")


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


class PyocdSession:
    """An open pyOCD session on one probe: connect, program, reset, memory; and what it
    did (load method, connect attempts) for the run's record."""

    def __init__(self) -> None:
        self.session: Any = None
        self.attempts = 0
        self.load_method = ""

    def open(self, probe: ProbeInfo, target_name: str, options: dict[str, Any]) -> None:
        self.session, self.attempts = open_session(probe, target_name, options)

    def program_and_reset(self, elf: Path, where: str) -> None:
        self.load_method = load_method(self.session, elf)
        program(self.session, elf, where)
        self.reset()

    def reset(self) -> None:
        if self.session is None:
            raise ProbeError("reset before load: no pyOCD session")
        self.session.target.reset()

    def memory(self) -> PyocdMemory | None:
        return PyocdMemory(self.session.target) if self.session is not None else None

    def close(self) -> None:
        if self.session is not None:
            _close_quietly(self.session)
            self.session = None


def _pyocd_failure(where: str, exc: Exception) -> ProbeError:
    """pyOCD raises many kinds of exception: one line naming the board."""
    return ProbeError(f"pyOCD failed on {where}: {type(exc).__name__}: {exc}")


class PyocdDriver(TargetDriver):
    """A board on a debug probe: programmed through pyOCD's flash algorithms, reset, and
    reached over the probe's serial port or the RAM link; its cycle counter is measured."""

    name = "pyocd"
    via = "pyocd"

    def __init__(self, board: Board, options: TargetOptions) -> None:
        super().__init__(board, options)
        if board.probe is None:
            raise ProbeError(f"board {board.name} has no [probe] section for pyOCD")
        self.probe = board.probe
        self.pyocd = PyocdSession()
        self.chosen: ProbeInfo | None = None
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

    @property
    def load_method(self) -> str:
        return self.pyocd.load_method

    def probe_record(self) -> dict[str, Any] | None:
        if self.chosen is None:
            return None
        return {"unique_id": self.chosen.unique_id, "target": self.probe.target,
                "serial_port": self.chosen.serial_port,
                "connect_attempts": self.pyocd.attempts}

    def load(self, elf: Path) -> None:
        target_name = self.probe.target
        self.chosen = select_probe(self.probe.unique_id,
                                   f"{self.board.name} (pyOCD target {target_name})")
        if not self.probe.pack and target_name.startswith("stm32"):
            raise ProbeError(f"{self.board.name} needs the vendor's CMSIS-Pack for "
                             f"{target_name}: set [probe] pack in the board file")
        where = f"{self.board.name} (probe {self.chosen.unique_id})"
        try:
            self.pyocd.open(self.chosen, target_name,
                            {"pack": self.probe.pack} if self.probe.pack else {})
            self.pyocd.program_and_reset(elf, where)
        except HilbenchError:
            raise
        except Exception as exc:
            raise _pyocd_failure(where, exc) from None

    def open_serial(self) -> Transport:
        assert self.chosen is not None, "load() first"
        if not self.chosen.serial_port:
            raise ProbeError(f"debug probe {self.chosen.unique_id} has no serial port; is "
                             f"its virtual COM port enabled?")
        self.serial = SerialTransport(self.chosen.serial_port, baudrate=self.board.uart.baud)
        return self.serial

    def reset(self) -> None:
        self.pyocd.reset()

    def close(self) -> None:
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        self.pyocd.close()


def board_target_name(board: Board) -> str:
    """Register a pyOCD target type with the board's memory map, all of it RAM (for QEMU
    machines that model no flash controller); return its name."""
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
    no image; pyOCD (through the GDB-stub probe plugin) programs the ELF, resets and runs
    it. With a [probe] target in the board file (QEMU models that chip's flash
    controller), pyOCD's flash algorithm programs flash; otherwise the image is written as
    RAM. The protocol runs on the UART or the RAM link (pyOCD's memory access); QEMU
    still counts instructions, and gives SysTick boards virtual time."""

    name = "pyocd-qemu"
    via = "pyocd"

    def __init__(self, board: Board, options: TargetOptions) -> None:
        super().__init__(board, options)
        self.pyocd = PyocdSession()
        self.serial: SerialTransport | None = None

    def capabilities(self) -> dict[type, Any]:
        offered: dict[type, Any] = {Loader: self, Reset: self, **self.emulator_capabilities()}
        if self.options.link.requires is SerialPort:
            offered[SerialPort] = self
        memory = self.pyocd.memory()
        if memory is not None:
            offered[MemoryAccess] = memory
        return offered

    @property
    def load_method(self) -> str:
        return self.pyocd.load_method

    @property
    def load_note(self) -> str:
        if self.board.probe is not None:
            return ""
        assert self.board.qemu is not None
        return (f"QEMU's {self.board.qemu.machine} models no flash controller: pyOCD "
                f"writes the image into memory")

    def probe_record(self) -> dict[str, Any] | None:
        if self.pyocd.attempts == 0:
            return None
        target = self.board.probe.target if self.board.probe else board_target_name(self.board)
        return {"unique_id": f"qemu:127.0.0.1:{self.process.gdb_port}", "target": target,
                "serial_port": "", "connect_attempts": self.pyocd.attempts}

    def load(self, elf: Path) -> None:
        _pyocd()  # pyOCD first: importing it loads the probe plugin module itself
        from hilbench.targets.pyocd_qemu_probe import QemuGdbProbe

        self.add_counter(elf)
        serial = self.options.link.requires is SerialPort
        self.process.launch(None, uart=serial, gdb=True, halted=True)
        if serial:  # QEMU waits for its UART before it opens the GDB stub
            self.serial = self.process.connect_uart()
        unique_id = f"qemu:127.0.0.1:{self.process.gdb_port}"
        probe = QemuGdbProbe(f"127.0.0.1:{self.process.gdb_port}", unique_id=unique_id)
        target = self.board.probe.target if self.board.probe else board_target_name(self.board)
        where = f"{self.board.name} (QEMU through pyOCD)"
        try:
            self.pyocd.open(ProbeInfo(unique_id, probe.description, target, "", probe),
                            target, {"frequency": 1000000})
            self.pyocd.program_and_reset(elf, where)
        except HilbenchError:
            raise
        except Exception as exc:
            raise _pyocd_failure(where, exc) from None

    def open_serial(self) -> Transport:
        assert self.serial is not None, "load() first"
        return self.serial

    def reset(self) -> None:
        self.pyocd.reset()

    def close(self) -> None:
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        self.pyocd.close()
        self.process.stop()
