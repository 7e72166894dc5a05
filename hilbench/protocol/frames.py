"""Frame encoding: COBS-stuffed, zero-terminated, CRC-32 protected.

Frame before stuffing: command u8 | sequence u8 | data | CRC-32 u32 LE (zlib's CRC over
everything before it). A 0x00 byte ends every frame, and never occurs inside one, so a
receiver resynchronises after garbage at the next zero.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

# Mirrors firmware/dut/hb_protocol.h; tests/test_contracts.py fails when the two differ.
PROTOCOL_VERSION = 1
REPLY_FLAG = 0x80
MAX_DATA = 512  # data bytes per frame of the serial link (HB_MAX_DATA's default)

# The fixed part of each reply. Field names match the header's HB_<REPLY>_OFF_<NAME>
# offsets (upper-cased); the header's HB_<REPLY>_SIZE is the struct's size.
INFO_REPLY = struct.Struct("<B8sIIIHI")  # the build id text follows, up to 32 bytes
INFO_FIELDS = ("version", "model_hash", "arena_size", "input_size", "output_size", "max_data",
               "op_count")
INFO_BUILD_ID_MAX = 32
# After the build id text: 0x00 and capabilities u32 (HB_INFO_CAPS_SIZE); older firmware
# ends with the text, and has none of them.
INFO_CAPS = struct.Struct("<xI")
CAP_REPLAY = 0x01  # HB_CAP_REPLAY: a repeated request is answered from the kept reply
INVOKE_REPLY = struct.Struct("<BII")
INVOKE_FIELDS = ("status", "last_cycles", "invokes")
STATS_REPLY = struct.Struct("<IIIII")
STATS_FIELDS = ("stack_size", "stack_peak", "last_cycles", "invokes", "profile_overhead")
PROFILE_STAMP = struct.Struct("<I")  # a PROFILE reply is `count` of these
PROFILE_FIELDS = ("stamp",)
PROFILE_MAX_STAMPS = 64  # per request


def field_offsets(layout: struct.Struct, names: tuple[str, ...]) -> dict[str, int]:
    """Byte offset of each named field of a little-endian layout (no padding)."""
    codes = re.findall(r"(\d*)([a-zA-Z?])", layout.format.lstrip("<"))
    if len(codes) != len(names):
        raise ValueError(f"{layout.format} has {len(codes)} fields, {len(names)} names given")
    offsets, position = {}, 0
    for name, (count, code) in zip(names, codes):
        offsets[name] = position
        position += struct.calcsize(f"<{count}{code}")
    return offsets


class Command(IntEnum):
    INFO = 0x01
    LOAD_INPUT = 0x02
    INVOKE = 0x03
    READ_OUTPUT = 0x04
    STATS = 0x05
    ECHO = 0x06
    PROFILE = 0x07
    INVOKE_UNTIL = 0x08
    READ_TENSOR = 0x09
    RESET_STATE = 0x0A
    DEBUG_HANG = 0x70
    DEBUG_FAULT = 0x71
    FAULT = 0xFE  # unsolicited, from the HardFault handler
    ERROR = 0xFF


class ErrorCode(IntEnum):
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_COMMAND = 3
    BAD_ARGUMENT = 4
    OVERFLOW = 5
    BAD_FRAME = 6
    INVOKE_FAILED = 7


class FrameError(ValueError):
    """Bytes that do not form a valid frame."""


@dataclass(frozen=True)
class Frame:
    command: int
    sequence: int
    data: bytes


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise FrameError("bad COBS code")
        out += data[i + 1: i + code]
        i += code
        if code != 255 and i != len(data):
            out.append(0)
    return bytes(out)


def encode_frame(command: int, sequence: int, data: bytes = b"") -> bytes:
    body = bytes([command & 0xFF, sequence & 0xFF]) + data
    return cobs_encode(body + struct.pack("<I", zlib.crc32(body))) + b"\x00"


def decode_frame(stuffed: bytes) -> Frame:
    """Decode one frame given without its terminating zero."""
    raw = cobs_decode(stuffed)
    if len(raw) < 6:
        raise FrameError(f"frame of {len(raw)} bytes is too short")
    body, crc = raw[:-4], struct.unpack("<I", raw[-4:])[0]
    if zlib.crc32(body) != crc:
        raise FrameError("CRC mismatch")
    return Frame(body[0], body[1], bytes(body[2:]))
