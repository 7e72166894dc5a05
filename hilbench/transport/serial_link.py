"""A serial link through pyserial. The same class serves a real UART ("/dev/ttyACM0") and
QEMU's UART on a TCP socket ("socket://127.0.0.1:PORT")."""

from __future__ import annotations

import time

import serial

from hilbench.errors import TransportError


class SerialTransport:
    def __init__(self, url: str, baudrate: int = 115200) -> None:
        self.url = url
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"cannot open {url}: {exc}") from None

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"write to {self.url} failed: {exc}") from None

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` seconds (returns early once bytes arrived)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                waiting = self.port.in_waiting
                chunk = self.port.read(max(waiting, 1))
            except (serial.SerialException, OSError) as exc:
                raise TransportError(f"read from {self.url} failed: {exc}") from None
            if chunk or time.monotonic() >= deadline:
                return chunk

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # closing a dead socket must not mask the real error
            pass
