"""The host session against a device that lies: every reply is checked before it is
used, the receive buffer is bounded, every wait has a deadline, safe requests are resent
with the same sequence number, and INVOKE's deadline follows the measured inference time.
Each case of issue 18's hostile-device list is a regression test here; the device is the
fuzz campaign's in-process one (bench/fuzz.py), with its answers scripted."""

from __future__ import annotations

import struct
import sys
import time

import numpy as np
import pytest

from hilbench.errors import TransportError
from hilbench.protocol import session as session_module
from hilbench.protocol.frames import INFO_REPLY, REPLY_FLAG, Command, ErrorCode, encode_frame
from hilbench.protocol.session import RECEIVE_LIMIT, DeviceSession
from support import REPO

sys.path.insert(0, str(REPO / "bench"))
import fuzz  # noqa: E402


class Scripted(fuzz.HostileDevice):
    """Honest, except where `script(command, sequence, data, honest_reply)` says otherwise:
    it returns the bytes to put on the wire (None: the honest frame)."""

    def __init__(self, script) -> None:
        super().__init__(np.random.default_rng(0), honest=1.0)
        self.script = script
        self.requests: list[tuple[int, int]] = []

    def _answer(self, command: int, sequence: int, data: bytes) -> bytes:
        self.requests.append((command, sequence))
        honest = self._honest(command, data)
        wire = self.script(command, sequence, data, honest)
        return bytearray(encode_frame(command | REPLY_FLAG, sequence, honest)
                         if wire is None else wire)


def _reply(command, sequence, data):
    return encode_frame(command | REPLY_FLAG, sequence, data)


def _session(script, timeout=0.05) -> tuple[DeviceSession, Scripted]:
    device = Scripted(script)
    return DeviceSession(device, timeout=timeout), device


@pytest.mark.parametrize("max_data", [0, 4, 15])
def test_absurd_max_data_is_refused(max_data):
    def script(command, sequence, data, honest):
        fields = list(INFO_REPLY.unpack(honest[:INFO_REPLY.size]))
        fields[5] = max_data
        return _reply(command, sequence, INFO_REPLY.pack(*fields))

    session, _ = _session(script)
    with pytest.raises(TransportError, match=f"max_data {max_data}; expected 16..65536"):
        session.info()  # max_data 0 looped forever in measure_link, 4 divided by zero


@pytest.mark.parametrize("command,call,size", [
    (Command.INVOKE, lambda s: s.invoke(1), 9),
    (Command.STATS, lambda s: s.stats(), 20),
    (Command.PROFILE, lambda s: s.profile(4), 16),
    (Command.INFO, lambda s: s.info(), INFO_REPLY.size),
])
def test_short_replies_are_refused_not_unpacked(command, call, size):
    def script(c, sequence, data, honest):
        return _reply(c, sequence, honest[: size - 1]) if c == command else None

    session, _ = _session(script)
    with pytest.raises(TransportError, match=f"reply of {size - 1} bytes, expected {size}"):
        call(session)  # was struct.error


@pytest.mark.parametrize("length", [0, 17])
def test_read_output_of_the_wrong_length(length):
    def script(command, sequence, data, honest):
        return _reply(command, sequence, bytes(length)) if command == Command.READ_OUTPUT \
            else None

    session, _ = _session(script)
    session.context = "vector 2 of 5"
    with pytest.raises(TransportError, match=f"answered {length} bytes where up to 12 were "
                                             f"asked, at offset 0 of 12 \\(vector 2 of 5\\)"):
        session.read_output(12)  # empty looped forever, 17 were accepted


def test_receive_buffer_is_bounded():
    noise = bytes(np.random.default_rng(1).integers(1, 256, 4 << 20, dtype=np.uint8))
    session, device = _session(lambda *args: noise, timeout=0.3)
    peak = 0
    original = session._next_frame

    def watched(deadline):
        nonlocal peak
        peak = max(peak, len(session.buffer))
        return original(deadline)

    session._next_frame = watched
    with pytest.raises(TransportError, match="no reply"):
        session.echo(b"x")  # 4 MiB without a frame end, three times
    assert peak <= RECEIVE_LIMIT + 8192


def test_lost_reply_is_resent_with_the_same_sequence():
    lost = []

    def script(command, sequence, data, honest):
        if not lost:
            lost.append(sequence)
            return b""  # the first reply never arrives
        return None

    session, device = _session(script)
    assert session.echo(b"abc") == b"abc"
    assert device.requests == [(Command.ECHO, 1), (Command.ECHO, 1)]
    assert session.resends == 1


def test_damaged_request_is_resent():
    def script(command, sequence, data, honest):
        if len(device.requests) == 1:
            return encode_frame(Command.ERROR, sequence, bytes([ErrorCode.BAD_CRC, command]))
        return None

    session, device = _session(script)
    assert session.stats().stack_size == 4096
    assert session.resends == 1


def _invoked(requests) -> list[int]:
    return [c for c, _ in requests if c in (Command.INVOKE, Command.STATS)]


def test_lost_invoke_reply_is_recovered_without_a_second_inference(monkeypatch):
    monkeypatch.setattr(session_module, "INVOKE_TIMEOUT_FLOOR", 0.05)  # the lost reply's wait
    def script(command, sequence, data, honest):
        if command == Command.INVOKE and device.invokes == 2:
            return b""  # the second inference ran, but its reply is lost
        return None

    session, device = _session(script)
    assert session.invoke(1, timeout=10) == (1234, 1)  # the counter is known from here on
    assert session.invoke(1, timeout=10) == (1234, 2)
    assert _invoked(device.requests) == [Command.INVOKE, Command.INVOKE, Command.STATS]
    assert device.invokes == 2 and session.resends == 1


def test_lost_invoke_request_is_sent_again(monkeypatch):
    monkeypatch.setattr(session_module, "INVOKE_TIMEOUT_FLOOR", 0.05)
    def script(command, sequence, data, honest):
        if command == Command.INVOKE and _invoked(device.requests).count(command) == 2:
            device.invokes -= 1  # the second request never arrived: nothing ran
            return b""
        return None

    session, device = _session(script)
    session.invoke(1, timeout=10)
    assert session.invoke(1, timeout=10) == (1234, 2)
    assert _invoked(device.requests) == [Command.INVOKE, Command.INVOKE, Command.STATS,
                                         Command.INVOKE]
    assert device.invokes == 2


def test_first_invoke_and_a_limit_exceeded_are_not_recovered():
    def script(command, sequence, data, honest):
        if command == Command.INVOKE:
            device.invokes -= 1  # never arrives
            return b""
        return None

    session, device = _session(script)
    with pytest.raises(TransportError, match="no reply .* to INVOKE #1"):
        session.invoke(1, timeout=0.05)  # no counter known yet: it waited the whole limit
    assert _invoked(device.requests) == [Command.INVOKE]
    session.invokes = 0
    with pytest.raises(TransportError, match="no reply .* to INVOKE"):
        session.invoke(1, timeout=0.05)
    assert _invoked(device.requests).count(Command.INVOKE) == 2  # its wait was the limit


def test_invoke_deadline_follows_the_measured_inference(monkeypatch):
    monkeypatch.setattr(session_module, "INVOKE_TIMEOUT_FLOOR", 0.2)
    calls = []

    def script(command, sequence, data, honest):
        calls.append(command)
        return b"" if len(calls) > 1 else None  # the second inference never answers

    session, _ = _session(script)
    session.retries = 0
    session.invoke(1, timeout=60)
    start = time.monotonic()
    with pytest.raises(TransportError, match="within 0.2 s to INVOKE #2"):
        session.invoke(1, timeout=60)  # a lost reply costs the floor, not 60 s
    assert time.monotonic() - start < 2


def test_wrong_reply_command_is_garbled_not_accepted():
    def script(command, sequence, data, honest):
        return _reply(Command.STATS, sequence, struct.pack("<IIIII", 1, 2, 3, 4, 5))

    session, _ = _session(script)
    with pytest.raises(TransportError, match="answered ECHO #1 with command 0x85"):
        session.echo(b"hello")


def test_damaged_invoke_is_sent_again_once_stats_shows_it_did_not_run():
    def script(command, sequence, data, honest):
        if command == Command.INVOKE and _invoked(device.requests).count(command) == 2:
            device.invokes -= 1  # the firmware's answer to a request failing its CRC
            return encode_frame(Command.ERROR, sequence, bytes([ErrorCode.BAD_CRC, command]))
        return None

    session, device = _session(script)
    session.invoke(1)
    assert session.invoke(1) == (1234, 2)
    assert _invoked(device.requests) == [Command.INVOKE, Command.INVOKE, Command.STATS,
                                         Command.INVOKE]
    assert session.resends == 1


class _Ram:
    """MemoryAccess over a bytearray: a target's RAM that holds whatever a test writes."""

    def __init__(self, header: bytes) -> None:
        self.ram = bytearray(header) + bytearray(64)

    def read_memory(self, address: int, length: int) -> bytes:
        return bytes(self.ram[address: address + length])

    def write_memory(self, address: int, data: bytes) -> None:
        self.ram[address: address + len(data)] = data

    def paused(self):
        import contextlib

        return contextlib.nullcontext()


def _ring(up_size, down_size, *indices):
    from hilbench.transport.probe_link import HEADER, MAGIC

    return HEADER.pack(MAGIC, up_size, down_size, *indices)


def test_probe_ring_of_absurd_size_is_refused():
    from hilbench.transport.probe_link import ProbeTransport

    with pytest.raises(TransportError, match="claims rings of 4294967295 and 16 bytes"):
        ProbeTransport(_Ram(_ring(0xFFFFFFFF, 16, 0, 0, 0, 0)), 0)


def test_probe_ring_indices_out_of_range_are_refused():
    from hilbench.transport.probe_link import ProbeTransport

    link = ProbeTransport(_Ram(_ring(16, 16, 0, 0, 0, 0)), 0)
    link.memory.write_memory(24, struct.pack("<IIII", 5, 1 << 30, 0, 0))
    with pytest.raises(TransportError, match="ring indices are out of range"):
        link.read(0.01)  # would have read a GiB of target memory


def test_probe_write_has_a_deadline(monkeypatch):
    from hilbench.transport import probe_link

    monkeypatch.setattr(probe_link, "WRITE_TIMEOUT", 0.1)
    link = probe_link.ProbeTransport(_Ram(_ring(16, 16, 0, 0, 0, 0)), 0)
    start = time.monotonic()
    with pytest.raises(TransportError, match="did not take 5 bytes"):
        link.write(bytes(20))  # a firmware that never drains its ring
    assert time.monotonic() - start < 2


# --- a firmware that replays (HB_CAP_REPLAY) --------------------------------------------

def _replaying(lose=lambda n: False, timeout=0.05):
    device = fuzz.HostileDevice(np.random.default_rng(0), honest=1.0, replays=True)
    session = DeviceSession(fuzz.LosesReplies(device, lose), timeout=timeout)
    return session, device


def test_info_capabilities_follow_the_build_id():
    session, _ = _replaying()
    info = session.info()
    assert info.build_id == "hostile" and info.capabilities == 1 and session.replays
    old = DeviceSession(fuzz.HostileDevice(np.random.default_rng(0), honest=1.0))
    info = old.info()  # an older firmware: the text alone
    assert info.build_id == "hostile" and info.capabilities == 0 and not old.replays


def test_capabilities_match_the_header():
    from hilbench.codegen.c_header import parse_defines, parse_enums
    from hilbench.paths import FIRMWARE_DIR
    from hilbench.protocol import frames

    text = (FIRMWARE_DIR / "dut" / "hb_protocol.h").read_text()
    assert parse_enums(text)["HB_CAP_REPLAY"] == frames.CAP_REPLAY
    assert parse_defines(text)["HB_INFO_CAPS_SIZE"] == frames.INFO_CAPS.size


@pytest.mark.parametrize("tail,build_id,caps", [
    (b"x" * 32, "x" * 32, 0),                       # older firmware, the longest build id
    (b"abc\x00\x01\x00\x00\x00", "abc", 1),         # text, zero, capabilities
    (b"abc\x00\x01\x00", "abc", 0),                 # capabilities cut short: none believed
    (b"x" * 40 + b"\x00\x01\x00\x00\x00", "x" * 32, 0),  # a zero past the text's limit
])
def test_info_tail_is_parsed_within_its_bounds(tail, build_id, caps):
    assert session_module._info_tail(tail) == (build_id.encode(), caps)


def test_lost_invoke_reply_is_asked_again_and_replayed_not_run_twice(monkeypatch):
    monkeypatch.setattr(session_module, "INVOKE_TIMEOUT_FLOOR", 0.05)
    session, device = _replaying(lose=lambda n: n in (3, 4))  # INVOKE #2's first two replies
    session.info()
    session.invoke(1, timeout=10)
    assert session.invoke(1, timeout=10) == (1234, 2)
    assert device.invokes == 2 and device.replayed == 2 and session.resends == 2


def test_replaying_invoke_is_asked_again_with_growing_waits_until_its_limit(monkeypatch):
    monkeypatch.setattr(session_module, "INVOKE_TIMEOUT_FLOOR", 0.2)
    session, device = _replaying(lose=lambda n: n >= 3)  # INVOKE #2 is never answered
    session.info()
    session.invoke(1, timeout=10)
    sent = []
    write = session.transport.write
    session.transport.write = lambda data: (sent.append(time.monotonic()), write(data))
    start = time.monotonic()
    with pytest.raises(TransportError, match=r"no reply from the target within 2 s to "
                                             r"INVOKE #3.*\(sent [234] times\)"):
        session.invoke(1, timeout=2.0)
    assert 1.95 < time.monotonic() - start < 4  # the caller's limit, not more
    # waits of 0.2, 0.4, 0.8 s, then the rest; a loaded machine only makes them longer
    gaps = np.diff(sent)
    assert 2 <= len(sent) <= 4 and gaps[0] >= 0.19 and all(gaps[1:2] >= 0.39), gaps
    assert device.invokes == 2  # the resends were replayed, never run


def test_debug_commands_are_not_resent_even_to_a_replaying_firmware():
    session, device = _replaying(lose=lambda n: n >= 2)
    session.info()
    with pytest.raises(TransportError, match="within 0.05 s to DEBUG_HANG #2;") as error:
        session.request(Command.DEBUG_HANG)
    assert session.resends == 0 and "sent" not in str(error.value)
