"""Fuzz campaigns that try to make hilbench crash, hang, blow up or lie, and print counts.

- models: mutants of the shared models (random bytes, and fields rewritten through the
  writer: scales, zero points, axes, shapes, operands, options, graph inputs/outputs) go
  through `hilbench inspect` and `hilbench reference` in a worker process limited to a
  2 GiB address space. Every outcome must be success or one error line with exit 2: no
  traceback, no hang, no MemoryError. Each mutant hilbench accepts also goes to TFLM's
  interpreter (in its own process, since a corrupt model may crash it): every mutant TFLM
  refuses must have been refused by hilbench too.
- frames: random and mutated byte streams through the frame decoder and the session's
  receive path: only FrameError, buffer bounded.
- device: a hostile in-process device answering a DeviceSession with valid frames of wrong
  content (short, long, wrong sequence or command, absurd INFO, noise with no frame end,
  silence): every request ends in a reply or a HilbenchError within its deadline.
- decoder: the firmware's own frame decoder and command dispatcher (firmware/dut/
  hb_dut_core.c, cobs.c, crc32.c) compiled for the host with AddressSanitizer and
  UndefinedBehaviorSanitizer, driven by a bounded generator (firmware/dut/host/
  hb_dut_fuzz.c: random, mutated, overlong, truncated frames, bad COBS, bad CRC, repeats,
  every command with lengths around its layout and the frame size), for the serial and the
  probe link's frame sizes: no sanitizer report, one well-formed reply per frame.

Usage: python bench/fuzz.py [--models N] [--frames N] [--device N] [--decoder N] [--seed S]
Defaults are the full campaigns (10^4 models, 10^6 frames each, 10^6 decoder inputs per
frame size); tests/test_fuzz.py runs a bounded slice of each through the same functions.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import resource
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = Path(os.environ.get("HILBENCH_SHARED_MODELS", REPO.parent / "shared" / "models"))
ADDRESS_SPACE = 2 << 30  # bytes: a mutant that needs more is a blow-up
MUTANT_SECONDS = 60.0  # wall time one mutant may take in a worker before it counts as a hang
REFERENCE_VECTORS = 2


# --- model mutants -----------------------------------------------------------------------

def seed_models() -> list[tuple[str, bytes]]:
    paths = sorted(SHARED_MODELS.glob("*.tflite")) or [
        REPO / "hilbench" / "data" / "kws_ds_cnn_int8.tflite"]
    return [(p.stem, p.read_bytes()) for p in paths]


_SCALES = [float("nan"), float("inf"), float("-inf"), 0.0, -0.5, 1e-45, 1e38, 3.4e38]
_ZERO_POINTS = [1 << 40, -(1 << 40), 128, -129, 255, (1 << 31), -(1 << 31) - 1]
_DIMS = [0, 65536, (1 << 31) - 1, 1 << 20, 3]
_OPTION_VALUES: dict[str, list[Any]] = {
    "beta": [-1.0, 0.0, float("nan"), float("inf"), 1e30],
    "stride_h": [0, -1, 1 << 20, 7], "stride_w": [0, -1, 1 << 20, 7],
    "dilation_h": [0, -3, 1 << 20, 9], "dilation_w": [0, -3, 1 << 20, 9],
    "filter_h": [0, -1, 1 << 20, 99], "filter_w": [0, -1, 1 << 20, 99],
    "depth_multiplier": [0, -1, 7, 1 << 20], "padding": ["SAME", "VALID"],
    "activation": ["TANH", "SIGN_BIT", "RELU", "RELU6", "RELU_N1_TO_1", "NONE"],
    "axis": [-7, 9, 1 << 20], "keep_dims": [True, False], "weights_format": [1, 2],
}


def _field_mutant(rng: np.random.Generator, graph: Any) -> str:
    """Rewrite one field of a parsed graph in place; returns what was changed."""
    from hilbench.model.graph import Quantization

    kind = rng.choice(["scale", "zero_point", "axis", "shape", "operand", "option", "graph",
                       "per_channel", "dtype"])
    tensors = graph.tensors
    t = tensors[int(rng.integers(len(tensors)))]
    quantized = [x for x in tensors if x.quantization is not None]
    if kind in ("scale", "zero_point", "axis", "per_channel") and quantized:
        t = quantized[int(rng.integers(len(quantized)))]
        q = t.quantization
        scale, zero_point, axis = q.scale.copy(), q.zero_point.copy(), q.axis
        if kind == "scale":
            scale[int(rng.integers(scale.size))] = np.float32(rng.choice(_SCALES))
        elif kind == "zero_point":
            zero_point[int(rng.integers(zero_point.size))] = int(rng.choice(_ZERO_POINTS))
        elif kind == "axis":
            axis = int(rng.choice([-1, len(t.shape), 7, 100, 1]))
        else:
            grow = int(rng.integers(1, 4))
            scale = (np.concatenate([scale, scale[:1].repeat(grow)]) if rng.random() < 0.5
                     else scale[: max(1, scale.size - grow)])
            zero_point = np.resize(zero_point, scale.size)
        t.quantization = Quantization(scale.astype(np.float32), zero_point, axis)
        return f"{kind} of tensor {t.index}"
    if kind == "shape":
        dims = list(t.shape) or [1]
        dims[int(rng.integers(len(dims)))] = int(rng.choice(_DIMS))
        if rng.random() < 0.2:
            dims = dims + [1] * int(rng.integers(1, 5))
        t.shape = tuple(dims)
        return f"shape of tensor {t.index}"
    op = graph.operators[int(rng.integers(len(graph.operators)))] if graph.operators else None
    if kind == "operand" and op is not None:
        choice = rng.integers(4)
        if choice == 0 and op.inputs:
            op.inputs.pop(int(rng.integers(len(op.inputs))))
        elif choice == 1:
            op.inputs.append(int(rng.integers(len(tensors))))
        elif choice == 2 and op.inputs:
            op.inputs[int(rng.integers(len(op.inputs)))] = -1
        else:
            op.outputs = [] if rng.random() < 0.5 else op.outputs + [int(rng.integers(len(tensors)))]
        return f"operands of op {op.index}"
    if kind == "option" and op is not None and op.options:
        key = str(rng.choice(sorted(op.options)))
        values = _OPTION_VALUES.get(key, [0, -1])
        op.options[key] = values[int(rng.integers(len(values)))]
        return f"option {key} of op {op.index}"
    if kind == "dtype":
        t.dtype = np.dtype(rng.choice(["uint8", "int16", "int32", "float32", "int8"]))
        if t.data is not None:
            t.data = np.zeros(t.shape, t.dtype) if t.size < 1 << 20 else None
        return f"dtype of tensor {t.index}"
    which = rng.integers(3)
    if which == 0:
        graph.inputs = []
    elif which == 1:
        graph.outputs = []
    else:
        graph.inputs = [int(rng.integers(len(tensors)))]
    return "graph inputs/outputs"


def _byte_mutant(rng: np.random.Generator, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(int(rng.integers(1, 17))):
        position = int(rng.integers(len(raw)))
        how = rng.integers(4)
        if how == 0:
            raw[position] = int(rng.integers(256))
        elif how == 1:
            raw[position] ^= 1 << int(rng.integers(8))
        elif how == 2:
            raw[position] = 0xFF
        else:
            raw[position:position + 4] = struct.pack("<i", int(rng.choice(
                [-1, 0, 1 << 16, (1 << 31) - 1, -(1 << 31), 7])))
    if rng.random() < 0.05:
        raw = raw[: int(rng.integers(8, len(raw)))]
    return bytes(raw)


def mutants(count: int, seed: int) -> list[tuple[str, bytes]]:
    """`count` mutants, (label, bytes), deterministic for a seed. Small models are drawn
    more often than the large ones, which only make the campaign slower."""
    from hilbench.errors import HilbenchError
    from hilbench.model.tflite_reader import parse_tflite
    from hilbench.model.tflite_writer import write_tflite

    rng = np.random.default_rng(seed)
    bases = seed_models()
    weights = np.array([1.0 / max(len(b), 1) ** 0.5 for _, b in bases])
    weights /= weights.sum()
    out = []
    while len(out) < count:
        name, base = bases[int(rng.choice(len(bases), p=weights))]
        style = rng.choice(["bytes", "fields", "both"], p=[0.4, 0.45, 0.15])
        label = f"{name}: {style}"
        data = base
        if style in ("fields", "both"):
            graph = parse_tflite(base)
            label += " (" + ", ".join(_field_mutant(rng, graph)
                                      for _ in range(int(rng.integers(1, 3)))) + ")"
            try:
                data = write_tflite(graph)
            except (HilbenchError, KeyError, ValueError, TypeError, OverflowError,
                    struct.error):
                continue  # the writer cannot express this one: draw another
        if style in ("bytes", "both"):
            data = _byte_mutant(rng, data)
        out.append((label, data))
    return out


# --- the worker processes ----------------------------------------------------------------

def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _cli(argv: list[str]) -> dict[str, Any]:
    """One `hilbench` command in this process: exit status, stderr lines, escaped errors."""
    from hilbench import cli

    err, out = io.StringIO(), io.StringIO()
    result: dict[str, Any] = {"rc": None, "exception": None}
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            result["rc"] = cli.main(argv)
    except MemoryError:
        result["exception"] = "MemoryError"
    except BaseException as exc:  # noqa: BLE001 - anything escaping main is a finding
        result["exception"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    lines = err.getvalue().splitlines()
    result["lines"] = len(lines)
    result["longest"] = max((len(x) for x in lines), default=0)
    result["message"] = lines[0][:300] if lines else ""
    return result


def _check_hilbench(data: bytes, folder: Path) -> dict[str, Any]:
    path = folder / "mutant.tflite"
    path.write_bytes(data)
    out = folder / "y.npy"
    out.unlink(missing_ok=True)
    inspect = _cli(["inspect", str(path)])
    reference = _cli(["reference", str(path), "--random", str(REFERENCE_VECTORS),
                      "--output", str(out)])
    digest = None
    if reference["rc"] == 0 and out.exists():
        digest = _digest([np.load(out)] + [np.load(p) for p in sorted(folder.glob("y.*.npy"))])
    for extra in folder.glob("y.*"):
        extra.unlink()
    return {"inspect": inspect, "reference": reference, "digest": digest}


def _digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _tflm_log(log: Path | None) -> str:
    """The last lines TFLM printed (its MicroPrintf goes to file descriptor 2): the check
    that failed, e.g. `pooling_common.cc:73 scale_diff <= 1.0e-6 was not true.`"""
    if log is None or not log.exists():
        return ""
    lines = [x.strip() for x in log.read_text("utf-8", "replace").splitlines() if x.strip()]
    return " | ".join(lines[-2:])[:300]


def _check_tflm(data: bytes, log: Path | None = None) -> dict[str, Any]:
    """TFLM's verdict on a model hilbench accepted, and its outputs on the same vectors.
    `log`: the file TFLM's messages go to; its last lines explain a refusal."""
    from hilbench.model.tflite_reader import parse_tflite
    from hilbench.reference.tflm_oracle import _runtime
    from hilbench.run.data import generated_data

    graph = parse_tflite(data)
    vectors = generated_data(graph, REFERENCE_VECTORS, 0, near_zero_point=False).inputs
    if log is not None:
        os.truncate(log, 0)
    try:
        interpreter = _runtime().Interpreter.from_bytes(data, arena_size=64 << 20)
        outputs: list[list[np.ndarray]] = [[] for _ in graph.outputs]
        for i in range(REFERENCE_VECTORS):
            for k, x in enumerate(vectors):
                interpreter.set_input(x[i], k)
            interpreter.invoke()
            for k in range(len(graph.outputs)):
                outputs[k].append(np.array(interpreter.get_output(k)))
    except Exception as exc:  # noqa: BLE001 - TFLM refusing is the answer sought
        reason = _tflm_log(log)
        return {"refused": f"{type(exc).__name__}: {str(exc)[:200]}"
                           + (f" ({reason})" if reason else "")}
    stacked = [np.stack(o).reshape((REFERENCE_VECTORS,) + t.shape)
               for o, t in zip(outputs, graph.output_tensors)]
    return {"refused": None, "digest": _digest(stacked)}


def _worker_main(kind: str, scratch: Path) -> None:
    """Length-prefixed models on stdin, one JSON line per model on stdout. `scratch`: a
    folder the parent made and removes (a worker is killed when it hangs, and would leave
    a folder of its own behind)."""
    if kind == "hilbench":
        _limit_address_space()
    stdin = sys.stdin.buffer
    # answers go to a private copy of stdout; stray output (TFLM's C++ logging writes to
    # file descriptor 1) goes to /dev/null and cannot corrupt them
    real_stdout = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    log = None
    if kind != "hilbench":  # TFLM's reasons (fd 2) to a file that explains each refusal
        log = scratch / "tflm.log"
        os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        data = stdin.read(struct.unpack("<I", head)[0])
        answer = _check_hilbench(data, scratch) if kind == "hilbench" else _check_tflm(data, log)
        real_stdout.write(json.dumps(answer) + "\n")
        real_stdout.flush()


class _Worker:
    """A worker process, restarted after it dies or hangs."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proc: subprocess.Popen | None = None
        self.scratch: str | None = None

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        if self.scratch is None:
            self.scratch = tempfile.mkdtemp(prefix="hilbench-fuzz-")
        return subprocess.Popen([sys.executable, __file__, "--worker", self.kind,
                                 "--scratch", self.scratch],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env)

    def ask(self, data: bytes, seconds: float = MUTANT_SECONDS) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(struct.pack("<I", len(data)) + data)
            proc.stdin.flush()
        except BrokenPipeError:
            return self._dead("crash")
        ready, _, _ = select.select([proc.stdout], [], [], seconds)
        if not ready:
            return self._dead("hang")
        line = proc.stdout.readline()
        if not line:
            return self._dead("crash")
        return json.loads(line)

    def _dead(self, what: str) -> dict[str, Any]:
        status = self.stop()
        return {"dead": what, "status": status}

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.kill()
        status = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        return status

    def close(self) -> None:
        """Stop the worker and remove its scratch folder."""
        self.stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


# --- the model campaign ------------------------------------------------------------------

LINE_LIMIT = 600  # hilbench.errors.MESSAGE_LIMIT plus the "hilbench: error: " prefix


@dataclass
class ModelCounts:
    mutants: int = 0
    accepted: int = 0  # reference ran
    refused: int = 0  # one line, exit 2 (by reference; inspect may still show the model)
    tracebacks: int = 0
    hangs: int = 0
    blowups: int = 0  # MemoryError or killed under the address-space limit
    bad_lines: int = 0  # a refusal that is not exactly one bounded line with exit 2
    tflm_checked: int = 0
    tflm_refused_hilbench_accepted: int = 0
    tflm_crashed: int = 0  # TFLM's process died on a model hilbench accepted
    outputs_differ: int = 0
    findings: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        # outputs that differ from TFLM's on a model both accept: a result that lies
        return (self.tracebacks + self.hangs + self.blowups + self.bad_lines
                + self.tflm_refused_hilbench_accepted + self.tflm_crashed
                + self.outputs_differ)


def _judge_command(name: str, result: dict[str, Any], counts: ModelCounts, label: str) -> None:
    exception = result["exception"]
    if exception:
        if exception.startswith("MemoryError"):
            counts.blowups += 1
        else:
            counts.tracebacks += 1
        counts.findings.append(f"{label}: {name}: {exception}")
    elif result["rc"] == 0:
        return
    elif result["rc"] != 2 or result["lines"] != 1 or result["longest"] > LINE_LIMIT:
        counts.bad_lines += 1
        counts.findings.append(f"{label}: {name}: exit {result['rc']}, {result['lines']} "
                               f"lines, longest {result['longest']}")


def model_campaign(count: int, seed: int = 0, tflm: bool = True,
                   log: Any = None) -> ModelCounts:
    counts = ModelCounts()
    ours, theirs = _Worker("hilbench"), _Worker("tflm")
    try:
        for n, (label, data) in enumerate(mutants(count, seed)):
            counts.mutants += 1
            if log is not None and n and n % 250 == 0:  # a time-boxed run still has figures
                print(f"  {n} mutants: {counts.accepted} accepted, {counts.refused} refused, "
                      f"{counts.failures} failures ({counts.tracebacks} tracebacks, "
                      f"{counts.hangs} hangs, {counts.blowups} blow-ups, {counts.bad_lines} bad "
                      f"lines, {counts.tflm_refused_hilbench_accepted} TFLM-refused accepted, "
                      f"{counts.tflm_crashed} TFLM crashes, {counts.outputs_differ} differ)",
                      file=log, flush=True)
            answer = ours.ask(data)
            if "dead" in answer:
                if answer["dead"] == "hang":
                    counts.hangs += 1
                else:
                    counts.blowups += 1  # killed under the limit, or a crash of the interpreter
                counts.findings.append(f"{label}: worker {answer['dead']} "
                                       f"(status {answer['status']})")
                continue
            _judge_command("inspect", answer["inspect"], counts, label)
            _judge_command("reference", answer["reference"], counts, label)
            if answer["reference"]["rc"] != 0 or answer["digest"] is None:
                counts.refused += answer["reference"]["rc"] == 2
                continue
            counts.accepted += 1
            if not tflm:
                continue
            verdict = theirs.ask(data)
            counts.tflm_checked += 1
            if "dead" in verdict:
                counts.tflm_crashed += 1
                reason = _tflm_log(Path(theirs.scratch) / "tflm.log") if theirs.scratch else ""
                counts.findings.append(f"{label}: TFLM {verdict['dead']} (status "
                                       f"{verdict['status']}{'; ' + reason if reason else ''}),"
                                       f" hilbench accepted")
            elif verdict["refused"]:
                counts.tflm_refused_hilbench_accepted += 1
                counts.findings.append(f"{label}: TFLM refused ({verdict['refused']}), "
                                       f"hilbench accepted")
            elif verdict["digest"] != answer["digest"]:
                counts.outputs_differ += 1
                counts.findings.append(f"{label}: outputs differ from TFLM's")
    finally:
        ours.close()
        theirs.close()
    return counts


# --- frames and a hostile device ---------------------------------------------------------

@dataclass
class FrameCounts:
    inputs: int = 0
    frames: int = 0  # decoded intact
    rejected: int = 0  # FrameError
    escaped: int = 0  # any other exception: a finding
    max_buffer: int = 0
    findings: list[str] = field(default_factory=list)


def frame_campaign(count: int, seed: int = 0) -> FrameCounts:
    """`count` stuffed frames (valid, mutated, random) through decode_frame, then the same
    bytes as one stream through the session's receive path."""
    from hilbench.protocol.frames import FrameError, decode_frame, encode_frame
    from hilbench.protocol.session import RECEIVE_LIMIT, DeviceSession

    rng = np.random.default_rng(seed)
    counts = FrameCounts()
    stream = bytearray()
    for _ in range(count):
        payload = rng.bytes(int(rng.integers(0, 64)))
        wire = bytearray(encode_frame(int(rng.integers(256)), int(rng.integers(256)), payload))
        how = rng.integers(4)
        if how == 1:
            wire[int(rng.integers(len(wire) - 1))] = int(rng.integers(1, 256))
        elif how == 2:
            wire = bytearray(rng.bytes(int(rng.integers(1, 40)))) + b"\x00"
        elif how == 3:
            wire = wire[: int(rng.integers(1, len(wire)))] + b"\x00"
        counts.inputs += 1
        stuffed = bytes(wire[:-1]).split(b"\x00")[-1]
        try:
            decode_frame(stuffed)
            counts.frames += 1
        except FrameError:
            counts.rejected += 1
        except Exception as exc:  # noqa: BLE001 - the finding
            counts.escaped += 1
            counts.findings.append(f"decode_frame({stuffed[:16].hex()}...): {exc!r}")
        stream += wire
    stream += rng.integers(1, 256, RECEIVE_LIMIT * 2, dtype=np.uint8).tobytes()  # no end

    class _Stream:
        def __init__(self, data: bytes) -> None:
            self.data, self.at = data, 0

        def write(self, data: bytes) -> None:
            pass

        def read(self, timeout: float) -> bytes:
            part = self.data[self.at: self.at + 4096]
            self.at += len(part)
            return part

        def close(self) -> None:
            pass

    session = DeviceSession(_Stream(bytes(stream)))
    deadline = time.monotonic() + 600
    try:
        while session.receive(0.0 if session.transport.at >= len(stream) else 1.0) is not None \
                or session.transport.at < len(stream):
            counts.max_buffer = max(counts.max_buffer, len(session.buffer))
            if time.monotonic() > deadline:
                counts.findings.append("receive path: no end")
                break
    except Exception as exc:  # noqa: BLE001
        counts.escaped += 1
        counts.findings.append(f"session receive: {exc!r}")
    counts.max_buffer = max(counts.max_buffer, len(session.buffer))
    if counts.max_buffer > RECEIVE_LIMIT + 4096:
        counts.findings.append(f"receive buffer grew to {counts.max_buffer} bytes")
    return counts


class HostileDevice:
    """A Transport whose device answers each request with a plausible frame of hostile
    content, chosen at random: honest, short, long, empty, wrong sequence or command,
    malformed error frames, absurd INFO fields, noise without a frame end, or silence."""

    TRICKS = ("honest", "short", "long", "empty", "sequence", "command", "error", "fault",
              "noise", "silence", "flood", "absurd_info")

    def __init__(self, rng: np.random.Generator, honest: float = 0.5,
                 tricks: tuple[str, ...] = TRICKS, replays: bool = False) -> None:
        self.rng = rng
        self.honest = honest
        self.tricks = [t for t in tricks if t != "honest"] or ["honest"]
        self.pending = bytearray()
        self.frames_sent = 0
        self.invokes = 0  # inferences "run", as the firmware counts them
        # as firmware with HB_CAP_REPLAY: a repeated request gets the kept answer again
        self.replays = replays
        self.kept: tuple[bytes, bytes] | None = None  # (request frame, answer)
        self.replayed = 0

    def _honest(self, command: int, data: bytes) -> bytes:
        from hilbench.protocol.frames import CAP_REPLAY, INFO_REPLY, Command

        if command == Command.INFO:
            caps = b"\x00" + struct.pack("<I", CAP_REPLAY) if self.replays else b""
            return INFO_REPLY.pack(1, b"hash1234", 4096, 64, 16, 64, 3) + b"hostile" + caps
        if command == Command.INVOKE:
            self.invokes += 1
            return struct.pack("<BII", 0, 1234, self.invokes)
        if command in (Command.READ_OUTPUT, Command.READ_TENSOR):
            offset, length = struct.unpack_from("<IH", data[-6:])
            return bytes(range(offset, offset + length))[:length]
        if command == Command.STATS:
            return struct.pack("<IIIII", 4096, 256, 1234, self.invokes, 0)
        if command == Command.PROFILE:
            _, count = struct.unpack_from("<HH", data)
            return struct.pack(f"<{count}I", *range(count))
        if command == Command.ECHO:
            return data
        return b""

    def write(self, wire: bytes) -> None:
        from hilbench.protocol.frames import FrameError, decode_frame

        for stuffed in bytes(wire).split(b"\x00"):
            if not stuffed:
                continue
            try:
                frame = decode_frame(stuffed)
            except FrameError:
                continue
            if self.replays and self.kept is not None and self.kept[0] == stuffed:
                self.replayed += 1
                self.pending += self.kept[1]
                continue
            answer = self._answer(frame.command, frame.sequence, frame.data)
            self.kept = (stuffed, bytes(answer))
            self.pending += answer

    def _answer(self, command: int, sequence: int, data: bytes) -> bytes:
        from hilbench.protocol.frames import INFO_REPLY, REPLY_FLAG, Command, encode_frame

        rng = self.rng
        reply = self._honest(command, data)
        trick = "honest" if rng.random() < self.honest else \
            self.tricks[int(rng.integers(len(self.tricks)))]
        code = command | REPLY_FLAG
        if trick == "short":
            reply = reply[: int(rng.integers(0, max(len(reply), 1)))]
        elif trick == "long":
            reply = reply + rng.bytes(int(rng.integers(1, 64)))
        elif trick == "empty":
            reply = b""
        elif trick == "sequence":
            sequence = (sequence + int(rng.integers(1, 256))) & 0xFF
        elif trick == "command":
            code = int(rng.integers(256))
        elif trick == "error":
            code, reply = Command.ERROR, rng.bytes(int(rng.integers(0, 3)))
        elif trick == "fault":
            code, reply = Command.FAULT, rng.bytes(int(rng.choice([0, 12, 48])))
        elif trick == "noise":
            self.frames_sent += 1
            return bytearray(rng.integers(1, 256, int(rng.integers(1, 70000)), dtype=np.uint8))
        elif trick == "silence":
            return bytearray()
        elif trick == "absurd_info" and command == Command.INFO:
            fields = list(INFO_REPLY.unpack(reply[:INFO_REPLY.size]))
            fields[int(rng.choice([2, 3, 4, 5]))] = int(rng.choice([0, 1, 4, 65535, 1 << 31]))
            fields[5] &= 0xFFFF
            reply = INFO_REPLY.pack(*fields)
        elif trick == "flood":
            out = bytearray()
            for _ in range(int(rng.integers(2, 50))):
                out += encode_frame(code, int(rng.integers(256)), rng.bytes(8))
            self.frames_sent += 50
            return out + encode_frame(code, sequence, reply)
        self.frames_sent += 1
        return bytearray(encode_frame(code, sequence, reply))

    def read(self, timeout: float) -> bytes:
        part = bytes(self.pending[:8192])
        del self.pending[:8192]
        return part

    def close(self) -> None:
        pass


@dataclass
class DeviceCounts:
    sessions: int = 0
    frames: int = 0  # frames the hostile device sent
    completed: int = 0  # every command got a believable reply
    refused: int = 0  # a HilbenchError ended the session
    escaped: int = 0  # anything else: a finding
    overtime: int = 0  # a command that outlived its deadlines: a finding
    resends: int = 0
    reasons: Counter = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)


def device_session(device: HostileDevice, timeout: float) -> Any:
    """One run's worth of commands against `device`; returns the session, or raises."""
    from hilbench.protocol.session import DeviceSession

    session = DeviceSession(device, timeout=timeout)
    device.session = session  # type: ignore[attr-defined]  # its resends, even on failure
    info = session.info()
    session.load_input(bytes(range(64)) * 2)
    session.invoke(1, timeout=timeout)
    session.profile(4)
    session.read_output(min(info.output_size, 256))
    session.stats()
    session.echo(b"hello")
    return session


def device_campaign(frames: int, seed: int = 0, timeout: float = 0.004) -> DeviceCounts:
    """Hostile-device sessions until the device has sent `frames` frames."""
    from hilbench.errors import HilbenchError
    from hilbench.protocol.session import DEFAULT_RETRIES

    rng = np.random.default_rng(seed)
    counts = DeviceCounts()
    # a session's worst case: 7 commands (plus the load/read/profile chunks), each sent
    # 1 + retries times, the wait doubling from `timeout`, plus the time a flood of noise
    # takes to parse
    limit = 40 * (2 ** (1 + DEFAULT_RETRIES) - 1) * timeout + 2.0
    while counts.frames < frames:
        device = HostileDevice(np.random.default_rng(rng.integers(1 << 62)),
                               honest=float(rng.choice([0.5, 0.8, 0.95])),
                               replays=bool(rng.integers(2)))  # both INVOKE recoveries
        counts.sessions += 1
        start = time.monotonic()
        try:
            device_session(device, timeout)
            counts.completed += 1
        except HilbenchError as exc:
            counts.refused += 1
            counts.reasons[type(exc).__name__] += 1
            if "\n" in str(exc):
                counts.escaped += 1
                counts.findings.append(f"multi-line error: {str(exc)[:120]!r}")
        except Exception as exc:  # noqa: BLE001 - the finding
            counts.escaped += 1
            counts.findings.append(f"session {counts.sessions}: {exc!r}"[:300])
        if time.monotonic() - start > limit:
            counts.overtime += 1
            counts.findings.append(f"session {counts.sessions} took "
                                   f"{time.monotonic() - start:.1f} s")
        counts.frames += device.frames_sent
        session = getattr(device, "session", None)
        counts.resends += session.resends if session is not None else 0
    return counts


# --- the firmware's frame decoder under sanitizers ---------------------------------------

DECODER_HARNESS = "dut/host/hb_dut_fuzz.c"
DECODER_ENGINE = "dut/hb_dut_core.c"
DECODER_SOURCES = ("dut/cobs.c", "dut/crc32.c")
DECODER_FLAGS = ("-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                 "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                 "-fno-sanitize-recover=all")
DECODER_KINDS = ("valid", "mutated", "random", "overlong", "truncated", "bad-cobs",
                 "bad-crc", "repeat", "empty")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY:", "harness:")


@dataclass
class DecoderCounts:
    max_data: int
    inputs: int = 0  # asked for
    counts: dict[str, int] = field(default_factory=dict)  # the harness's closing line
    findings: list[str] = field(default_factory=list)  # wrong answers, sanitizer reports
    sanitizer: str = ""  # the sanitizer's (or the harness's) report, when it stopped a run
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.findings and not self.sanitizer and \
            self.counts.get("inputs") == self.inputs


def _error_names() -> list[tuple[int, str]]:
    from hilbench.protocol.frames import ErrorCode

    return [(int(code), code.name) for code in ErrorCode]


def _decoder_binary(max_data: int, engine: str | None) -> Path:
    """The harness built for `max_data`, cached in the build cache by its sources' content
    (`engine`: another hb_dut_core.c's text, to show that a broken one is caught)."""
    from hilbench.paths import FIRMWARE_DIR, build_dir

    harness = (FIRMWARE_DIR / DECODER_HARNESS).read_text()
    engine = engine if engine is not None else (FIRMWARE_DIR / DECODER_ENGINE).read_text()
    headers = sorted((FIRMWARE_DIR / "dut").glob("*.h")) + [FIRMWARE_DIR / "include" /
                                                             "hb_board.h"]
    key = hashlib.sha256(repr((max_data, DECODER_FLAGS)).encode())
    for text in [harness, engine] + [(FIRMWARE_DIR / s).read_text() for s in DECODER_SOURCES] \
            + [h.read_text() for h in headers]:
        key.update(text.encode())
    folder = build_dir() / "decoder-fuzz"
    binary = folder / f"hb_dut_fuzz-{max_data}-{key.hexdigest()[:12]}"
    if binary.exists():
        return binary
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        (Path(work) / "hb_dut_core.c").write_text(engine)
        out = Path(work) / "hb_dut_fuzz"
        command = ["gcc", *DECODER_FLAGS, f"-DHB_MAX_DATA={max_data}",
                   f"-I{FIRMWARE_DIR / 'include'}", f"-I{FIRMWARE_DIR / 'dut'}",
                   str(FIRMWARE_DIR / DECODER_HARNESS), str(Path(work) / "hb_dut_core.c"),
                   *(str(FIRMWARE_DIR / s) for s in DECODER_SOURCES), "-o", str(out)]
        result = subprocess.run(command, capture_output=True, text=True, cwd=work)
        if result.returncode != 0:
            raise RuntimeError(f"the decoder harness did not build: {result.stderr[-2000:]}")
        os.replace(out, binary)  # atomic: parallel campaigns never see half a binary
    return binary


def decoder_campaign(count: int, seed: int = 0, max_data: int = 512,
                     engine: str | None = None, seconds: float = 3600.0) -> DecoderCounts:
    """`count` generated inputs through the firmware's decoder and dispatcher built for
    frames of `max_data` bytes, under ASan and UBSan."""
    counts = DecoderCounts(max_data, count)
    binary = _decoder_binary(max_data, engine)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1")
    start = time.monotonic()
    try:
        result = subprocess.run([str(binary), str(count), str(seed)], capture_output=True,
                                text=True, env=env, timeout=seconds)
    except subprocess.TimeoutExpired:
        counts.findings.append(f"the harness did not finish {count:,} inputs in {seconds:g} s")
        return counts
    counts.seconds = time.monotonic() - start
    lines = result.stdout.splitlines()
    counts.findings = [line for line in lines if line.startswith("finding:")]
    if lines and lines[-1].startswith("max_data "):
        words = lines[-1].split()
        counts.counts = {k: int(v) for k, v in zip(words[::2], words[1::2])}
    report = [line.strip() for line in result.stderr.splitlines()
              if any(mark in line for mark in SANITIZER_MARKS)]
    if report or result.returncode not in (0, 1):
        counts.sanitizer = "; ".join(report[:4]) or f"exit status {result.returncode}"
    return counts


# --- link faults on a real (emulated) chip ---------------------------------------------

class FaultyLink:
    """A Transport wrapper that corrupts each byte, in either direction, with probability
    `rate` (a bit flipped), as a noisy UART does; the bytes still flow through real QEMU."""

    def __init__(self, inner: Any, rate: float, rng: np.random.Generator) -> None:
        self.inner, self.rate, self.rng = inner, rate, rng
        self.corrupted = 0

    def _damage(self, data: bytes) -> bytes:
        if not data:
            return data
        hits = np.nonzero(self.rng.random(len(data)) < self.rate)[0]
        if hits.size == 0:
            return data
        raw = bytearray(data)
        for i in hits:
            raw[i] ^= 1 << int(self.rng.integers(8))
        self.corrupted += int(hits.size)
        return bytes(raw)

    def write(self, data: bytes) -> None:
        self.inner.write(self._damage(data))

    def read(self, timeout: float) -> bytes:
        return self._damage(self.inner.read(timeout))

    def close(self) -> None:
        self.inner.close()


class LosesReplies:
    """A Transport wrapper that loses the answer to the requests `lose(n)` names (n counts
    writes from 1), as a line that drops a whole reply does. The answer is read and thrown
    away: after `settle` seconds (the target's time to answer), for up to `settle` more."""

    def __init__(self, inner: Any, lose: Any, settle: float = 0.0) -> None:
        self.inner, self.lose, self.settle, self.requests = inner, lose, settle, 0

    def write(self, data: bytes) -> None:
        self.requests += 1
        self.inner.write(data)
        if self.lose(self.requests):
            time.sleep(self.settle)
            self.inner.read(self.settle)

    def read(self, timeout: float) -> bytes:
        return self.inner.read(timeout)

    def close(self) -> None:
        self.inner.close()


# One KWS inference takes well under a second on QEMU: a loaded machine gets 10x and more,
# and a run at 1 % corruption still ends within 30 s when INVOKE's replies keep getting lost.
INVOKE_LIMIT = 10.0


@dataclass
class LinkCounts:
    rate: float
    vectors: int = 0  # verified
    bit_exact: bool = False
    resends: int = 0
    corrupted: int = 0
    seconds: float = 0.0
    error: str = ""


def link_campaign(rate: float, vectors: int = 20, seed: int = 0,
                  model: Path | None = None, timeout: float = 1.0) -> LinkCounts:
    """`vectors` KWS inferences on QEMU through a link corrupting `rate` of the bytes both
    ways: how many are verified, with how many resends, or the one line that ended it."""
    from hilbench.board import DEFAULT_BOARD, load_board
    from hilbench.codegen.c_model import generate_model
    from hilbench.drivers.registry import link_driver
    from hilbench.errors import HilbenchError
    from hilbench.model import load_model
    from hilbench.reference import Reference
    from hilbench.run.data import generated_data
    from hilbench.run.strategy import open_target
    from hilbench.toolchain.firmware import build_firmware

    model = model or REPO / "hilbench" / "data" / "kws_ds_cnn_int8.tflite"
    board = load_board(DEFAULT_BOARD)
    graph = load_model(model)
    generated = generate_model(graph, model.read_bytes(), model.stem, board.build.kernels)
    firmware = build_firmware(generated, board, model.stem, variant=board.build.kernels)
    data = generated_data(graph, vectors, seed)
    expected = Reference(graph).run(data.inputs).outputs[0]
    counts = LinkCounts(rate)
    start = time.monotonic()
    with open_target(board, firmware.elf, link_driver("serial"), timeout=timeout) as (_, session):
        link = FaultyLink(session.transport, rate, np.random.default_rng(seed))
        try:
            session.info()  # clean: the firmware's build is checked before the noise starts
            session.transport = link
            for i in range(vectors):
                session.context = f"vector {i + 1} of {vectors}"
                session.load_input(data.inputs[0][i].tobytes())
                session.invoke(1, timeout=INVOKE_LIMIT)
                actual = np.frombuffer(session.read_output(expected[i].nbytes), np.int8)
                if not np.array_equal(actual, expected[i].reshape(-1)):
                    counts.error = f"vector {i + 1} differs"
                    break
                counts.vectors += 1
            counts.bit_exact = counts.vectors == vectors
        except HilbenchError as exc:
            counts.error = str(exc)[:300]
        counts.resends, counts.corrupted = session.resends, link.corrupted
    counts.seconds = time.monotonic() - start
    return counts


# --- main --------------------------------------------------------------------------------

def _print_findings(findings: list[str]) -> None:
    for line in findings[:20]:
        print(f"    {line}")
    if len(findings) > 20:
        print(f"    ... and {len(findings) - 20} more")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000, help="model mutants (10^4)")
    parser.add_argument("--frames", type=int, default=1_000_000, help="host frames (10^6)")
    parser.add_argument("--device", type=int, default=1_000_000,
                        help="frames from the hostile device (10^6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-tflm", action="store_true", help="skip the TFLM comparison")
    parser.add_argument("--decoder", type=int, default=1_000_000,
                        help="inputs through the firmware's decoder per frame size (10^6)")
    parser.add_argument("--findings", type=Path, metavar="FILE",
                        help="write every model finding to FILE (the summary shows 20)")
    parser.add_argument("--link", type=float, nargs="*", default=[1e-3, 1e-2],
                        metavar="RATE", help="byte-corruption rates for the QEMU link runs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker_main(args.worker, args.scratch)
        return 0
    failed = False
    if args.frames:
        start = time.monotonic()
        f = frame_campaign(args.frames, args.seed)
        print(f"frames: {f.inputs:,} inputs: {f.frames:,} decoded, {f.rejected:,} rejected, "
              f"{f.escaped} escaped exceptions; receive buffer peak {f.max_buffer:,} B "
              f"({time.monotonic() - start:.0f} s)")
        _print_findings(f.findings)
        failed |= bool(f.findings)
    if args.device:
        start = time.monotonic()
        d = device_campaign(args.device, args.seed)
        print(f"hostile device: {d.frames:,} frames in {d.sessions:,} sessions: "
              f"{d.completed:,} completed, {d.refused:,} refused with one line "
              f"({dict(d.reasons)}), {d.resends:,} resends, {d.escaped} escaped exceptions, "
              f"{d.overtime} over their deadline ({time.monotonic() - start:.0f} s)")
        _print_findings(d.findings)
        failed |= bool(d.escaped or d.overtime)
    if args.decoder:
        from hilbench.drivers.registry import link_driver

        for size in sorted({link_driver(name).max_data for name in ("serial", "probe")}):
            c = decoder_campaign(args.decoder, args.seed, size)
            kinds = ", ".join(f"{c.counts.get(k, 0):,} {k}" for k in DECODER_KINDS)
            errors = ", ".join(f"{c.counts.get(f'error{code}', 0):,} {name}"
                               for code, name in _error_names())
            print(f"decoder, {size}-byte frames (ASan+UBSan): {c.counts.get('inputs', 0):,} "
                  f"of {c.inputs:,} inputs ({kinds}); {c.counts.get('answered', 0):,} "
                  f"answered: {c.counts.get('ok', 0):,} ok, {errors}; "
                  f"{c.counts.get('replayed', 0):,} replayed; {len(c.findings)} findings; "
                  f"sanitizer: {c.sanitizer or 'clean'} ({c.seconds:.1f} s)")
            _print_findings(c.findings)
            failed |= not c.clean
    for rate in args.link:
        k = link_campaign(rate, seed=args.seed)
        print(f"link at {rate:g} corrupted bytes: {k.vectors} of 20 KWS vectors verified, "
              f"{k.corrupted} bytes corrupted, {k.resends} resends, {k.seconds:.1f} s"
              + (f"; ended: {k.error}" if k.error else ""))
    if args.models:
        start = time.monotonic()
        m = model_campaign(args.models, args.seed, tflm=not args.no_tflm, log=sys.stdout)
        print(f"models: {m.mutants:,} mutants: {m.accepted:,} accepted, {m.refused:,} refused "
              f"with one line; {m.tracebacks} tracebacks, {m.hangs} hangs, {m.blowups} "
              f"blow-ups (2 GiB limit), {m.bad_lines} bad error lines "
              f"({time.monotonic() - start:.0f} s)")
        if not args.no_tflm:
            print(f"  TFLM on the {m.tflm_checked:,} accepted: "
                  f"{m.tflm_refused_hilbench_accepted} refused by TFLM but accepted by "
                  f"hilbench, {m.tflm_crashed} crashed TFLM, {m.outputs_differ} with outputs "
                  f"different from TFLM's")
        _print_findings(m.findings)
        if args.findings:
            args.findings.write_text("".join(f"{line}\n" for line in m.findings))
        failed |= bool(m.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
