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
    CAP_REPLAY,
    INFO_BUILD_ID_MAX,
    INFO_CAPS,
    INFO_FIELDS,
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
# A device's INFO is believed only within these bounds: a max_data of 0 or 4 made the host
# loop forever or divide by zero, and no MCU model streams more than 16 MiB per vector.
MIN_MAX_DATA, MAX_MAX_DATA = 16, 1 << 16
MAX_TENSOR_BYTES = 1 << 24
# Bytes kept while no frame end (0x00) arrives: a peer that never sends a zero cannot grow
# the buffer past this; the largest valid frame (64 KiB of data, COBS-stuffed) fits.
RECEIVE_LIMIT = (MAX_MAX_DATA + 16) * 255 // 254 + 16
DEFAULT_RETRIES = 2
# A request the firmware reports damaged costs one round trip, not a timeout, and a noisy
# line damages long frames often (a 500-byte LOAD_INPUT at 1e-3 corrupted bytes: 40 %):
# those are resent more times.
DAMAGED_RETRIES = 8
# Commands the current firmware may execute twice with the same effect: a resend of these
# is always safe. INVOKE is not (a second inference is counted), until the firmware answers
# a repeated sequence number from its last reply (see `DeviceSession.replays`).
IDEMPOTENT = frozenset({Command.INFO, Command.LOAD_INPUT, Command.READ_OUTPUT,
                        Command.STATS, Command.PROFILE, Command.ECHO, Command.READ_TENSOR,
                        Command.RESET_STATE})
# What a replaying firmware answers from its kept reply when asked twice: every command
# but the debug ones (a hang is not to be asked again).
REPLAYABLE = IDEMPOTENT | {Command.INVOKE, Command.INVOKE_UNTIL}
# INVOKE's deadline: this many times the slowest inference seen so far, never under the
# floor, never over the caller's limit (the first inference gets the whole limit, or, on a
# replaying firmware, FIRST_INVOKE_WAIT before it is asked again).
INVOKE_TIMEOUT_FACTOR = 10.0
INVOKE_TIMEOUT_FLOOR = 2.0
FIRST_INVOKE_WAIT = 10.0
# Resends after no (or a garbled) reply when asking until a limit: the doubling waits end
# the request at its limit first unless a device garbles every answer at once.
LIMIT_RESENDS = 8


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
    capabilities: int = 0  # CAP_* bits; 0 from firmware older than the field


@dataclass(frozen=True)
class DeviceStats:
    stack_size: int
    stack_peak: int
    last_cycles: int
    invokes: int
    profile_overhead: int  # cycles of one profiling mark, measured at start-up


class _Garbled(Exception):
    """A frame with our sequence number that is not a well-formed answer to the request."""


class _Damaged(_Garbled):
    """The device answered that our request arrived damaged (and did not execute it)."""


class DeviceSession:
    def __init__(self, transport: Transport, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES) -> None:
        self.transport = transport
        self.timeout = timeout
        self.retries = retries  # resends of one request after no, or a garbled, reply
        self.resends = 0  # resends made in this session, for the report
        self.replays = False  # the firmware answers a repeated sequence from its last reply
        self.slowest_invoke = 0.0  # seconds, measured on the host
        self.invokes: int | None = None  # the firmware's inference counter, last seen
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
            if len(self.buffer) > RECEIVE_LIMIT:  # no frame end in sight: noise, drop it
                del self.buffer[:]
            chunk = self.transport.read(min(remaining, 0.25))
            if chunk:
                self.bytes_received += len(chunk)
                self.last_heard = (self.last_heard + chunk)[-32:]
                self.buffer += chunk[-(RECEIVE_LIMIT + 1):]

    def receive(self, timeout: float) -> Frame | None:
        """The next frame the target sends on its own (errors to garbage, fault reports)."""
        return self._next_frame(time.monotonic() + timeout)

    def _describe(self, command: int, sequence: int) -> str:
        name = Command(command).name if command in Command._value2member_map_ else hex(command)
        where = f", {self.context}" if self.context else ""
        return f"{name} #{sequence}{where}"

    def request(self, command: int, data: bytes = b"", timeout: float | None = None,
                limit: float | None = None) -> bytes:
        """Send one request and return its reply's data. A request that gets no reply, or
        a garbled one, is resent with the same sequence number when resending is safe (an
        idempotent command, or any command on a firmware that replays). Each unanswered
        attempt doubles the wait, so a lost reply is asked for again soon and a slow one
        still gets time: up to `retries` resends, or, with `limit`, until `limit` seconds
        have passed since the first send (at most LIMIT_RESENDS times)."""
        self.sequence = (self.sequence + 1) & 0xFF
        sequence = self.sequence
        request = self._describe(command, sequence)
        frame = encode_frame(command, sequence, data)
        wait = first_wait = self.timeout if timeout is None else timeout
        safe = command in IDEMPOTENT or (self.replays and command in REPLAYABLE)
        start = time.monotonic()
        attempts = damaged_count = silent_count = 0
        while True:
            attempts += 1
            this_wait = wait
            if limit is not None:
                this_wait = min(wait, max(limit - (time.monotonic() - start), 0.0))
            self.send_raw(frame)
            try:
                reply = self._await_reply(command, sequence, request, this_wait, safe)
            except _Garbled as exc:
                problem = str(exc)
                if isinstance(exc, _Damaged):
                    damaged_count += 1
                else:
                    silent_count += 1
            else:
                if reply is not None:
                    return reply
                # with a limit, a safe request is asked until the limit has passed
                shown = limit if limit is not None and safe else first_wait
                heard = self.last_heard.hex(" ") if self.last_heard else "nothing"
                problem = (f"no reply from the target within {shown:g} s to {request}; last "
                           f"exchange: {self.last_exchange}; last bytes heard: {heard}")
                silent_count += 1
                wait *= 2
            # only what may run twice is resent here (INVOKE on a firmware that does not
            # replay recovers in invoke()); a request reported damaged costs one round
            # trip and is resent more often
            if not safe or damaged_count > DAMAGED_RETRIES:
                break
            if limit is None and silent_count > self.retries:
                break
            if limit is not None and (time.monotonic() - start >= limit
                                      or silent_count > LIMIT_RESENDS):
                break
            self.resends += 1
        tries = f" (sent {attempts} times)" if attempts > 1 else ""
        if attempts > 1 and limit is None and silent_count > 1:
            tries = f" (sent {attempts} times, the last wait {this_wait:g} s)"
        raise TransportError(problem + tries)

    def _await_reply(self, command: int, sequence: int, request: str, wait: float,
                     resendable: bool = False) -> bytes | None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            frame = self._next_frame(deadline)
            if frame is None:
                return None
            if frame.command == Command.FAULT:
                raise FirmwareFault(f"firmware HardFault during {request}: "
                                    f"{_describe_fault(frame.data)}")
            if resendable and frame.command == Command.ERROR and frame.sequence != sequence \
                    and frame.data[:1] in (bytes([ErrorCode.OVERFLOW]),
                                           bytes([ErrorCode.BAD_FRAME])):
                # a frame merged with the next (its end lost) or cut to nothing: likely
                # ours, and resending costs one round trip instead of a timeout
                raise _Damaged(f"the target received a damaged frame while {request} was "
                               f"awaited ({ErrorCode(frame.data[0]).name})")
            if frame.sequence != sequence or not frame.command & REPLY_FLAG:
                continue  # a late reply to an earlier request, or a request heard back
            if frame.command == Command.ERROR:
                if len(frame.data) < 2:
                    raise _Garbled(f"the target sent an error frame of {len(frame.data)} "
                                   f"bytes to {request}")
                if frame.data[0] in (ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME):
                    raise _Damaged(f"the target received {request} damaged "
                                   f"({ErrorCode(frame.data[0]).name})")
                self.last_exchange = f"{request} -> error"
                raise DeviceError(frame.data[0], frame.data[1], request)
            if frame.command != command | REPLY_FLAG:
                raise _Garbled(f"the target answered {request} with command "
                               f"0x{frame.command:02x}")
            self.last_exchange = f"{request} -> ok"
            return frame.data
        return None

    def _reply(self, command: int, data: bytes, size: int, exact: bool = False) -> bytes:
        """Check a reply's length before anything is unpacked from it."""
        if len(data) < size or (exact and len(data) != size):
            raise TransportError(
                f"{Command(command).name} reply of {len(data)} bytes, expected "
                f"{size}{'' if exact else ' or more'}{_where(self.context)}")
        return data

    # --- commands --------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        data = self._reply(Command.INFO, self.request(Command.INFO), INFO_REPLY.size)
        fields = dict(zip(INFO_FIELDS, INFO_REPLY.unpack_from(data)))
        if not MIN_MAX_DATA <= fields["max_data"] <= MAX_MAX_DATA:
            raise TransportError(f"the target advertises max_data {fields['max_data']}; "
                                 f"expected {MIN_MAX_DATA}..{MAX_MAX_DATA}")
        for name in ("arena_size", "input_size", "output_size"):
            if fields[name] > MAX_TENSOR_BYTES:
                raise TransportError(f"the target advertises {name} {fields[name]:,}; "
                                     f"at most {MAX_TENSOR_BYTES:,} is believed")
        self.max_data = fields["max_data"]
        build_id, capabilities = _info_tail(data[INFO_REPLY.size:])
        self.replays = bool(capabilities & CAP_REPLAY)
        return DeviceInfo(fields["version"], bytes(fields["model_hash"]), fields["arena_size"],
                          fields["input_size"], fields["output_size"], fields["max_data"],
                          fields["op_count"], build_id.decode("ascii", "replace"),
                          capabilities)

    def load_input(self, payload: bytes) -> None:
        step = max(self.max_data - 4, 1)
        for offset in range(0, len(payload), step):
            self.request(Command.LOAD_INPUT,
                         struct.pack("<I", offset) + payload[offset: offset + step])

    def invoke(self, count: int = 1, timeout: float | None = None) -> tuple[int, int]:
        """Run `count` inferences. `timeout` is the caller's limit; once an inference was
        timed, one attempt's wait is INVOKE_TIMEOUT_FACTOR times the slowest one (at least
        the floor), so a lost reply costs seconds, not the whole limit.

        A replaying firmware (INFO's CAP_REPLAY) answers a resent INVOKE from its kept
        reply without running it again: the request is simply asked again, its wait
        doubling, until the limit (a slow inference on a loaded host is still waited for).
        Without replay, a lost or garbled reply is recovered through STATS (see
        `_invoke_without_replay`)."""
        limit = self.timeout if timeout is None else timeout
        wait = limit
        if self.slowest_invoke:
            wait = min(limit, max(INVOKE_TIMEOUT_FLOOR,
                                  INVOKE_TIMEOUT_FACTOR * self.slowest_invoke))
        elif self.replays:
            wait = min(limit, FIRST_INVOKE_WAIT)
        if not self.replays:
            return self._invoke_without_replay(count, limit, wait)
        start = time.monotonic()
        data = self.request(Command.INVOKE, struct.pack("<H", count), timeout=wait, limit=limit)
        return self._invoked(data, count, start)

    def _invoked(self, data: bytes, count: int, start: float) -> tuple[int, int]:
        """An INVOKE reply's cycles and inference counter; the inference's time noted."""
        self.slowest_invoke = max(self.slowest_invoke,
                                  (time.monotonic() - start) / max(count, 1))
        _, cycles, total = INVOKE_REPLY.unpack_from(
            self._reply(Command.INVOKE, data, INVOKE_REPLY.size))
        self.invokes = total
        return cycles, total

    def _invoke_without_replay(self, count: int, limit: float, wait: float) -> tuple[int, int]:
        """INVOKE on a firmware that does not replay (older DUT libraries): INVOKE is not
        idempotent there, yet a lost or garbled reply is recovered without running an
        inference twice: STATS (idempotent) tells whether the firmware's inference
        counter moved. If it did, the inference ran and its cycles are STATS' last ones;
        if not, the request never arrived and INVOKE is sent again."""
        for attempt in range(1 + self.retries):
            before = self.invokes  # known from the last INVOKE or STATS reply
            start = time.monotonic()
            try:
                data = self.request(Command.INVOKE, struct.pack("<H", count), timeout=wait)
            except TransportError as lost:
                # the first INVOKE waits the whole limit, so it has nothing to recover
                if attempt == self.retries or before is None:
                    raise
                self.resends += 1
                try:
                    stats = self.stats(timeout=max(limit - (time.monotonic() - start),
                                                   self.timeout))
                except TransportError:
                    raise lost from None
                # the firmware answers STATS only once it is done computing
                if time.monotonic() - start > limit:
                    raise lost from None  # the inference outlived the caller's limit
                if stats.invokes == before + count:  # it ran; only the reply was lost
                    return stats.last_cycles, stats.invokes
                if stats.invokes != before:
                    raise
                continue  # it never ran: send it again
            return self._invoked(data, count, start)
        raise AssertionError("unreachable")  # pragma: no cover

    def invoke_until(self, last_op: int, timeout: float | None = None) -> None:
        """Run ops 0..last_op of the loaded input, and stop there."""
        self.request(Command.INVOKE_UNTIL, struct.pack("<H", last_op), timeout=timeout)
        self.invokes = None  # it counts too: read again before an INVOKE needs it

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
                                     f"{wanted} were asked, at offset {len(out)} of "
                                     f"{size}{_where(self.context)}")
            out += part
        return bytes(out)

    def stats(self, timeout: float | None = None) -> DeviceStats:
        data = self._reply(Command.STATS, self.request(Command.STATS, timeout=timeout),
                           STATS_REPLY.size)
        stats = DeviceStats(*STATS_REPLY.unpack_from(data))
        self.invokes = stats.invokes
        return stats

    def profile(self, count: int) -> list[int]:
        """Cycle-counter timestamps of the last inference: start, then after each layer."""
        stamps: list[int] = []
        while len(stamps) < count:
            chunk = min(PROFILE_MAX_STAMPS, count - len(stamps))
            data = self._reply(Command.PROFILE, self.request(
                Command.PROFILE, struct.pack("<HH", len(stamps), chunk)),
                chunk * PROFILE_STAMP.size, exact=True)
            stamps += [PROFILE_STAMP.unpack_from(data, i * PROFILE_STAMP.size)[0]
                       for i in range(chunk)]
        return stamps

    def echo(self, payload: bytes) -> bytes:
        return self.request(Command.ECHO, payload)

    def reset_state(self) -> None:
        """The model's variable tensors back to their reset values (a sequence starts)."""
        self._reply(Command.RESET_STATE, self.request(Command.RESET_STATE), 0, exact=True)


def _info_tail(tail: bytes) -> tuple[bytes, int]:
    """INFO's build id and capabilities: the text, then 0x00 and a u32 in firmware that
    has the field; the text alone (no capabilities) in older firmware."""
    end = tail.find(0)
    if end < 0 or end > INFO_BUILD_ID_MAX or len(tail) < end + INFO_CAPS.size:
        return tail[:INFO_BUILD_ID_MAX].split(b"\0")[0], 0
    return tail[:end], INFO_CAPS.unpack_from(tail, end)[0]


def _where(context: str) -> str:
    return f" ({context})" if context else ""


def _describe_fault(data: bytes) -> str:
    if len(data) < 48:
        return f"{len(data)}-byte fault report"
    r0, r1, r2, r3, r12, lr, pc, xpsr, cfsr, hfsr, bfar, exc = struct.unpack("<12I", data[:48])
    return f"pc=0x{pc:08x} lr=0x{lr:08x} xpsr=0x{xpsr:08x} cfsr=0x{cfsr:08x} hfsr=0x{hfsr:08x}"
