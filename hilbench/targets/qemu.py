"""QEMU as a target: qemu-system-arm with the board's UART on a loopback TCP socket.

QEMU waits for our connection before starting the guest (server=on,wait=on), so no byte
is lost; pyserial's socket:// transport makes the link identical to a real serial port.
The process is killed on stop, on interpreter exit, and (Linux) when its parent dies.
"""

from __future__ import annotations

import atexit
import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from hilbench.board import Board
from hilbench.errors import TargetError, TransportError
from hilbench.transport.base import Transport
from hilbench.targets.base import Target
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuTarget(Target):
    def __init__(self, board: Board, extra_args: tuple[str, ...] = (),
                 count_instructions: Path | None = None, link: str = "serial") -> None:
        """count_instructions: file the instruction-counting plugin writes to, or None.
        link: "serial" (UART on a socket) or "probe" (RAM ring buffers via the GDB stub)."""
        if not board.is_qemu:
            raise TargetError(f"board {board.name} is not a QEMU machine")
        self.board = board
        self.extra_args = extra_args
        self.count_instructions = count_instructions
        self.link = link
        self.loader: tuple[str, ...] = ()  # replaces "-kernel ELF" when a debugger loads it
        self.process: subprocess.Popen | None = None
        self.transport: Transport | None = None
        self.log = tempfile.TemporaryFile()

    def command(self, elf: Path, port: int) -> list[str]:
        cpu = ["-cpu", self.board.qemu["cpu"]] if "cpu" in self.board.qemu else []
        if self.link == "probe":  # the debugger's view: GDB stub, UART unused
            link = ["-serial", "null", "-gdb", f"tcp:127.0.0.1:{port}"]
        else:
            link = ["-chardev", f"socket,id=uart,host=127.0.0.1,port={port},server=on,"
                                f"wait=on,nodelay=on", "-serial", "chardev:uart"]
        return [QEMU, "-machine", self.board.qemu["machine"], *cpu,
                "-display", "none", "-monitor", "none", *link,
                *(self.loader or ("-kernel", str(elf))), *self._plugin(elf), *self.extra_args]

    def _plugin(self, elf: Path) -> list[str]:
        if self.count_instructions is None:
            return []
        from hilbench.targets.qemu_plugin import plugin_arguments

        return ["-plugin", plugin_arguments(elf, self.count_instructions)]

    def launch(self, elf: Path) -> int:
        """Start QEMU without connecting to it; return the port of its link (the UART
        socket, or the GDB stub for the probe link), for a caller that connects itself."""
        if shutil.which(QEMU) is None:
            raise TargetError(f"{QEMU} not found: run 'make setup' (Debian: qemu-system-arm)")
        port = _free_port()
        self.process = subprocess.Popen(self.command(elf, port), stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=_die_with_parent)
        _live.add(self.process)
        return port

    def start(self, elf: Path) -> Transport:
        port = self.launch(elf)
        if self.link == "probe":
            from hilbench.transport.gdb_memory import GdbMemory
            from hilbench.transport.probe_link import ProbeTransport, control_block_address

            try:
                memory = GdbMemory("127.0.0.1", port, timeout=CONNECT_TIMEOUT)
                self.transport = ProbeTransport(memory, control_block_address(elf))
            except TransportError:
                self.stop()
                raise
            return self.transport
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while self.transport is None:
            if self.process.poll() is not None:
                raise TargetError(f"QEMU exited with status {self.process.returncode}: "
                                  f"{self._log_tail()}")
            try:
                self.transport = SerialTransport(f"socket://127.0.0.1:{port}")
            except TransportError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TargetError(f"QEMU did not open its UART socket within "
                                      f"{CONNECT_TIMEOUT:.0f} s") from None
                time.sleep(0.02)
        return self.transport

    def _log_tail(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.process is not None:
            _terminate(self.process)
            self.process = None
