"""Where an op's output may overlap the input it consumes, from each kernel's access order.

Every firmware kernel of hilbench (all variants: ref, dsp, mve) walks its output forward in
memory order. A kernel is declared here by two maps over its steps (an output pixel, an
element, a patch):

- `last_read[i]`: the last step that reads input byte i;
- `written[j]`: the step that writes output byte j;

and whether, within one step, every read precedes every write (`reads_first`: true for an
element-wise loop and for a patch, whose input is copied out before the patch runs; false
for a convolution pixel, whose channels are read and written interleaved).

If the output starts `d` bytes above the input (d may be negative), output byte j lands on
input byte j + d. That is safe when every input byte it lands on is never read after: for
all j, last_read[j + d] < written[j] (<= with reads_first). The planner wants one number per
(op, input): the largest d such that every smaller d is safe too (`limit`), computed with
the prefix maximum of `last_read`, so the answer is exact for the "every smaller d" form.

Kernels not declared here (FULLY_CONNECTED, SOFTMAX, MEAN, PAD, CONCATENATION, broadcast
operands) never overlap anything: the planner keeps them apart as before. Nor do ops
with several outputs (SPLIT, UNPACK): each output is planned as a tensor of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hilbench.model.graph import Graph, Operator

# Pixels a convolution kernel may write ahead of the pixel whose reads are complete: the
# dsp and mve kernels compute output pixels in pairs (im2col of two pixels, then both
# written channel by channel), so a write may precede the reads of the next pixel.
CONV_PIXELS_AHEAD = 1

# Element-wise kernels: each element (or vector of them) is read before it is written and
# the walk is forward, so the output may start at or below the input.
ELEMENTWISE = frozenset({"RELU", "RELU6", "LOGISTIC", "TANH", "HARD_SWISH", "QUANTIZE",
                         "DEQUANTIZE", "ADD", "MUL"})
WINDOWED = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"})
# Ops whose kernel is hb_copy_s8 (a memmove of the same bytes): any overlap is safe.
VIEWS = frozenset({"RESHAPE", "SQUEEZE"})


@dataclass(frozen=True)
class AccessOrder:
    last_read: np.ndarray  # int64 per input byte
    written: np.ndarray  # int64 per output byte
    reads_first: bool


@dataclass(frozen=True)
class Overlap:
    """op may write `output` while consuming `input` when offset(output) - offset(input)
    <= limit (a limit of -size(output) or less would be no overlap at all)."""

    op: int
    output: int
    input: int
    limit: int


def overlap_limit(order: AccessOrder) -> int:
    """The largest d (output offset minus input offset) with every d' <= d safe."""
    prefix = np.maximum.accumulate(order.last_read)
    side = "right" if order.reads_first else "left"
    # pos[j]: how many leading input bytes the write of output byte j may land on
    pos = np.searchsorted(prefix, order.written, side=side)
    bound = pos < prefix.size  # bytes whose landing would be limited at all
    if not bound.any():
        return int(prefix.size)  # the output may sit anywhere over the input
    j = np.nonzero(bound)[0]
    return int((pos[bound] - 1 - j).min())


def window_order(in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                 kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int], pad: tuple[int, int],
                 pixels_ahead: int = CONV_PIXELS_AHEAD) -> AccessOrder:
    """A windowed kernel (conv, depthwise, pool) walking output pixels in NHWC order."""
    _, in_h, in_w, in_c = (1,) * (4 - len(in_shape)) + tuple(in_shape)
    n, out_h, out_w, out_c = (1,) * (4 - len(out_shape)) + tuple(out_shape)
    last = np.full((n, in_h, in_w), -1, np.int64)
    pixel = np.arange(n * out_h * out_w, dtype=np.int64).reshape(n, out_h, out_w)
    oy = np.arange(out_h) * stride[0] - pad[0]
    ox = np.arange(out_w) * stride[1] - pad[1]
    for ky in range(kernel[0]):
        rows = oy + ky * dilation[0]
        keep_y = (rows >= 0) & (rows < in_h)
        for kx in range(kernel[1]):
            cols = ox + kx * dilation[1]
            keep_x = (cols >= 0) & (cols < in_w)
            if not keep_y.any() or not keep_x.any():
                continue
            sub = pixel[:, keep_y][:, :, keep_x]
            target = last[:, rows[keep_y]][:, :, cols[keep_x]]
            last[:, rows[keep_y][:, None], cols[keep_x][None, :]] = np.maximum(target, sub)
    last_read = np.repeat(last.reshape(-1), in_c)
    written = np.repeat(pixel.reshape(-1), out_c) - pixels_ahead
    return AccessOrder(last_read, written, reads_first=False)


def elementwise_order(count: int, in_item: int, out_item: int) -> AccessOrder:
    return AccessOrder(np.repeat(np.arange(count, dtype=np.int64), in_item),
                       np.repeat(np.arange(count, dtype=np.int64), out_item), reads_first=True)


def _window_params(op: Operator, p: Any) -> tuple[tuple[int, int], tuple[int, int],
                                                 tuple[int, int], tuple[int, int]]:
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return tuple(p.filter.shape[1:3]), p.stride, p.dilation, p.pad  # type: ignore
    return p.filter, p.stride, (1, 1), p.pad


def access_order(graph: Graph, op: Operator, p: Any, position: int) -> AccessOrder | None:
    """The access order of op's kernel over its data input at `position`, or None when the
    kernel is not declared overlap-safe for it."""
    x = graph.tensor(op.inputs[position])
    y = graph.tensor(op.outputs[0])
    if op.opcode in WINDOWED and position == 0:
        kernel, stride, dilation, pad = _window_params(op, p)
        # in bytes: a channel of an int16 tensor is two
        in_shape = tuple(x.shape[:-1]) + (x.shape[-1] * x.dtype.itemsize,)
        out_shape = tuple(y.shape[:-1]) + (y.shape[-1] * y.dtype.itemsize,)
        return window_order(in_shape, out_shape, kernel, stride, dilation, pad)
    if op.opcode in ELEMENTWISE and x.size == y.size and tuple(x.shape) == tuple(y.shape):
        return elementwise_order(y.size, x.dtype.itemsize, y.dtype.itemsize)
    if op.opcode in VIEWS and position == 0:
        # hb_copy_s8 is a memmove: any overlap is safe, equal offsets make it a view
        return AccessOrder(np.full(x.nbytes, -1, np.int64), np.zeros(y.nbytes, np.int64), True)
    return None


def op_overlaps(graph: Graph, prepared: list[Any], last_use: dict[int, int]) -> list[Overlap]:
    """Every (op, consumed input) pair whose kernel allows some overlap. `last_use`: tensor
    -> last op index that reads it (graph outputs: past the last op), so an input read
    again later is never overwritten."""
    found = []
    for item in prepared:
        op, p = item.op, item.params
        data = [k for k, t in enumerate(op.inputs)
                if t >= 0 and not graph.tensor(t).is_constant]
        for k in data:
            t = op.inputs[k]
            if last_use.get(t) != op.index or op.inputs.count(t) > 1:
                continue
            order = access_order(graph, op, p, k)
            if order is None:
                continue
            limit = overlap_limit(order)
            if limit > -graph.tensor(op.outputs[0]).nbytes:
                found.append(Overlap(op.index, op.outputs[0], t, limit))
    return found
