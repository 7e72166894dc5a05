"""MLPerf Tiny's DUT protocol both ways: hilbench's firmware built with --protocol mlperf
(firmware/mlperf/) and the host driver `hilbench dut` (hilbench/dut/).

Unit tests (no QEMU): the fixed-point printing contract, the comparison of printed
results, and the host driver against a fake DUT on a real loopback socket. hil tests: the
four MLPerf Tiny models on QEMU through `hilbench dut`, with the latency beside `hilbench
run`'s; a minimal client written from the protocol text alone, through a pty; and
malformed input."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from hilbench import api
from hilbench.board import load_board
from hilbench.cli import main
from hilbench.codegen.mlperf_config import (OutputFormat, default_model_id, output_format,
                                            output_struct, print_decimals)
from hilbench.compare.printed import compare_printed
from hilbench.dut import DutRequest, run_dut
from hilbench.dut.firmware import build_mlperf_firmware
from hilbench.dut.session import DutError, DutSession
from hilbench.errors import TargetError, TransportError
from hilbench.model import load_model
from hilbench.reference import Reference
from hilbench.targets.qemu import QemuProcess, icount_arguments
from support import SHARED_MODELS, assert_one_line_error, hilbench

MLPERF_MODELS = ["kws_ds_cnn_int8", "vww_mobilenet_v1_025_int8", "ic_resnet8_int8",
                 "ad_autoencoder_int8"]
BOARD = "qemu-mps2-an386"
KWS = SHARED_MODELS / "kws_ds_cnn_int8.tflite"
CLIENT = Path(__file__).with_name("mlperf_minimal_client.py")


# --- the printing contract (host side of firmware/mlperf/mlperf_print.c) ------------------
def _printed_like_firmware(q: int, zero_point: int, multiplier: int, shift: int,
                           decimals: int) -> str:
    """mlperf_print.c's arithmetic, step by step, in Python integers."""
    product = (q - zero_point) * multiplier
    magnitude = abs(product)
    rounded = magnitude if shift == 0 else (magnitude + (1 << (shift - 1))) >> shift
    unit = 10 ** decimals
    sign = "-" if product < 0 else ""
    return f"{sign}{rounded // unit}.{rounded % unit:0{decimals}d}" if decimals else \
        f"{sign}{rounded}"


@pytest.mark.parametrize("scale, zero_point", [(1 / 256, -128), (0.3644985, 96),
                                               (0.5847029, 83), (2.5e-5, 3), (17.0, 0)])
def test_fixed_point_printing_is_within_half_a_digit(scale, zero_point):
    fmt = output_format(1, np.float32(scale), zero_point)
    assert fmt.decimals == print_decimals(float(np.float32(scale))) >= 3
    assert 10.0 ** -fmt.decimals <= float(np.float32(scale)) / 2 or fmt.decimals == 9
    assert 2 ** 29 <= fmt.multiplier < 2 ** 30
    for q in range(-128, 128):
        text = _printed_like_firmware(q, zero_point, fmt.multiplier, fmt.shift, fmt.decimals)
        exact = float(np.float32(scale)) * (q - zero_point)
        assert abs(float(text) - exact) <= 0.5 * 10.0 ** -fmt.decimals * 1.001, (q, text)


def test_output_format_mirrors_the_firmware_header():
    assert output_struct().field_names == tuple(f.name for f in fields(OutputFormat))


def test_default_model_ids_follow_mlperf():
    assert [default_model_id(m) for m in MLPERF_MODELS] == ["kws01", "vww01", "ic01", "ad01"]
    assert default_model_id("touch_mlp_int8") == "touch_mlp_int8"


# --- comparing printed results --------------------------------------------------------------
def _kws_reference(count: int = 3):
    graph = load_model(KWS)
    x = np.random.default_rng(1).integers(-128, 128, (count,) + graph.input_tensors[0].shape,
                                          dtype=np.int8)
    return graph, x, Reference(graph).run([x]).outputs


def _printed(expected: np.ndarray, tensor) -> list[list[str]]:
    real = (expected.astype(np.float64) - tensor.zero_point) * float(tensor.scale)
    return [[f"{v:.3f}" for v in row.reshape(-1)] for row in real]


def test_printed_results_compare_within_their_precision():
    graph, _, expected = _kws_reference()
    tensor = graph.output_tensors[0]
    printed = _printed(expected[0], tensor)
    good = compare_printed(expected, printed, graph.output_tensors)
    assert good.passed and good.bit_exact and good.values == 36 and good.decimals == 3
    assert good.tolerance == pytest.approx(0.0005005)

    off = [row[:] for row in printed]
    off[1][4] = f"{float(off[1][4]) + 0.004:.3f}"  # one quantization step (1/256) away
    bad = compare_printed(expected, off, graph.output_tensors)
    assert not bad.passed and bad.within_precision == 35 and bad.bit_exact is False
    assert (bad.first.vector, bad.first.index) == (1, 4)

    coarse = [[f"{float(v):.1f}" for v in row] for row in printed]  # cannot resolve 1/256
    assert compare_printed(expected, coarse, graph.output_tensors).bit_exact is None
    with pytest.raises(TargetError, match="printed 11 results, the model has 12"):
        compare_printed(expected, [row[:11] for row in printed], graph.output_tensors)
    with pytest.raises(TargetError, match="not a number"):
        compare_printed(expected, [["x"] * 12] * 3, graph.output_tensors)


# --- the host driver against a fake DUT on a loopback socket --------------------------------
class FakeDut:
    """Speaks the protocol on 127.0.0.1 from a thread: prints the reference's results for
    whatever vector was loaded, with `corrupt` added to value 0, or garbage."""

    def __init__(self, corrupt: float = 0.0, garbage: bool = False, banner: bool = True):
        self.graph = load_model(KWS)
        self.reference = Reference(self.graph)
        self.corrupt, self.garbage, self.banner = corrupt, garbage, banner
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            send = lambda *lines: conn.sendall(b"".join(x.encode() + b"\r\n" for x in lines))
            if self.banner:  # printed as the host connects: the host must read past it
                send("m-timestamp-mode-performance", "m-init-done", "m-ready")
            data, pending = bytearray(), b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                pending += chunk
                while b"%" in pending:
                    command, pending = pending.split(b"%", 1)
                    words = command.decode().split()
                    if self.garbage:
                        send("\x07garbage", "more garbage")
                        continue
                    if words == ["name"]:
                        send("m-name-dut-[fake]", "m-ready")
                    elif words == ["profile"]:
                        send("m-profile-[ulp-mlperf]", "m-model-[kws01]", "m-ready")
                    elif words[:2] == ["db", "load"]:
                        data.clear()
                        send(f"m-[Expecting {words[2]} bytes]", "m-ready")
                    elif words[0] == "db":
                        data += bytes.fromhex(words[1])
                        send(*(["m-load-done"] if len(data) == 490 else []), "m-ready")
                    elif words[0] == "infer":
                        x = np.frombuffer(bytes(data), np.int8).reshape(
                            (1,) + self.graph.input_tensors[0].shape)
                        out = self.reference.run([x]).outputs[0]
                        values = _printed(out, self.graph.output_tensors[0])[0]
                        values[0] = f"{float(values[0]) + self.corrupt:.3f}"
                        send(f"m-warmup-start-{words[2]}", "m-warmup-done",
                             f"m-infer-start-{words[1]}", "m-lap-us-1000",
                             f"m-lap-us-{1000 + 2500 * int(words[1])}", "m-infer-done",
                             "m-results-[" + ",".join(values) + "]", "m-ready")

    def close(self) -> None:
        self.server.close()


@contextmanager
def fake_dut(**options):
    dut = FakeDut(**options)
    try:
        yield dut
    finally:
        dut.close()


def test_dut_command_against_a_fake_dut_passes_and_fails(tmp_path):
    with fake_dut() as dut:
        result = hilbench("dut", KWS, "--port", f"socket://127.0.0.1:{dut.port}",
                          "--vectors", 2, "--count", 4, "--json", tmp_path / "d.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "d.json").read_text())
    assert record["dut"] == {"name": "fake", "profile": "ulp-mlperf", "model_id": "kws01"}
    assert record["outputs"]["bit_exact"] is True and record["outputs"]["values"] == 24
    assert record["performance"]["latency_us"]["median"] == 2500
    assert record["performance"]["throughput_per_s"]["median"] == 400
    assert record["performance"]["mlperf_windows"] is False
    assert "SHORTER than MLPerf's windows" in result.stdout

    with fake_dut(corrupt=0.01) as dut:  # one value 2.5 steps off: a verdict, exit 1
        result = hilbench("dut", KWS, "--port", f"socket://127.0.0.1:{dut.port}",
                          "--vectors", 1, "--count", 1)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "11 of 12 values" in result.stdout


def _in_process(capsys, *args: object) -> subprocess.CompletedProcess:
    """The command in this process (faster than a subprocess), as a CompletedProcess."""
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, captured.out, captured.err)


def test_dut_garbage_silence_and_bad_usage_are_one_line_errors(capsys):
    with fake_dut(garbage=True) as dut:
        result = hilbench("dut", KWS, "--port", f"socket://127.0.0.1:{dut.port}")
    assert_one_line_error(result, "'name'", "garbage")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nobody listens there now
    for args, fragments in [
            (("--port", f"socket://127.0.0.1:{port}"), ("cannot open",)),
            ((), ("--port", "--board")),
            (("--port", "loop://", "--count", 0), ("--count",))]:
        assert_one_line_error(_in_process(capsys, "dut", KWS, *args), *fragments)
    assert_one_line_error(_in_process(capsys, "build", KWS, "--model-id", "kws01"),
                          "--protocol mlperf")
    assert_one_line_error(_in_process(capsys, "build", KWS, "--protocol", "mlperf",
                                      "--model-id", "a b"), "model id")


def test_session_names_the_last_exchange_on_silence():
    class Silent:
        def write(self, data: bytes) -> None:
            pass

        def read(self, timeout: float) -> bytes:
            time.sleep(timeout)
            return b""

        def close(self) -> None:
            pass

    session = DutSession(Silent(), timeout=0.2)
    session.context = "vector 2 of 5"
    with pytest.raises(TransportError, match=r"reply to 'db load 490', vector 2 of 5"):
        session.command("db load 490")


# --- hilbench's MLPerf firmware on QEMU ------------------------------------------------------
@pytest.mark.hil
@pytest.mark.parametrize("name", MLPERF_MODELS)
def test_mlperf_models_agree_on_qemu_and_latency_beside_run(name, tmp_path, record_property):
    path = SHARED_MODELS / f"{name}.tflite"
    vectors = 1 if name.startswith("vww") else 2
    result = hilbench("dut", path, "--board", BOARD, "--vectors", vectors, "--count", 2,
                      "--warmup", 1, "--json", tmp_path / "d.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "d.json").read_text())
    assert record["dut"]["model_id"] == name.split("_")[0] + "01"
    outputs = record["outputs"]
    assert outputs["within_precision"] == outputs["values"] > 0
    assert outputs["bit_exact"] is True and outputs["top1_agreement"] == 1.0
    assert "SHORTER than MLPerf's windows" in result.stdout  # QEMU windows are short: said

    # the same model, board and kernels under `hilbench run`: exact instruction counts
    run = api.run(path, BOARD, vectors=1)
    assert run.passed
    instructions = run.timing.instructions.median
    dut_us = record["performance"]["latency_us"]["median"]
    run_us = run.timing.latency_us.median
    shift = int(icount_arguments(load_board(BOARD))[1].split(",")[0].split("=")[1])
    line = (f"{name} on {BOARD}: hilbench dut {dut_us:,.1f} us per inference (SysTick, "
            f"QEMU virtual time) | hilbench run {run_us:,.1f} us (estimated cycles), "
            f"{instructions:,.0f} instructions")
    print(line)
    record_property("latency_dut_vs_run", line)
    # virtual time is 2^shift ns per instruction: the DUT's laps time what run counts,
    # plus copying the vector in before each inference
    assert dut_us == pytest.approx(instructions * 2 ** shift / 1000, rel=0.03)


@pytest.mark.hil
def test_mlperf_firmware_on_a_systick_board():
    """The Cortex-M0 whose cycle counter already owns SysTick (HB_MLPERF_SYSTICK_SHARED)."""
    result = run_dut(DutRequest(SHARED_MODELS / "tflm_hello_world_int8.tflite",
                                board=load_board("qemu-microbit"), vectors=2, count=3))
    assert result.passed and result.comparison.bit_exact and result.virtual_time
    assert result.model_id == "tflm_hello_world_int8"
    assert all(w.elapsed_us > 0 for w in result.windows)


@contextmanager
def qemu_on_pty(elf: Path):
    """QEMU with the board's UART on a pty (no hilbench link): yields the pty's path."""
    machine = load_board(BOARD).qemu
    process = subprocess.Popen(["qemu-system-arm", "-machine", machine.machine, "-cpu",
                                machine.cpu, "-display", "none", "-monitor", "none",
                                "-serial", "pty", "-kernel", str(elf)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        found = re.search(r"(/dev/pts/\d+)", process.stdout.readline())
        assert found, "QEMU did not say where its pty is"
        yield found.group(1)
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.hil
def test_minimal_client_written_from_the_protocol_runs_through_a_pty():
    graph = load_model(KWS)
    elf = build_mlperf_firmware(KWS, load_board(BOARD), graph=graph).elf
    x = np.random.default_rng(7).integers(-128, 128, (1,) + graph.input_tensors[0].shape,
                                          dtype=np.int8)
    with qemu_on_pty(elf) as pty:
        client = subprocess.run([sys.executable, str(CLIENT), pty, x.tobytes().hex()],
                                capture_output=True, text=True, timeout=120)
    assert client.returncode == 0, client.stdout + client.stderr
    assert "import hilbench" not in CLIENT.read_text() and "from hilbench" not in \
        CLIENT.read_text()
    results = re.search(r"m-results-\[(.*)]", client.stdout).group(1).split(",")
    expected = Reference(graph).run([x]).outputs
    assert compare_printed(expected, [results], graph.output_tensors).bit_exact


def _raw_reply(session: DutSession, raw: bytes) -> list[str]:
    """Bytes as they come (no client-side checks), and the reply up to m-ready."""
    session.transport.write(raw)
    session.last_exchange = repr(raw[:30])
    return session._reply(5.0, time.monotonic() + 5.0)


@pytest.mark.hil
def test_malformed_input_gets_errors_and_the_dut_keeps_answering(tmp_path):
    board = load_board(BOARD)
    elf = build_mlperf_firmware(KWS, board).elf
    qemu = QemuProcess(board, tmp_path / "qemu.log")
    qemu.launch(elf, uart=True, gdb=False)
    try:
        transport = qemu.connect_uart()
        session = DutSession(transport)
        assert session.wait_boot(10) == ["m-timestamp-mode-performance", "m-init-done"]
        bad = {
            b"x" * 81 + b"%": "longer than 80",
            b"infer 1 0%": "before a complete db load",
            b"db 00%": "before db load",
            b"db load 7%": "input is 490 bytes",
            b"results%": "no results",
            b"frobnicate%": "unknown command",
        }
        for raw, fragment in bad.items():
            reply = _raw_reply(session, raw)
            assert len(reply) == 1 and reply[0].startswith("e-[") and fragment in reply[0], \
                (raw, reply)
        assert _raw_reply(session, b"db load 490%") == ["m-[Expecting 490 bytes]"]
        for raw, fragment in {b"db 0g%": "not hexadecimal", b"db 001%": "even number",
                              b"db " + b"00" * 38 + b"%": None}.items():
            reply = _raw_reply(session, raw)
            assert (reply == [] if fragment is None else fragment in reply[0]), (raw, reply)
        overrun = b"db " + b"11" * 38 + b"%"  # 38 bytes loaded; 11 more chunks make 456
        for _ in range(11):
            _raw_reply(session, overrun)
        reply = _raw_reply(session, b"db " + b"22" * 38 + b"%")
        assert "overruns the load" in reply[0], reply
        assert _raw_reply(session, b"infer 1 0%")[0].startswith("e-[")  # 456 of 490 bytes
        assert session.name() == f"hilbench {BOARD}"
        # the runner's second connection: QEMU's socket takes a new client
        transport.close()
        session = DutSession(qemu.connect_uart())
        assert session.name() == f"hilbench {BOARD}"
        session.transport.close()
    finally:
        qemu.stop()
