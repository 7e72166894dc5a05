"""Framing without any device: COBS, CRC, resynchronisation after garbage (pyserial loop://)."""

from __future__ import annotations

import numpy as np
import pytest

from hilbench.errors import TransportError
from hilbench.protocol.frames import (
    REPLY_FLAG,
    Command,
    FrameError,
    cobs_decode,
    cobs_encode,
    decode_frame,
    encode_frame,
)
from hilbench.protocol.session import DeviceSession
from hilbench.transport.serial_link import SerialTransport


@pytest.mark.parametrize("length", [0, 1, 253, 254, 255, 600])
def test_cobs_round_trip(length):
    rng = np.random.default_rng(length)
    for zeros in (0.0, 0.3, 1.0):
        data = rng.integers(1, 256, length).astype(np.uint8)
        data[rng.random(length) < zeros] = 0
        stuffed = cobs_encode(data.tobytes())
        assert 0 not in stuffed
        assert cobs_decode(stuffed) == data.tobytes()


def test_frame_crc_detects_corruption():
    wire = bytearray(encode_frame(Command.ECHO, 7, b"hello"))
    assert decode_frame(bytes(wire[:-1])).data == b"hello"
    wire[3] ^= 0x01
    with pytest.raises(FrameError):
        decode_frame(bytes(wire[:-1]))


def test_session_skips_garbage_and_stale_replies():
    transport = SerialTransport("loop://")
    session = DeviceSession(transport, timeout=1.0)
    # what a device might send: noise, a truncated frame, a stale reply, then the answer
    transport.write(b"\x13\x37garbage\x00" + encode_frame(Command.ECHO | REPLY_FLAG, 9, b"x")[:4]
                    + b"\x00" + encode_frame(Command.ECHO | REPLY_FLAG, 200, b"old")
                    + encode_frame(Command.ECHO | REPLY_FLAG, 1, b"new"))
    assert session.echo(b"new") == b"new"


def test_session_timeout_names_the_last_exchange():
    transport = SerialTransport("loop://")
    session = DeviceSession(transport, timeout=0.3)
    transport.write(encode_frame(Command.ECHO | REPLY_FLAG, 1, b"a"))
    session.echo(b"a")
    session.context = "vector 3 of 20"
    with pytest.raises(TransportError) as error:
        session.echo(b"b")  # the loop only returns our own request: never a reply
    message = str(error.value)
    assert "no reply from the target within 0.3 s to ECHO #2, vector 3 of 20" in message
    assert "last exchange: ECHO #1 -> ok" in message
    assert "last bytes heard:" in message
