"""Data-movement operators: TRANSPOSE, STRIDED_SLICE, SPLIT, SPLIT_V, PACK, UNPACK, SQUEEZE
and GATHER, as TFLM's kernels (tensorflow/lite/micro/kernels/<op>.cc) define them.

None of them computes on values: bytes move unchanged, so input and output quantization
need not agree (TFLM does not check it either) and the same code serves int8 and int16.
SPLIT, SPLIT_V and UNPACK have several outputs: their `run` returns a tuple, one array per
op output, in the op's output order.

TRANSPOSE and STRIDED_SLICE are both a "strided walk": output element i (in row-major
order) reads input element start + sum(index[d] * step[d]). Prepare reduces each to that
form (`StridedWalk`), which the host runs with NumPy's strides and the firmware with one
loop (firmware/kernels/ref/strided_walk.h).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator, Tensor
from hilbench.reference.prepare_common import constant, option

TRANSPOSE_MAX_RANK = 5  # TFLM's TransposePrepare: "1D-5D input arrays"
STRIDED_SLICE_MAX_RANK = 4  # TFLM's strided_slice.cc kMaxDim


def _fail(op: Operator, message: str) -> ModelError:
    return ModelError(f"op {op.index} {op.opcode}: {message}")


def _require_types(graph: Graph, op: Operator, tensors: list[int], allowed: tuple[type, ...],
                   role: str) -> None:
    """The element types TFLM's kernel takes for this op (hilbench runs the quantized ones)."""
    for index in tensors:
        t = graph.tensor(index)
        if t.dtype.type not in allowed:
            names = "/".join(np.dtype(a).name for a in allowed)
            raise ModelError(f"op {op.index} {op.opcode}: {role} tensor {t.name!r} is "
                             f"{t.dtype.name}; expected {names}")


def _same_type(graph: Graph, op: Operator, data: list[int], allowed: tuple[type, ...]) -> None:
    _require_types(graph, op, data + list(op.outputs), allowed, "data")
    kinds = {graph.tensor(i).dtype for i in data + list(op.outputs)}
    if len(kinds) > 1:
        raise _fail(op, f"inputs and outputs mix types {sorted(k.name for k in kinds)}")


def _axis(op: Operator, axis: int, rank: int, what: str = "axis") -> int:
    resolved = axis + rank if axis < 0 else axis
    if not 0 <= resolved < rank:
        raise _fail(op, f"{what} {axis} is out of range for rank {rank}")
    return resolved


def _int32_constant(graph: Graph, op: Operator, position: int, what: str) -> np.ndarray:
    data = constant(graph, op, position, what)
    if data.dtype != np.int32:
        raise _fail(op, f"{what} must be int32, got {data.dtype.name}")
    return data.astype(np.int64).reshape(-1)


# --- TRANSPOSE and STRIDED_SLICE: strided walks -------------------------------------------

@dataclass(frozen=True)
class StridedWalk:
    """Output element at index (i0, i1, ...) is input element start + sum(i[d] * step[d])."""
    start: int  # in elements
    count: tuple[int, ...]  # output extent per walked axis
    step: tuple[int, ...]  # input elements per unit of that axis (may be negative or 0)
    output_shape: tuple[int, ...]
    itemsize: int


def element_strides(shape: tuple[int, ...]) -> list[int]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return list(reversed(strides))


def walk(p: StridedWalk, inputs: list[np.ndarray]) -> np.ndarray:
    x = np.ascontiguousarray(inputs[0])
    batch = x.shape[0]
    flat = x.reshape(batch, -1)
    if math.prod(p.count) == 0:
        return np.zeros((batch,) + p.output_shape, x.dtype)
    # every index is in range (prepare checked it), so a strided view reads exactly those
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[:, p.start:], shape=(batch,) + p.count,
        strides=(flat.strides[0],) + tuple(s * item for s in p.step), writeable=False)
    return np.array(view).reshape((batch,) + p.output_shape)


def prepare_transpose(graph: Graph, op: Operator) -> StridedWalk:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _same_type(graph, op, op.inputs[:1], (np.int8, np.int16))
    rank = len(x.shape)
    if not 1 <= rank <= TRANSPOSE_MAX_RANK:
        raise _fail(op, f"input of rank {rank}; TFLM transposes 1-D to "
                        f"{TRANSPOSE_MAX_RANK}-D tensors")
    perm = _int32_constant(graph, op, 1, "perm")
    if graph.tensor(op.inputs[1]).data.ndim != 1 or perm.size != rank:
        raise _fail(op, f"perm {perm.tolist()} does not have one entry per input axis ({rank})")
    if sorted(perm.tolist()) != list(range(rank)):
        raise _fail(op, f"perm {perm.tolist()} is not a permutation of 0..{rank - 1}")
    shape = tuple(x.shape[int(a)] for a in perm)
    if shape != y.shape:
        raise _fail(op, f"output {y.shape} is not the permuted input shape {shape}")
    strides = element_strides(x.shape)
    return StridedWalk(0, shape, tuple(strides[int(a)] for a in perm), y.shape, x.dtype.itemsize)


@dataclass(frozen=True)
class _SliceAxis:
    start: int
    stop: int
    stride: int


def _slice_axis(size: int, begin: int, end: int, stride: int, bit: int,
                masks: dict[str, int]) -> _SliceAxis:
    """TFLM's StridedSliceStartForAxis / StridedSliceEndForAxis for one axis (Prepare's
    StartForAxis / StopForAxis come to the same start and stop)."""
    def clamp(v: int, lo: int, hi: int) -> int:
        return max(lo, min(v, hi))

    start = begin + size if begin < 0 else begin
    start = clamp(start, 0, size) if stride > 0 else clamp(start, -1, size - 1)
    if masks["begin_mask"] & bit:
        start = 0 if stride > 0 else size - 1
    if masks["shrink_axis_mask"] & bit:
        return _SliceAxis(start, start if start >= size else start + 1, stride)
    stop = end + size if end < 0 else end
    stop = clamp(stop, 0, size) if stride > 0 else clamp(stop, -1, size - 1)
    if masks["end_mask"] & bit:
        stop = size if stride > 0 else -1
    return _SliceAxis(start, stop, stride)


_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def prepare_strided_slice(graph: Graph, op: Operator) -> StridedWalk:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _same_type(graph, op, op.inputs[:1], (np.int8, np.int16))
    rank = len(x.shape)
    if rank > STRIDED_SLICE_MAX_RANK:
        raise _fail(op, f"input of rank {rank}; TFLM slices up to "
                        f"{STRIDED_SLICE_MAX_RANK}-D tensors")
    begin, end, strides = (_int32_constant(graph, op, k, what)
                           for k, what in ((1, "begin"), (2, "end"), (3, "strides")))
    for values, what in ((begin, "begin"), (end, "end"), (strides, "strides")):
        if values.size < rank:
            raise _fail(op, f"{what} has {values.size} values for a rank-{rank} input")
    masks = {k: int(option(op, k)) for k in _MASKS}
    # TFLM's micro kernel builds its parameters with ellipsis_mask and new_axis_mask zeroed
    # and never copies `offset`: a model setting them runs as if they were 0 (checked
    # against the interpreter in tests/test_ops_movement.py), and so it does here.
    if (strides[:rank] == 0).any():
        raise _fail(op, f"strides {strides[:rank].tolist()} contain 0")
    shape, axes = [], []
    for d in range(rank):
        bit = 1 << d
        b, e, s = int(begin[d]), int(end[d]), int(strides[d])
        axis = _slice_axis(x.shape[d], b, e, s, bit, masks)
        axes.append(axis)
        if not masks["shrink_axis_mask"] & bit:  # Prepare's extent: ceil((stop-start)/stride)
            shape.append(len(range(axis.start, axis.stop, axis.stride)))
    if tuple(shape) != y.shape:
        raise _fail(op, f"output {y.shape} is not the sliced shape {tuple(shape)}")
    counts = tuple(len(range(a.start, a.stop, a.stride)) for a in axes)
    # a shrunk axis whose begin lies past its end: Prepare counts 1 value, Eval reads none
    if math.prod(counts) != y.size:
        raise _fail(op, f"the slice reads {math.prod(counts)} values; output "
                        f"{y.shape} holds {y.size}")
    strides_in = element_strides(x.shape)
    start = sum(a.start * s for a, s in zip(axes, strides_in)) if math.prod(counts) else 0
    return StridedWalk(start, counts, tuple(a.stride * s for a, s in zip(axes, strides_in)),
                       y.shape, x.dtype.itemsize)


# --- SPLIT, SPLIT_V, UNPACK: several outputs ----------------------------------------------

@dataclass(frozen=True)
class SplitParams:
    axis: int  # input axis, non-negative
    sizes: tuple[int, ...]  # per output, along the axis
    output_shapes: tuple[tuple[int, ...], ...]


def _split_outputs(graph: Graph, op: Operator, x: Tensor, axis: int) -> SplitParams:
    outputs = [graph.tensor(i) for i in op.outputs]
    sizes = []
    for t in outputs:
        other = tuple(d for k, d in enumerate(t.shape) if k != axis)
        expected = tuple(d for k, d in enumerate(x.shape) if k != axis)
        if len(t.shape) != len(x.shape) or other != expected:
            raise _fail(op, f"output {t.name!r} {t.shape} does not fit input {x.shape} "
                            f"split on axis {axis}")
        sizes.append(t.shape[axis])
    if sum(sizes) != x.shape[axis]:
        raise _fail(op, f"outputs add up to {sum(sizes)} on axis {axis}; input has "
                        f"{x.shape[axis]}")
    return SplitParams(axis, tuple(sizes), tuple(t.shape for t in outputs))


def _split_axis(graph: Graph, op: Operator, position: int, x: Tensor) -> int:
    axis = _int32_constant(graph, op, position, "axis")
    if axis.size != 1:
        raise _fail(op, f"axis must hold one value, got {axis.tolist()}")
    return _axis(op, int(axis[0]), len(x.shape))


def prepare_split(graph: Graph, op: Operator) -> SplitParams:
    x = graph.tensor(op.inputs[1])
    _same_type(graph, op, op.inputs[1:2], (np.int8, np.int16))
    p = _split_outputs(graph, op, x, _split_axis(graph, op, 0, x))
    if len(set(p.sizes)) != 1:  # TFLM's SPLIT copies every output with output 0's size
        raise _fail(op, f"SPLIT outputs must be equal along the axis, got {list(p.sizes)}")
    return p


def prepare_split_v(graph: Graph, op: Operator) -> SplitParams:
    x = graph.tensor(op.inputs[0])
    _same_type(graph, op, op.inputs[:1], (np.int8, np.int16))
    # TFLM takes each part's size from its output tensor; size_splits is not read
    return _split_outputs(graph, op, x, _split_axis(graph, op, 2, x))


def split(p: SplitParams, inputs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    x = inputs[0]
    edges = np.cumsum(p.sizes)[:-1]
    return tuple(np.ascontiguousarray(part) for part in np.split(x, edges, axis=p.axis + 1))


@dataclass(frozen=True)
class PackParams:
    axis: int  # the new axis, in output coordinates


def prepare_pack(graph: Graph, op: Operator) -> PackParams:
    # TFLM's PACK takes float32, int8, int32 and int64: no int16
    _same_type(graph, op, list(op.inputs), (np.int8,))
    y = graph.tensor(op.outputs[0])
    count = int(option(op, "values_count"))
    if count != len(op.inputs):
        raise _fail(op, f"values_count {count} but {len(op.inputs)} inputs")
    axis = _axis(op, int(option(op, "axis")), len(y.shape))
    first = graph.tensor(op.inputs[0]).shape
    for i in op.inputs:
        if graph.tensor(i).shape != first:
            raise _fail(op, f"inputs differ in shape: {first} and {graph.tensor(i).shape}")
    expected = first[:axis] + (count,) + first[axis:]
    if expected != y.shape:
        raise _fail(op, f"output {y.shape} is not {expected}")
    return PackParams(axis)


def pack(p: PackParams, inputs: list[np.ndarray]) -> np.ndarray:
    batch = max(x.shape[0] for x in inputs)
    parts = [np.broadcast_to(x, (batch,) + x.shape[1:]) for x in inputs]
    return np.stack(parts, axis=p.axis + 1)


def prepare_unpack(graph: Graph, op: Operator) -> SplitParams:
    x = graph.tensor(op.inputs[0])
    _same_type(graph, op, op.inputs[:1], (np.int8, np.int16))
    count = int(option(op, "num"))
    if count != len(op.outputs):
        raise _fail(op, f"num {count} but {len(op.outputs)} outputs")
    axis = _axis(op, int(option(op, "axis")), len(x.shape))
    expected = x.shape[:axis] + x.shape[axis + 1:]
    if x.shape[axis] != count:
        raise _fail(op, f"input {x.shape} has {x.shape[axis]} values on axis {axis}, not {count}")
    for i in op.outputs:
        if graph.tensor(i).shape != expected:
            raise _fail(op, f"output {graph.tensor(i).shape} is not {expected}")
    return SplitParams(axis, (1,) * count, (expected,) * count)


def unpack(p: SplitParams, inputs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    x = inputs[0]
    return tuple(np.ascontiguousarray(np.take(x, k, axis=p.axis + 1)) for k in range(len(p.sizes)))


# --- SQUEEZE --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SqueezeParams:
    output_shape: tuple[int, ...]


def prepare_squeeze(graph: Graph, op: Operator) -> SqueezeParams:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _same_type(graph, op, op.inputs[:1], (np.int8, np.int16))
    rank = len(x.shape)
    if rank > 8:
        raise _fail(op, f"input of rank {rank}; TFLM squeezes up to 8-D tensors")
    dims = list(op.options.get("squeeze_dims", []))
    if dims:
        squeeze = set()
        for d in dims:
            k = int(d) + rank if int(d) < 0 else int(d)
            if not 0 <= k < rank or x.shape[k] != 1:
                raise _fail(op, f"squeeze_dims {dims} names axis {d}, which is not 1 in "
                                f"{x.shape}")
            squeeze.add(k)
    else:
        squeeze = {k for k, d in enumerate(x.shape) if d == 1}
    expected = tuple(d for k, d in enumerate(x.shape) if k not in squeeze)
    if expected != y.shape:
        raise _fail(op, f"output {y.shape} is not the squeezed shape {expected}")
    return SqueezeParams(y.shape)


def squeeze(p: SqueezeParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    return x.reshape((x.shape[0],) + p.output_shape)


# --- GATHER ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GatherParams:
    axis: int
    batch_dims: int
    batch: int  # product of the input's first batch_dims dims
    outer: int  # product of input dims batch_dims..axis
    axis_size: int
    inner: int  # product of input dims after the axis
    coords: int  # product of the positions' dims after batch_dims
    output_shape: tuple[int, ...]
    positions: np.ndarray | None  # int32, when constant (checked in range)


def prepare_gather(graph: Graph, op: Operator) -> GatherParams:
    x, idx, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    _same_type(graph, op, op.inputs[:1], (np.int8,))  # TFLM: float32 and int8 only
    if idx.dtype != np.int32:
        raise _fail(op, f"positions {idx.name!r} are {idx.dtype.name}; TFLM takes int32")
    rank, idx_rank = len(x.shape), len(idx.shape)
    axis = _axis(op, int(option(op, "axis")), rank)
    batch_dims = int(option(op, "batch_dims"))
    batch_dims = batch_dims + idx_rank if batch_dims < 0 else batch_dims
    if not (batch_dims <= axis and 0 <= batch_dims < rank and batch_dims <= idx_rank):
        raise _fail(op, f"batch_dims {option(op, 'batch_dims')} does not fit axis {axis}, "
                        f"input rank {rank} and positions rank {idx_rank}")
    if x.shape[:batch_dims] != idx.shape[:batch_dims]:
        raise _fail(op, f"batch dims of input {x.shape} and positions {idx.shape} differ")
    expected = x.shape[:axis] + idx.shape[batch_dims:] + x.shape[axis + 1:]
    if expected != y.shape:
        raise _fail(op, f"output {y.shape} is not the gathered shape {expected}")
    positions = None
    if idx.data is not None:
        positions = idx.data.astype(np.int32)
        bad = (positions < 0) | (positions >= x.shape[axis])
        if bad.any():  # TFLM's Eval fails on these; a constant one fails every inference
            raise _fail(op, f"position {int(positions[bad][0])} is outside 0..{x.shape[axis] - 1}")
    return GatherParams(axis, batch_dims, math.prod(x.shape[:batch_dims]),
                        math.prod(x.shape[batch_dims:axis]), x.shape[axis],
                        math.prod(x.shape[axis + 1:]), math.prod(idx.shape[batch_dims:]),
                        y.shape, positions)


def gather(p: GatherParams, inputs: list[np.ndarray]) -> np.ndarray:
    x, positions = inputs
    n = max(x.shape[0], positions.shape[0])
    src = np.broadcast_to(x, (n,) + x.shape[1:]).reshape(n, p.batch, p.outer, p.axis_size,
                                                         p.inner)
    coords = np.broadcast_to(positions, (n,) + positions.shape[1:]).reshape(n, p.batch,
                                                                           p.coords)
    if ((coords < 0) | (coords >= p.axis_size)).any():
        raise ModelError(f"GATHER: a position is outside 0..{p.axis_size - 1} (TFLM's Eval "
                         f"fails)")
    index = coords.astype(np.int64)[:, :, None, :, None]
    picked = np.take_along_axis(src, np.broadcast_to(
        index, (n, p.batch, p.outer, p.coords, p.inner)), axis=3)
    return picked.reshape((n,) + p.output_shape)
