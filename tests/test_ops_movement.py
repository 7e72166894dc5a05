"""The data-movement operators (TRANSPOSE, STRIDED_SLICE, SPLIT, SPLIT_V, PACK, UNPACK,
SQUEEZE, GATHER) and BATCH_MATMUL: the host reference against TFLM's interpreter on each
edge case (tests/cases_movement.py), what TFLM refuses refused alike, the memory plan of
multi-output ops, and the C kernels bit-exact on QEMU with one firmware per family and
board; plus a conv net with TRANSPOSE between layers, end to end."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import cases_movement as cm
from hilbench.board import load_board
from hilbench.codegen.arena import choose_arena
from hilbench.codegen.arena_sim import simulate
from hilbench.errors import HilbenchError, ModelError
from hilbench.model.builder import GraphBuilder
from hilbench.model.tflite_writer import write_tflite
from hilbench.paths import FIRMWARE_DIR
from hilbench.reference import Reference
from hilbench.reference.executor import prepare
from hilbench.reference.kernels.movement import prepare_transpose
from hilbench.reference.tflm_oracle import TflmOracle
from support import assert_one_line_error, compare_with_tflm, hilbench, roundtrip, run_bit_exact

VECTORS = 200  # per kind: uniform and near the zero point
QEMU_VECTORS = 12
M4 = load_board("qemu-mps2-an386")
M0 = load_board("qemu-microbit")


@pytest.mark.oracle
@pytest.mark.parametrize("name", cm.MOVEMENT_CASES)
def test_movement_op_matches_tflm(name):
    graph, model = roundtrip(cm.case_model(cm.MOVEMENT_CASES, name))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.oracle
@pytest.mark.parametrize("name", cm.MATMUL_CASES)
def test_batch_matmul_matches_tflm(name):
    graph, model = roundtrip(cm.case_model(cm.MATMUL_CASES, name))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.oracle
def test_transpose_cnn_matches_tflm():
    graph, model = roundtrip(cm.transpose_cnn())
    compare_with_tflm(graph, model, VECTORS)


def _split_v_sizes_off(b, x, rng):  # outputs add up to 4 on an axis of 5
    return cm.split(-1, 2, sizes=[1, 3])(b, x, rng)


REFUSED = {
    "transpose_rank6": cm.transpose((1, 2, 3, 4, 5, 1), (5, 4, 3, 2, 1, 0)),
    "strided_slice_rank5": cm.strided_slice((1, 2, 3, 4, 5), [0] * 5, [1, 2, 3, 4, 5],
                                            [1, 1, 1, 1, 2], (1, 2, 3, 4, 3)),
    "strided_slice_zero_stride": cm.strided_slice(cm.X_SHAPE, [0] * 4, [1, 4, 6, 5],
                                                  [1, 0, 1, 1], (1, 4, 6, 5)),
    "gather_position_out_of_range": cm.gather((6, 20), [0, 6], 0),
    "batch_matmul_depth_mismatch": cm.batch_matmul((4, 30), (5, 7)),
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", REFUSED)
def test_what_tflm_refuses_is_refused(name):
    graph = cm.family_model({name: REFUSED[name]})
    model = write_tflite(graph)
    with pytest.raises(ModelError, match=r"op \d+ [A-Z_]+"):
        Reference(roundtrip(graph)[0])
    with pytest.raises(Exception):  # Prepare fails, or (GATHER) every invoke does
        TflmOracle(model, graph).run(np.zeros((1,) + cm.X_SHAPE, np.int8))


def test_a_refused_model_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "bad.tflite"
    write_tflite(cm.family_model({"bad": REFUSED["transpose_rank6"]}), path)
    result = hilbench("reference", path, "--random", "2")
    assert_one_line_error(result, "TRANSPOSE", "rank 6")


def test_multi_output_ops_check_their_counts_and_shapes():
    graph = cm.family_model({"v": _split_v_sizes_off})
    with pytest.raises(HilbenchError, match="add up to 4 on axis 3"):
        Reference(roundtrip(graph)[0])
    graph = cm.family_model({"u": cm.unpack(1)})
    graph.operators[0].options["num"] = 3
    with pytest.raises(ModelError, match="num 3 but 4 outputs"):
        Reference(graph)


@pytest.mark.parametrize("mode", ["plain", "inplace"])
def test_every_output_is_planned_and_live_until_its_last_reader(mode):
    """SPLIT/UNPACK outputs each get bytes of their own from their op to their last reader
    (dead ones only during their op), SQUEEZE may sit on its input; the NumPy arena run
    through the plan's offsets is bit-exact with the reference."""
    graph = cm.family_model(cm.MOVEMENT_CASES)
    prepared = prepare(graph)
    layout = choose_arena(graph, prepared, {}, mode)
    layout.plan.check()
    written = {t for op in graph.operators for t in op.outputs}
    assert written <= set(layout.plan.buffers)
    unpack = next(op for op in graph.operators
                  if op.opcode == "UNPACK" and len(op.outputs) == 5 and
                  not set(op.outputs) & set(graph.outputs))
    repack = next(op for op in graph.operators if set(op.inputs) & set(unpack.outputs))
    for k, t in enumerate(unpack.outputs):
        buffer = layout.plan.buffers[t]
        assert buffer.first == unpack.index
        assert buffer.last == (repack.index if t in repack.inputs else unpack.index), k
    squeezes = {op.index for op in graph.operators if op.opcode == "SQUEEZE"}
    assert bool(squeezes & {o.op for o in layout.plan.overlaps}) == (mode == "inplace")
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (2,) + cm.X_SHAPE, dtype=np.int8)
    expected = Reference(graph).run([x]).outputs
    for v in range(2):
        actual = simulate(graph, prepared, layout, [x[v]])
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert np.array_equal(a, e[v]), f"{mode}: output {k}, vector {v}"


def _on_qemu(graph, tmp_path, name, board, kernels):
    path = tmp_path / f"{name}.tflite"
    write_tflite(graph, path)
    return run_bit_exact(path, board, QEMU_VECTORS, seed=3, kernels=kernels)


BOARDS = [pytest.param(M4, "ref", id="m4-ref"), pytest.param(M0, None, id="m0-default")]


@pytest.mark.hil
@pytest.mark.parametrize("board, kernels", BOARDS)
def test_movement_family_on_qemu(board, kernels, tmp_path):
    """Every data-movement edge case in one firmware, each output of each branch compared."""
    graph = cm.family_model(cm.MOVEMENT_CASES)
    result = _on_qemu(graph, tmp_path, "movement", board, kernels)
    per_vector = sum(graph.tensor(i).size for i in graph.outputs)
    assert result.comparison.values == QEMU_VECTORS * per_vector


@pytest.mark.hil
@pytest.mark.parametrize("board, kernels", BOARDS)
def test_batch_matmul_family_on_qemu(board, kernels, tmp_path):
    _on_qemu(cm.family_model(cm.MATMUL_CASES), tmp_path, "matmul", board, kernels)


@pytest.mark.hil
def test_transpose_cnn_end_to_end_on_qemu(tmp_path):
    """A conv net with TRANSPOSE between layers (as a converted PyTorch model has), with the
    board's default kernels (dsp convolutions on the M4), bit-exact."""
    _on_qemu(cm.transpose_cnn(), tmp_path, "transpose_cnn", M4, None)


class _Strided(ctypes.Structure):
    _fields_ = [("rank", ctypes.c_int32), ("elem_size", ctypes.c_int32),
                ("start", ctypes.c_int32), ("count", ctypes.c_int32 * 6),
                ("step", ctypes.c_int32 * 6)]


class _Split(ctypes.Structure):
    _fields_ = [("outputs", ctypes.c_int32), ("outer", ctypes.c_int32),
                ("inner", ctypes.c_int32), ("elem_size", ctypes.c_int32),
                ("axis_sizes", ctypes.POINTER(ctypes.c_int32))]


class _Pack(ctypes.Structure):
    _fields_ = [("count", ctypes.c_int32), ("outer", ctypes.c_int32),
                ("inner", ctypes.c_int32), ("elem_size", ctypes.c_int32)]


def _pointer(array: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(array.ctypes.data)


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a host C compiler")
def test_data_movement_kernels_move_int16_elements(tmp_path):
    """The element size reaches the C kernels: int16 tensors (another issue adds int16
    activations) moved by the same ref kernels, compiled for the host, against NumPy."""
    ref = FIRMWARE_DIR / "kernels" / "ref"
    library = tmp_path / "movement.so"
    subprocess.run(["cc", "-std=c99", "-O1", "-shared", "-fPIC", f"-I{FIRMWARE_DIR / 'include'}",
                    *(str(ref / f"{n}.c") for n in ("transpose", "split", "pack", "unpack")),
                    "-o", str(library)], check=True)
    c = ctypes.CDLL(str(library))
    rng = np.random.default_rng(2)
    x = rng.integers(-32768, 32768, (3, 4, 5), dtype=np.int16)

    b = GraphBuilder()
    t = b.input("x", x.shape, np.int16, scale=0.01)
    y = b.tensor("y", (5, 3, 4), np.int16, scale=0.01)
    b.op("TRANSPOSE", [t, b.constant("perm", np.array([2, 0, 1], np.int32))], [y])
    graph = b.graph()
    walk = prepare_transpose(graph, graph.operators[0])
    params = _Strided(3, 2, walk.start, (ctypes.c_int32 * 6)(*walk.count, 1, 1, 1),
                      (ctypes.c_int32 * 6)(*walk.step, 0, 0, 0))
    out = np.zeros((5, 3, 4), np.int16)
    assert c.hb_transpose_s8(ctypes.byref(params), _pointer(x), _pointer(out)) == 0
    assert np.array_equal(out, x.transpose(2, 0, 1))

    parts = [np.zeros((3, n, 5), np.int16) for n in (1, 3)]
    sizes = (ctypes.c_int32 * 2)(1, 3)
    table = (ctypes.c_void_p * 2)(*(p.ctypes.data for p in parts))
    assert c.hb_split_s8(ctypes.byref(_Split(2, 3, 5, 2, sizes)), _pointer(x), table) == 0
    assert all(np.array_equal(p, e) for p, e in zip(parts, np.split(x, [1], axis=1)))

    rows = [np.zeros((3, 5), np.int16) for _ in range(4)]
    table = (ctypes.c_void_p * 4)(*(r.ctypes.data for r in rows))
    assert c.hb_unpack_s8(ctypes.byref(_Pack(4, 3, 5, 2)), _pointer(x), table) == 0
    assert all(np.array_equal(r, x[:, k]) for k, r in enumerate(rows))
    packed = np.zeros_like(x)
    assert c.hb_pack_s8(ctypes.byref(_Pack(4, 3, 5, 2)), table, _pointer(packed)) == 0
    assert np.array_equal(packed, x)
