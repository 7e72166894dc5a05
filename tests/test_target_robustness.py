"""What goes wrong on a real link, on a real (emulated) chip: garbage and truncated frames
are answered with error frames and the session goes on; a hanging or faulting firmware
ends the run within a timeout, naming the last exchange; a model too big for the board is
refused before building; names from the model file cannot inject C; every request's
length is checked against its buffer on both links; a repeated request is answered from
the kept reply, not run again."""

from __future__ import annotations

import shutil
import struct
import sys
import time

import numpy as np
import pytest

from hilbench.board import load_board
from hilbench.toolchain.firmware import build_firmware
from hilbench.codegen.c_model import generate_model
from hilbench.errors import BuildError, FirmwareFault, TransportError
from hilbench.model import load_model
from hilbench.model.builder import GraphBuilder
from hilbench.model.tflite_writer import write_tflite
from hilbench.protocol import session as session_module
from hilbench.protocol.frames import CAP_REPLAY, Command, ErrorCode, Frame, encode_frame
from hilbench.protocol.session import DeviceError, DeviceSession
from hilbench.drivers.registry import link_driver
from hilbench.run import RunRequest, run
from hilbench.run.strategy import open_target
from support import (REPO, SHARED_MODELS, assert_one_line_error,
                     hilbench)

sys.path.insert(0, str(REPO / "bench"))
import fuzz  # noqa: E402

BOARD = load_board("qemu-mps2-an386")
HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
VWW = SHARED_MODELS / "vww_mobilenet_v1_025_int8.tflite"


@pytest.fixture
def session():
    generated = generate_model(load_model(HELLO), HELLO.read_bytes(), HELLO.stem)
    firmware = build_firmware(generated, BOARD, HELLO.stem, debug_commands=True)
    with open_target(BOARD, firmware.elf, link_driver("serial"), timeout=3.0) as (_, session):
        yield session


def _expect_error(session: DeviceSession, *codes: ErrorCode) -> None:
    frame = session.receive(timeout=3.0)
    assert frame is not None and frame.command == Command.ERROR, frame
    assert frame.data[0] in codes, ErrorCode(frame.data[0])
    assert session.info().op_count == 3  # and the session goes on


@pytest.mark.hil
def test_garbage_bytes_get_an_error_frame(session):
    session.send_raw(np.random.default_rng(0).integers(1, 256, 40, dtype=np.uint8).tobytes()
                     + b"\x00")
    _expect_error(session, ErrorCode.BAD_FRAME, ErrorCode.BAD_LENGTH, ErrorCode.BAD_CRC)


@pytest.mark.hil
def test_truncated_frame_gets_an_error_frame(session):
    wire = encode_frame(Command.ECHO, 5, b"a truncated request")
    session.send_raw(wire[: len(wire) // 2] + b"\x00")
    _expect_error(session, ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME, ErrorCode.BAD_LENGTH)


@pytest.mark.hil
def test_corrupted_byte_fails_the_crc(session):
    wire = bytearray(encode_frame(Command.ECHO, 5, b"ABCDEFGH"))
    wire[wire.index(b"C")] = ord("D")
    session.send_raw(bytes(wire))
    _expect_error(session, ErrorCode.BAD_CRC)


@pytest.mark.hil
def test_oversized_frame_gets_an_overflow_error(session):
    session.send_raw(b"\x01" * 3000 + b"\x00")
    _expect_error(session, ErrorCode.OVERFLOW)


@pytest.mark.hil
@pytest.mark.parametrize("command,data,code", [
    (0x55, b"", ErrorCode.UNKNOWN_COMMAND),
    (Command.INVOKE, b"\x01\x00\x00", ErrorCode.BAD_LENGTH),
    (Command.LOAD_INPUT, b"\x00\x01\x00\x00" + b"x", ErrorCode.BAD_ARGUMENT),
    (Command.READ_OUTPUT, b"\x00\x00\x00\x00\xff\x00", ErrorCode.BAD_ARGUMENT),
])
def test_bad_requests_are_answered_not_fatal(session, command, data, code):
    with pytest.raises(DeviceError) as error:
        session.request(command, data)
    assert error.value.code == code
    assert session.info().op_count == 3


@pytest.mark.hil
def test_hanging_firmware_times_out_naming_the_last_exchange(session):
    session.info()
    start = time.monotonic()
    with pytest.raises(TransportError) as error:
        session.request(Command.DEBUG_HANG, timeout=1.0)
    assert time.monotonic() - start < 3
    message = str(error.value)
    assert "no reply from the target within 1 s to DEBUG_HANG" in message
    assert "last exchange: INFO #1 -> ok" in message


@pytest.mark.hil
def test_faulting_firmware_reports_the_fault(session):
    with pytest.raises(FirmwareFault) as error:
        session.request(Command.DEBUG_FAULT)
    assert "HardFault during DEBUG_FAULT" in str(error.value)
    assert "pc=0x" in str(error.value)


@pytest.mark.hil
def test_run_abandoned_when_an_inference_exceeds_the_timeout():
    # 7.5 M multiply-accumulates cannot finish in a millisecond on any Cortex-M
    result = hilbench("run", VWW, "--vectors", 2, "--timeout", 0.001)
    assert_one_line_error(result, "no reply from the target within 0.001 s to INVOKE",
                          "vector 1 of 2", "last exchange: LOAD_INPUT")


def test_model_too_big_is_refused_before_building(tmp_path):
    small = tmp_path / "tiny-ram.toml"
    text = BOARD.path.read_text().replace("ram = { origin = 0x2000_0000, size = 0x40_0000 }",
                                          "ram = { origin = 0x2000_0000, size = 0x1_0000 }")
    small.write_text(text.replace('name = "qemu-mps2-an386"', 'name = "tiny-ram"'))
    result = hilbench("run", VWW, "--board", small, "--memory", "plain")
    # arena 55,296 + stack 16,384 + runtime 2,048 = 73,728 B against 65,536 B
    assert_one_line_error(result, "model does not fit tiny-ram", "over by 8,192 B")


def test_model_over_flash_is_refused_before_building(tmp_path):
    b = GraphBuilder()
    x = b.input("x", (1, 2100), scale=0.1, zero_point=0)
    w = b.constant("w", np.ones((2048, 2100), np.int8), scale=0.01, zero_point=0)
    y = b.tensor("y", (1, 2048), scale=0.5, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], activation="NONE", weights_format=0,
         keep_num_dims=False)
    b.output(y)
    model = tmp_path / "huge.tflite"
    write_tflite(b.graph(), model)
    start = time.monotonic()
    generated = generate_model(load_model(model), model.read_bytes())
    with pytest.raises(BuildError) as error:
        build_firmware(generated, BOARD, "huge", cache_dir=tmp_path / "cache")
    # 2048 x 2100 int8 weights + 2048 int32 multipliers, shifts and folded biases
    # + one requantization window record (8 int32, per-tensor quantization) + 16 KiB runtime
    need = 2048 * 2100 + 3 * 2048 * 4 + 8 * 4 + 16384
    assert f"needs about {need:,} B of flash" in str(error.value)
    assert f"over by {need - 4 * 1024 * 1024:,} B" in str(error.value)
    assert not (tmp_path / "cache").exists()  # refused before any compiler ran
    assert time.monotonic() - start < 30


EVIL = ['*/ int evil = 1; /*', 'quote " and \' here', "new\nline\r\n#include <stdio.h>",
        "back\\slash ??/", '"); system("rm -rf /"); //', "\x00nul"]


@pytest.mark.hil
def test_hostile_names_never_reach_c(tmp_path):
    rng = np.random.default_rng(0)
    b = GraphBuilder(description="*/ evil description")
    x = b.input(EVIL[0], (1, 6, 6, 2), scale=0.05, zero_point=0)
    w = b.constant(EVIL[1], rng.integers(-127, 128, (3, 3, 3, 2), dtype=np.int8),
                   scale=0.02, zero_point=0)
    bias = b.constant(EVIL[2], rng.integers(-100, 100, 3).astype(np.int32),
                      scale=0.001, zero_point=0)
    h = b.tensor(EVIL[3], (1, 6, 6, 3), scale=0.1, zero_point=-4)
    b.op("CONV_2D", [x, w, bias], [h], padding="SAME", stride_h=1, stride_w=1,
         dilation_h=1, dilation_w=1, activation="RELU")
    y = b.tensor(EVIL[4], (1, 6, 6, 3), scale=0.1, zero_point=-4)
    b.op("RELU", [h], [y])
    b.output(y)
    model = tmp_path / 'evil "*quote\'.tflite'
    write_tflite(b.graph(), model)
    source = generate_model(load_model(model), model.read_bytes(), model.stem).source
    for name in EVIL + ["*/ evil description"]:
        assert name not in source
    for token in ("*/ int evil", "#include <stdio.h>", 'system("', 'quote "', "back\\slash",
                  "*/ evil", "\x00"):
        assert token not in source, token
    result = run(RunRequest(model, BOARD, 6))
    assert result.comparison.bit_exact


@pytest.mark.hil
def test_unchanged_model_and_board_do_not_rebuild(tmp_path):
    generated = generate_model(load_model(HELLO), HELLO.read_bytes(), HELLO.stem)
    first = build_firmware(generated, BOARD, HELLO.stem, cache_dir=tmp_path)
    second = build_firmware(generated, BOARD, HELLO.stem, cache_dir=tmp_path)
    debug = build_firmware(generated, BOARD, HELLO.stem, debug_commands=True, cache_dir=tmp_path)
    assert not first.cached and second.cached and second.elf == first.elf
    assert debug.build_id != first.build_id and not debug.cached
    shutil.rmtree(tmp_path)


# --- lengths against buffers, on both links (issue 18) ---------------------------------

def _answer(session: DeviceSession, command: int, data: bytes, sequence: int = 0x42) -> Frame:
    """The raw answer to one request, whatever it is (no resend, no interpretation)."""
    session.send_raw(encode_frame(command, sequence, data))
    frame = session.receive(timeout=10.0)
    assert frame is not None, f"no answer to command {command:#x} with {len(data)} bytes"
    return frame


def _refused(session: DeviceSession, command: int, data: bytes, *codes: ErrorCode) -> None:
    frame = _answer(session, command, data)
    assert frame.command == Command.ERROR, (command, len(data), frame)
    assert frame.data[0] in codes, (command, len(data), ErrorCode(frame.data[0]))
    assert session.echo(b"still here") == b"still here"  # and the device goes on


@pytest.mark.hil
@pytest.mark.parametrize("link", ["serial", "probe"])
def test_every_length_is_checked_against_its_buffer(link):
    """ECHO of 513-515 bytes was answered, writing 3 bytes past the reply buffer: the
    receive buffer holds a few bytes more than a frame (COBS overhead)."""
    driver = link_driver(link)
    generated = generate_model(load_model(HELLO), HELLO.read_bytes(), HELLO.stem)
    firmware = build_firmware(generated, BOARD, HELLO.stem, link=link)
    most = driver.max_data
    slack = (2 + most + 4) // 254 + 1  # what fits the receive buffer past a full frame
    with open_target(BOARD, firmware.elf, driver, timeout=10.0) as (_, session):
        info = session.info()
        assert info.max_data == most and info.capabilities & CAP_REPLAY and session.replays
        # zeros often: COBS then adds one byte per frame, and the longest frames fit rx
        full = bytes(range(100)) * (most // 100 + 1)
        assert session.echo(full[:most]) == full[:most]  # the advertised size is accepted
        for length in (most + 1, most + 3, most + slack):  # fit the receive buffer
            _refused(session, Command.ECHO, full[:length], ErrorCode.BAD_LENGTH)
        _refused(session, Command.ECHO, full[:most + slack + 1],  # ends the buffer
                 ErrorCode.BAD_LENGTH, ErrorCode.OVERFLOW)
        _refused(session, Command.ECHO, full * 2, ErrorCode.OVERFLOW)
        size_in, size_out = info.input_size, info.output_size
        for command, data, code in [
            (Command.LOAD_INPUT, struct.pack("<I", size_in - 1) + b"ab", ErrorCode.BAD_ARGUMENT),
            (Command.LOAD_INPUT, struct.pack("<I", 0xFFFFFFFF) + b"a", ErrorCode.BAD_ARGUMENT),
            (Command.LOAD_INPUT, b"\0" * 4 + full[:most - 3], ErrorCode.BAD_LENGTH),
            (Command.LOAD_INPUT, b"\0\0\0", ErrorCode.BAD_LENGTH),
            (Command.READ_OUTPUT, struct.pack("<IH", 0, size_out + 1), ErrorCode.BAD_ARGUMENT),
            (Command.READ_OUTPUT, struct.pack("<IH", 0xFFFFFFFF, 1), ErrorCode.BAD_ARGUMENT),
            (Command.READ_OUTPUT, struct.pack("<IH", size_out, 0xFFFF), ErrorCode.BAD_ARGUMENT),
            (Command.READ_OUTPUT, struct.pack("<IHB", 0, 1, 0), ErrorCode.BAD_LENGTH),
            (Command.READ_TENSOR, struct.pack("<HIH", 0, 0, 0xFFFF), ErrorCode.BAD_ARGUMENT),
            (Command.READ_TENSOR, struct.pack("<HIH", 0, 0xFFFFFFFF, 2), ErrorCode.BAD_ARGUMENT),
            (Command.READ_TENSOR, struct.pack("<HIH", 0xFFFF, 0, 1), ErrorCode.BAD_ARGUMENT),
            (Command.READ_TENSOR, struct.pack("<HI", 0, 0), ErrorCode.BAD_LENGTH),
            (Command.PROFILE, struct.pack("<HH", 0, 65), ErrorCode.BAD_ARGUMENT),
            (Command.PROFILE, struct.pack("<HH", 0xFFFF, 64), ErrorCode.BAD_ARGUMENT),
            (Command.PROFILE, struct.pack("<HH", 0, info.op_count + 2), ErrorCode.BAD_ARGUMENT),
            (Command.PROFILE, full[:most], ErrorCode.BAD_LENGTH),
            (Command.INVOKE, full[:most], ErrorCode.BAD_LENGTH),
            (Command.INVOKE_UNTIL, struct.pack("<H", info.op_count), ErrorCode.BAD_ARGUMENT),
            (Command.INVOKE_UNTIL, b"\0", ErrorCode.BAD_LENGTH),
            (Command.STATS, b"\0", ErrorCode.BAD_LENGTH),
        ]:
            _refused(session, command, data, code)
        # what is within bounds still works, to the last byte
        session.load_input(bytes(size_in))
        session.invoke(1, timeout=30)
        assert len(session.read_output(size_out)) == size_out
        assert len(session.profile(info.op_count + 1)) == info.op_count + 1


# --- replay of a repeated request -------------------------------------------------------

@pytest.mark.hil
def test_repeated_request_is_answered_again_not_run_again(monkeypatch):
    generated = generate_model(load_model(HELLO), HELLO.read_bytes(), HELLO.stem)
    firmware = build_firmware(generated, BOARD, HELLO.stem)
    with open_target(BOARD, firmware.elf, link_driver("serial"), timeout=5.0) as (_, session):
        session.info()
        assert session.replays
        before = session.stats().invokes
        invoke = encode_frame(Command.INVOKE, 0x42, struct.pack("<H", 1))
        session.send_raw(invoke)
        first = session.receive(5.0)
        assert first is not None and first.command == Command.INVOKE | 0x80
        session.send_raw(invoke)  # the host lost the reply: asks again, same sequence
        assert session.receive(5.0) == first
        # a damaged frame in between is answered, yet the kept reply survives it
        _refused(session, Command.ECHO, b"\x01" * 3000, ErrorCode.OVERFLOW)
        assert session.stats().invokes == before + 1  # ran once
        session.send_raw(invoke)  # no longer the last request: a new one, run again
        again = session.receive(5.0)
        assert again is not None and again.data[5:9] == struct.pack("<I", before + 2)
        session.send_raw(encode_frame(Command.INVOKE, 0x42, struct.pack("<H", 2)))
        other = session.receive(5.0)  # same sequence, other content: run
        assert other is not None and other.data[5:9] == struct.pack("<I", before + 4)

        # the session resends an INVOKE whose reply was lost, and it runs once
        monkeypatch.setattr(session_module, "INVOKE_TIMEOUT_FLOOR", 0.5)
        session.invoke(1, timeout=30)
        resends, runs = session.resends, session.invokes
        # the reply to the next request is lost on the way back
        session.transport = fuzz.LosesReplies(session.transport, lambda n: n == 1, 0.3)
        cycles, total = session.invoke(1, timeout=30)
        assert total == runs + 1 and session.resends == resends + 1
        assert session.stats().invokes == runs + 1
