"""Target memory through QEMU's GDB stub (the GDB remote serial protocol over TCP).

Only what a RAM mailbox needs: halt, read, write, continue. QEMU 7.2 has no no-ack mode
and silently drops packets over 0x1000 bytes, so transfers go in 0x7E0-byte chunks (hex
doubles them). Memory is accessed with the CPU halted, as QEMU's stub requires.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

from hilbench.errors import TransportError

CHUNK = 0x7E0  # hex-encoded plus the packet header stays under 0x1000


class GdbMemory:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TransportError(f"no GDB stub at {host}:{port}") from None
                time.sleep(0.02)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buffer = b""
        self.running = False  # connecting halts QEMU's vCPU until we continue

    # --- the remote serial protocol ----------------------------------------------------
    def _send(self, payload: str) -> None:
        checksum = sum(payload.encode()) & 0xFF
        self.sock.sendall(f"${payload}#{checksum:02x}".encode())

    def _receive(self) -> str:
        while True:
            start = self.buffer.find(b"$")
            end = self.buffer.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buffer) >= end + 3:
                payload = self.buffer[start + 1:end].decode()
                self.buffer = self.buffer[end + 3:]
                self.sock.sendall(b"+")
                return payload
            try:
                chunk = self.sock.recv(65536)
            except OSError as exc:
                raise TransportError(f"GDB stub connection failed: {exc}") from None
            if not chunk:
                raise TransportError("the GDB stub closed the connection (did QEMU exit?)")
            self.buffer += chunk

    def _command(self, payload: str) -> str:
        """Send a memory command; stop notifications in between (QEMU sends one when a
        debugger connects) are skipped: memory replies never start with T or S."""
        self._send(payload)
        while True:
            reply = self._receive()
            if not reply.startswith(("T", "S")):
                return reply

    # --- memory -------------------------------------------------------------------------
    def halt(self) -> None:
        if self.running:
            self.sock.sendall(b"\x03")
            self._receive()  # the stop reply
            self.running = False

    def resume(self) -> None:
        if not self.running:
            self._send("c")
            self.running = True

    def poll_stop(self) -> bool:
        """Whether the core, resumed by us, has stopped on its own (a breakpoint): QEMU then
        sends a stop reply unasked. Never blocks."""
        if not self.running:
            return True
        self.sock.setblocking(False)
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            chunk = None
        except OSError as exc:
            raise TransportError(f"GDB stub connection failed: {exc}") from None
        finally:
            self.sock.setblocking(True)
            self.sock.settimeout(self.timeout)
        if chunk == b"":
            raise TransportError("the GDB stub closed the connection (did QEMU exit?)")
        self.buffer += chunk or b""
        start = self.buffer.find(b"$")
        if start >= 0 and self.buffer[start + 1:start + 2] in (b"T", b"S") \
                and self.buffer.find(b"#", start) >= 0:
            self._receive()
            self.running = False
        return not self.running

    def set_hardware_breakpoint(self, address: int, on: bool = True) -> None:
        """A hardware breakpoint ('Z1'/'z1'): QEMU turns a BKPT instruction into a fault,
        so a debugger that waits for one plants this instead."""
        reply = self._command(f"{'Z' if on else 'z'}1,{address:x},2")
        if reply != "OK":
            raise TransportError(f"GDB stub refused a hardware breakpoint at {address:#x}: "
                                 f"{reply[:20]!r}")

    def read(self, address: int, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            size = min(CHUNK, length - len(out))
            reply = self._command(f"m{address + len(out):x},{size:x}")
            if reply.startswith("E") or len(reply) != 2 * size:
                raise TransportError(f"GDB stub could not read {size} bytes at "
                                     f"{address + len(out):#x}: {reply[:20]!r}")
            out += bytes.fromhex(reply)
        return bytes(out)

    def write(self, address: int, data: bytes) -> None:
        for offset in range(0, len(data), CHUNK):
            part = data[offset: offset + CHUNK]
            reply = self._command(f"M{address + offset:x},{len(part):x}:{part.hex()}")
            if reply != "OK":
                raise TransportError(f"GDB stub could not write at {address + offset:#x}: "
                                     f"{reply[:20]!r}")

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Halt for the duration of a debugger access, then run again if it was running."""
        was_running = self.running
        self.halt()
        try:
            yield
        finally:
            if was_running:
                self.resume()

    # --- registers and monitor ------------------------------------------------------------
    def unlock_registers(self) -> None:
        """QEMU answers 'p'/'P' only after the client has read the target description."""
        with self.stopped():
            offset = 0
            while True:
                reply = self._command(f"qXfer:features:read:target.xml:{offset:x},400")
                if not reply or reply[0] not in "ml":
                    break
                offset += len(reply) - 1
                if reply[0] == "l":
                    break

    def read_register(self, number: int) -> int:
        reply = self._command(f"p{number:x}")
        if len(reply) < 8 or reply.startswith("E"):
            raise TransportError(f"GDB stub could not read register {number}: {reply[:20]!r}")
        return struct.unpack("<I", bytes.fromhex(reply[:8]))[0]

    def write_register(self, number: int, value: int) -> None:
        reply = self._command(f"P{number:x}={struct.pack('<I', value & 0xFFFFFFFF).hex()}")
        if reply != "OK":
            raise TransportError(f"GDB stub could not write register {number}: {reply[:20]!r}")

    def monitor(self, command: str) -> None:
        """A QEMU monitor command through qRcmd; console output packets are skipped."""
        self._send(f"qRcmd,{command.encode().hex()}")
        while True:
            reply = self._receive()
            if reply == "OK" or reply.startswith("E"):
                return
            # 'O<hex>' is monitor output; stop notifications may also arrive

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
