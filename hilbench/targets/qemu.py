"""QEMU as a target driver: qemu-system-arm with the board's UART on a loopback TCP socket,
and its GDB stub for memory access when the run uses the debug-probe RAM link.

QEMU waits for our connection before starting the guest (server=on,wait=on), so no byte
is lost; pyserial's socket:// transport makes the link identical to a real serial port.
The listening sockets (UART and GDB stub) are made here, bound to a port the kernel picks,
and handed to QEMU as open descriptors (`-chardev socket,fd=N`): no port is ever free
between choosing it and QEMU listening on it, so any number of runs can start at once.
The process is killed on close, on interpreter exit, and (Linux) when its parent dies.
"""

from __future__ import annotations

import atexit
import ctypes
import math
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hilbench.board import Board
from hilbench.drivers.capabilities import (
    CycleCounter,
    InstructionCounter,
    Loader,
    MemoryAccess,
    SerialPort,
)
from hilbench.drivers.target import TargetDriver, TargetOptions
from hilbench.errors import TargetError, TransportError
from hilbench.timing.counts import InferenceCount
from hilbench.transport.base import Transport
from hilbench.transport.gdb_memory import GdbMemory
from hilbench.transport.serial_link import SerialTransport

QEMU = "qemu-system-arm"
CONNECT_TIMEOUT = 10.0
_live: set[subprocess.Popen] = set()


def _kill_all() -> None:
    for process in list(_live):
        _terminate(process)


atexit.register(_kill_all)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    _live.discard(process)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def listening_socket() -> socket.socket:
    """A loopback TCP socket already listening on a port of the kernel's choice: QEMU
    inherits it, so the port is never free for another process to take in between.
    Connections made before QEMU accepts wait in the backlog."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
    except OSError:
        listener.close()
        raise
    return listener


def icount_arguments(board: Board) -> tuple[str, ...]:
    """Virtual time: about one clock tick of the board per executed instruction."""
    shift = max(0, round(math.log2(1e9 / board.clock_hz)))
    return ("-icount", f"shift={shift},align=off,sleep=off")


class QemuProcess:
    """One qemu-system-arm process for a board: its command line, ports and log."""

    def __init__(self, board: Board, log_path: Path, extra_args: tuple[str, ...] = ()) -> None:
        if board.qemu is None:
            raise TargetError(f"board {board.name} is not a QEMU machine")
        self.board = board
        self.qemu = board.qemu
        self.extra_args = extra_args
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.uart_port: int | None = None
        self.gdb_port: int | None = None
        self._listeners: dict[str, socket.socket] = {}  # handed to QEMU at launch

    def command(self, elf: Path | None, halted: bool) -> list[str]:
        """The command line; the UART and GDB sockets are the listeners made by launch(),
        passed by descriptor (QEMU's gdbstub gets the same options as for -gdb tcp:...)."""
        cpu = ["-cpu", self.qemu.cpu] if self.qemu.cpu else []
        uart_socket, gdb_socket = self._listeners.get("uart"), self._listeners.get("gdb")
        if uart_socket is not None:
            uart = ["-chardev", f"socket,id=uart,fd={uart_socket.fileno()},"
                                f"server=on,wait=on,nodelay=on", "-serial", "chardev:uart"]
        else:
            uart = ["-serial", "null"]
        gdb = ["-chardev", f"socket,id=gdb,fd={gdb_socket.fileno()},server=on,wait=off,"
                           f"nodelay=on", "-gdb", "chardev:gdb"] if gdb_socket is not None else []
        kernel = ["-kernel", str(elf)] if elf is not None else []
        return [QEMU, "-machine", self.qemu.machine, *cpu, "-display", "none",
                "-monitor", "none", *uart, *gdb, *(["-S"] if halted else []), *kernel,
                *self.extra_args]

    def launch(self, elf: Path | None, uart: bool, gdb: bool, halted: bool = False) -> None:
        """Start QEMU: with the ELF loaded (or none, for a debugger to load), its UART on a
        socket that QEMU waits on before running, and/or its GDB stub."""
        if shutil.which(QEMU) is None:
            raise TargetError(f"{QEMU} not found: run 'make setup' (Debian: qemu-system-arm)")
        try:
            for name, wanted in (("uart", uart), ("gdb", gdb)):
                if wanted:
                    self._listeners[name] = listening_socket()
            self.uart_port = self._port("uart")
            self.gdb_port = self._port("gdb")
            fds = tuple(s.fileno() for s in self._listeners.values())
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(self.command(elf, halted),
                                                stdin=subprocess.DEVNULL, stdout=log,
                                                stderr=subprocess.STDOUT, pass_fds=fds,
                                                preexec_fn=_die_with_parent)
            _live.add(self.process)
        finally:  # QEMU holds its own copies; ours would keep the ports open after it dies
            for listener in self._listeners.values():
                listener.close()
            self._listeners.clear()

    def _port(self, name: str) -> int | None:
        listener = self._listeners.get(name)
        return None if listener is None else listener.getsockname()[1]

    def connect_uart(self) -> SerialTransport:
        assert self.process is not None and self.uart_port is not None
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise TargetError(f"QEMU exited with status {self.process.returncode}: "
                                  f"{self.log_tail()}")
            try:
                return SerialTransport(f"socket://127.0.0.1:{self.uart_port}")
            except TransportError:
                if time.monotonic() > deadline:
                    raise TargetError(f"QEMU did not open its UART socket within "
                                      f"{CONNECT_TIMEOUT:.0f} s") from None
                time.sleep(0.02)

    def connect_gdb(self) -> GdbMemory:
        assert self.gdb_port is not None
        return GdbMemory("127.0.0.1", self.gdb_port, timeout=CONNECT_TIMEOUT)

    def log_tail(self, count: int = 1) -> str:
        """QEMU's last `count` lines of output (stdout and stderr), joined on one line."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, 2)
                log.seek(max(0, log.tell() - 4096))
                text = log.read().decode(errors="replace")
        except OSError:
            text = ""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return " | ".join(lines[-count:]) if lines else "no output"

    def exit_status(self, grace: float = 0.5) -> int | None:
        """QEMU's exit status once it has ended (waiting `grace` seconds for a dying
        process to be reaped), else None."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process)
            self.process = None


class GdbMemoryAccess:
    """MemoryAccess through QEMU's GDB stub, which needs the core halted for each access."""

    def __init__(self, gdb: GdbMemory) -> None:
        self.gdb = gdb

    def read_memory(self, address: int, length: int) -> bytes:
        with self.gdb.stopped():
            return self.gdb.read(address, length)

    def write_memory(self, address: int, data: bytes) -> None:
        with self.gdb.stopped():
            self.gdb.write(address, data)

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self.gdb.stopped():
            yield


class QemuEmulation(TargetDriver):
    """What every driver of a QEMU machine shares, however the firmware gets loaded: the
    process, the counting plugin (exact instructions), and SysTick in virtual time
    (-icount) as the cycle counter; QEMU's DWT_CYCCNT always reads 0."""

    def __init__(self, board: Board, options: TargetOptions) -> None:
        super().__init__(board, options)
        self.counts_path = options.workdir / "instruction-counts.txt"
        extra = icount_arguments(board) if options.virtual_time else ()
        self.process = QemuProcess(board, options.workdir / "qemu.log", extra)

    def emulator_capabilities(self) -> dict[type, Any]:
        offered: dict[type, Any] = {}
        if self.options.count_instructions:
            offered[InstructionCounter] = self
        if self.options.virtual_time and self.board.cycle_counter.kind == "systick":
            offered[CycleCounter] = self
        return offered

    def missing(self, protocol: type) -> str:
        if protocol is not CycleCounter:
            return super().missing(protocol)
        if not self.options.virtual_time:
            return "QEMU's cycle counters run (in virtual time) only with --cycle-counter"
        return (f"QEMU models no {self.board.cycle_counter.kind.upper()} cycle counter for "
                f"{self.board.name} (DWT_CYCCNT reads 0; SysTick boards have virtual time)")

    @property
    def cycle_source(self) -> str:
        return "virtual"

    def exit_report(self) -> str | None:
        status = self.process.exit_status()
        if status is None:
            return None
        how = f"killed by signal {-status}" if status < 0 else f"exited with status {status}"
        return f"QEMU {how}; its last output: {self.process.log_tail(3)}"

    def add_counter(self, elf: Path) -> None:
        """Load the counting plugin, when counts are wanted; before the launch."""
        if self.options.count_instructions:
            from hilbench.targets.qemu_plugin import plugin_arguments

            self.process.extra_args += ("-plugin", plugin_arguments(elf, self.counts_path))

    def instruction_counts(self) -> list[InferenceCount]:
        from hilbench.targets.qemu_plugin import parse_counts

        self.close()  # the plugin has written every inference once QEMU stopped
        if not self.counts_path.exists():
            raise TargetError(f"the instruction counter wrote nothing (QEMU: "
                              f"{self.process.log_tail()})")
        return parse_counts(self.counts_path)


class QemuDriver(QemuEmulation):
    """Loads the ELF with QEMU's -kernel. Offers the UART (serial link) or the GDB stub's
    memory access (RAM link), besides what every QEMU driver offers."""

    name = "qemu"
    via = "direct"
    load_method = "qemu-kernel"

    def __init__(self, board: Board, options: TargetOptions) -> None:
        super().__init__(board, options)
        self.memory: GdbMemoryAccess | None = None
        self.serial: SerialTransport | None = None

    def capabilities(self) -> dict[type, Any]:
        link_needs = self.options.link.requires
        offered: dict[type, Any] = {Loader: self, **self.emulator_capabilities()}
        if link_needs is SerialPort:
            offered[SerialPort] = self
        if link_needs is MemoryAccess and self.memory is not None:
            offered[MemoryAccess] = self.memory
        return offered

    def load(self, elf: Path) -> None:
        self.add_counter(elf)
        ram_link = self.options.link.requires is MemoryAccess
        self.process.launch(elf, uart=not ram_link, gdb=ram_link)
        if ram_link:
            gdb = self.process.connect_gdb()
            gdb.resume()  # connecting stopped the core
            self.memory = GdbMemoryAccess(gdb)

    def open_serial(self) -> Transport:
        self.serial = self.process.connect_uart()
        return self.serial

    def close(self) -> None:
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        if self.memory is not None:
            self.memory.gdb.close()
            self.memory = None
        self.process.stop()
