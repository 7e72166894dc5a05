"""Target memory through QEMU's GDB stub (the GDB remote serial protocol over TCP).

Only what a RAM mailbox needs: halt, read, write, continue. QEMU 7.2 has no no-ack mode
and silently drops packets over 0x1000 bytes, so transfers go in 0x7E0-byte chunks (hex
doubles them). Memory is accessed with the CPU halted, as QEMU's stub requires.
"""

from __future__ import annotations

import socket
import time

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

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
