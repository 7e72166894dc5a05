"""A session with the firmware: numbered requests, replies matched by sequence, timeouts
that say what was last exchanged and heard, and the device's errors and faults raised as
hilbench errors."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from hilbench.errors import FirmwareFault, TargetError, TransportError
from hilbench.transport.base import Transport
from hilbench.protocol.frames import (
    INFO_BUILD_ID_MAX,
    INFO_REPLY,
    INVOKE_REPLY,
    PROFILE_MAX_STAMPS,
    PROFILE_STAMP,
    REPLY_FLAG,
    STATS_REPLY,
    Command,
    ErrorCode,
    Frame,
    FrameError,
    decode_frame,
    encode_frame,
)

DEFAULT_TIMEOUT = 5.0


class DeviceError(TargetError):
    """The firmware answered with an error frame."""

    def __init__(self, code: int, command: int, request: str) -> None:
        self.code = code
        self.command = command
        name = ErrorCode(code).name if code in ErrorCode._value2member_map_ else str(code)
        super().__init__(f"target rejected {request}: {name}")


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    model_hash: bytes
    arena_size: int
    input_size: int
    output_size: int
    max_data: int
    op_count: int
    build_id: str


@dataclass(frozen=True)
class DeviceStats:
    stack_size: int
    stack_peak: int
    last_cycles: int
    invokes: int
    profile_overhead: int  # cycles of one profiling mark, measured at start-up


class DeviceSession:
    def __init__(self, transport: Transport, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.transport = transport
        self.timeout = timeout
        self.sequence = 0
        self.buffer = bytearray()
        self.last_exchange = "none (no reply received yet)"
        self.last_heard = b""
        self.context = ""  # e.g. "vector 3 of 20", added to error messages
        self.bytes_sent = 0
        self.bytes_received = 0
        self.max_data = 256

    # --- framing ---------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        self.transport.write(data)
        self.bytes_sent += len(data)

    def _next_frame(self, deadline: float) -> Frame | None:
        """The next valid frame, skipping garbage; None once the deadline passes."""
        while True:
            end = self.buffer.find(0)
            while end >= 0:
                stuffed = bytes(self.buffer[:end])
                del self.buffer[:end + 1]
                if stuffed:
                    try:
                        return decode_frame(stuffed)
                    except FrameError:
                        pass  # line noise: resynchronised at the zero, keep reading
                end = self.buffer.find(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            chunk = self.transport.read(min(remaining, 0.25))
            if chunk:
                self.bytes_received += len(chunk)
                self.last_heard = (self.last_heard + chunk)[-32:]
                self.buffer += chunk

    def receive(self, timeout: float) -> Frame | None:
        """The next frame the target sends on its own (errors to garbage, fault reports)."""
        return self._next_frame(time.monotonic() + timeout)

    def _describe(self, command: int, sequence: int) -> str:
        name = Command(command).name if command in Command._value2member_map_ else hex(command)
        where = f", {self.context}" if self.context else ""
        return f"{name} #{sequence}{where}"

    def request(self, command: int, data: bytes = b"", timeout: float | None = None) -> bytes:
        self.sequence = (self.sequence + 1) & 0xFF
        sequence = self.sequence
        request = self._describe(command, sequence)
        self.send_raw(encode_frame(command, sequence, data))
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            frame = self._next_frame(deadline)
            if frame is None:
                heard = self.last_heard.hex(" ") if self.last_heard else "nothing"
                raise TransportError(
                    f"no reply from the target within {wait:g} s to {request}; last "
                    f"exchange: {self.last_exchange}; last bytes heard: {heard}")
            if frame.command == Command.FAULT:
                raise FirmwareFault(f"firmware HardFault during {request}: "
                                    f"{_describe_fault(frame.data)}")
            if frame.sequence != sequence:
                continue  # a late reply to an earlier, timed-out or garbled request
            if frame.command == Command.ERROR and len(frame.data) >= 2:
                self.last_exchange = f"{request} -> error"
                raise DeviceError(frame.data[0], frame.data[1], request)
            if frame.command == command | REPLY_FLAG:
                self.last_exchange = f"{request} -> ok"
                return frame.data

    # --- commands --------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        data = self.request(Command.INFO)
        if len(data) < INFO_REPLY.size:
            raise TransportError(f"INFO reply of {len(data)} bytes is too short")
        version, model_hash, arena, in_size, out_size, max_data, op_count = \
            INFO_REPLY.unpack_from(data)
        self.max_data = max_data
        build_id = data[INFO_REPLY.size: INFO_REPLY.size + INFO_BUILD_ID_MAX]
        return DeviceInfo(version, bytes(model_hash), arena, in_size, out_size, max_data,
                          op_count, build_id.decode("ascii", "replace"))

    def load_input(self, payload: bytes) -> None:
        step = self.max_data - 4
        for offset in range(0, len(payload), step):
            self.request(Command.LOAD_INPUT,
                         struct.pack("<I", offset) + payload[offset: offset + step])

    def invoke(self, count: int = 1, timeout: float | None = None) -> tuple[int, int]:
        data = self.request(Command.INVOKE, struct.pack("<H", count), timeout=timeout)
        _, cycles, total = INVOKE_REPLY.unpack_from(data)
        return cycles, total

    def invoke_until(self, last_op: int, timeout: float | None = None) -> None:
        """Run ops 0..last_op of the loaded input, and stop there."""
        self.request(Command.INVOKE_UNTIL, struct.pack("<H", last_op), timeout=timeout)

    def read_output(self, size: int) -> bytes:
        """`size` bytes of the model's outputs, all of them in model order."""
        return self._read(size, lambda offset, length: self.request(
            Command.READ_OUTPUT, struct.pack("<IH", offset, length)))

    def read_tensor(self, op: int, size: int) -> bytes:
        """Op `op`'s first output, as the last INVOKE_UNTIL left it."""
        return self._read(size, lambda offset, length: self.request(
            Command.READ_TENSOR, struct.pack("<HIH", op, offset, length)))

    def _read(self, size: int, fetch: Callable[[int, int], bytes]) -> bytes:
        out = bytearray()
        while len(out) < size:
            wanted = min(self.max_data, size - len(out))
            part = fetch(len(out), wanted)
            if not part or len(part) > wanted:  # a reply may stop short at a tensor's end
                raise TransportError(f"the target answered {len(part)} bytes where up to "
                                     f"{wanted} were asked, at offset {len(out)} of {size}")
            out += part
        return bytes(out)

    def stats(self) -> DeviceStats:
        return DeviceStats(*STATS_REPLY.unpack_from(self.request(Command.STATS)))

    def profile(self, count: int) -> list[int]:
        """Cycle-counter timestamps of the last inference: start, then after each layer."""
        stamps: list[int] = []
        while len(stamps) < count:
            chunk = min(PROFILE_MAX_STAMPS, count - len(stamps))
            data = self.request(Command.PROFILE, struct.pack("<HH", len(stamps), chunk))
            stamps += [PROFILE_STAMP.unpack_from(data, i * PROFILE_STAMP.size)[0]
                       for i in range(chunk)]
        return stamps

    def echo(self, payload: bytes) -> bytes:
        return self.request(Command.ECHO, payload)


def _describe_fault(data: bytes) -> str:
    if len(data) < 48:
        return f"{len(data)}-byte fault report"
    r0, r1, r2, r3, r12, lr, pc, xpsr, cfsr, hfsr, bfar, exc = struct.unpack("<12I", data[:48])
    return f"pc=0x{pc:08x} lr=0x{lr:08x} xpsr=0x{xpsr:08x} cfsr=0x{cfsr:08x} hfsr=0x{hfsr:08x}"
