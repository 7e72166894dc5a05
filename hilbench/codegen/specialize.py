"""Per-layer kernel choice at code-generation time: by shape, then by kernel variant.

A kernel variant replaces reference kernels file by file (same entry points), and may add
specialized entry points with their own parameter structs (`hb_conv2d_s8_dsp`, ...).
`VARIANT_KERNELS` says which specialized entry points each variant provides; the code
generator calls one only when the board's variant has it and `choose()` finds the layer
fits it and is large enough to pay for the kernel's code (`MIN_MACS`), and keeps the
generic `hb_<op>_s8` otherwise, so `ref` is always the fallback. tests/test_dsp_kernels.py
checks the table against the variant's sources.

Everything the chip need not compute is done here: weights reordered or interleaved for
the SIMD loop, `input_offset * sum(w)` folded into the bias, the per-channel requantization
laid out as {multiplier, right shift - 1} pairs, and the scratch size for the memory plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hilbench.codegen.memory_plan import lifetimes, lower_bound
from hilbench.model.graph import Graph, Operator
from hilbench.model.stats import op_macs
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier

# The specialized entry points each kernel variant provides (in firmware/kernels/<variant>/).
VARIANT_KERNELS: dict[str, frozenset[str]] = {
    "dsp": frozenset({"hb_conv2d_s8_dsp", "hb_conv2d_s8_dsp_full",
                      "hb_conv2d_s8_dsp_1col", "hb_conv2d_s8_dsp_1col_full",
                      "hb_depthwise_conv2d_3x3_s8_dsp", "hb_depthwise_conv2d_3x3_s8_dsp_full",
                      "hb_fully_connected_s8_dsp", "hb_fully_connected_s8_dsp_full",
                      "hb_add_s8_dsp"}),
    "mve": frozenset({"hb_conv2d_s8_mve", "hb_conv2d_1x1_s8_mve",
                      "hb_depthwise_conv2d_3x3_s8_mve", "hb_fully_connected_s8_mve",
                      "hb_add_s8_mve"}),
}

# A layer with less work than this (MACs; output elements for ADD) keeps the generic kernel.
# Why: each specialized entry point a model calls links code of its own, 0.6 to 2 KB (the
# dsp FULLY_CONNECTED: 1.2 KB, beside the generic kernel's 0.3 KB), while a layer this small
# runs in a few thousand instructions with the generic kernel (8 to 30 per MAC). For a model
# made of such layers, TFLM's hello_world (16, 256 and 16 MACs), the dsp kernels cost 24 %
# more flash and 5 % more RAM (a deeper stack) to save 2,600 instructions, 0.1 ms at 25 MHz.
# Every layer of the MLPerf Tiny models has at least 512 MACs (VWW's classifier has 512).
# Tests of the kernels on small shapes set it to 0.
MIN_MACS = 512

# The dsp CONV_2D runs one pixel per pass (half the scratch) where its two im2col columns
# would lift the layer-by-layer peak by more than this share of it (`_lifts_peak` says why).
# Tests set it to 0.0 (one column wherever the columns lift the peak at all) or inf (never).
ONE_COLUMN_LIFT = 1 / 32

_FC_CHUNK = 512  # values per call of the dsp FULLY_CONNECTED assembly (fully_connected_dsp.c)
_ACC_LIMIT = 1 << 30  # |accumulator| below this keeps SMMULR(2 * acc, m) exact


@dataclass
class Specialized:
    """A layer bound to a specialized kernel: the function, its parameter struct with the
    values to emit (arrays given as numpy arrays, emitted by the code generator), and the
    scratch bytes it needs for the duration of the op."""

    function: str
    struct: str
    fields: dict[str, Any]
    arrays: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # field: (c type, values)
    scratch_bytes: int = 0


def kernels_of(variant: str) -> frozenset[str]:
    return VARIANT_KERNELS.get(variant, frozenset())


def _entry(base: str, p: Any, available: frozenset[str]) -> str:
    """base, or its _full twin (the clamp is the whole int8 range) when the variant has it."""
    full = f"{base}_full"
    return full if (p.act_min, p.act_max) == (-128, 127) and full in available else base


def requant_layout(weights: np.ndarray, folded: np.ndarray, multiplier: np.ndarray,
                   shift: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(requant pairs {multiplier, right shift - 1}, folded bias) per row of `weights`, or
    None when the dsp requantization could not be exact for some channel.

    It is exact for a right shift of 1..31, a multiplier >= 0 and |accumulator| < 2^30.
    Two kinds of channel that models contain (dead channels, e.g. in VWW) are rewritten:
    a channel whose weights are all zero outputs a constant r = mbqm(bias) whatever the
    input, and so does the pair {2^30, 0} with bias 4r; a zero multiplier gives 0 with the
    pair {0, 0} whatever the accumulator."""
    rows = weights.reshape(weights.shape[0], -1).astype(np.int64)
    channels = rows.shape[0]
    m = np.broadcast_to(np.asarray(multiplier, np.int64), (channels,)).copy()
    s = np.broadcast_to(np.asarray(shift, np.int64), (channels,)).copy()
    folded = folded.astype(np.int64).copy()
    if (np.abs(folded) >= 2**31).any() or (m < 0).any():
        return None
    constant = ~rows.any(axis=1)
    if constant.any():
        r = multiply_by_quantized_multiplier(folded[constant], m[constant], s[constant])
        folded[constant] = 4 * r
        m[constant], s[constant] = 1 << 30, -1
    dead = m == 0
    s[dead] = -1
    bound = np.abs(folded) + 128 * np.abs(rows).sum(axis=1)
    if (s > -1).any() or (s < -31).any() or (bound[~dead] >= _ACC_LIMIT).any():
        return None
    return np.stack([m, -s - 1], axis=1).astype(np.int32), folded.astype(np.int32)


def _round_up(value: int, step: int) -> int:
    return (value + step - 1) // step * step


def _folded(weights: np.ndarray, bias: np.ndarray | None, input_offset: int) -> np.ndarray:
    """bias + input_offset * sum of each row's weights (rows: output channels), int64."""
    rows = weights.reshape(weights.shape[0], -1).astype(np.int64)
    base = np.zeros(rows.shape[0], np.int64) if bias is None else bias.astype(np.int64)
    return base + input_offset * rows.sum(axis=1)


def choose(graph: Graph, op: Operator, p: Any, variant: str) -> Specialized | None:
    available = kernels_of(variant)
    if not available or _work(graph, op) < MIN_MACS:
        return None
    if graph.tensor(op.outputs[0]).dtype != np.int8:  # int16x8 layers: only the _s16 kernels
        return None
    chooser = _VARIANT_CHOOSERS.get(variant, _CHOOSERS).get(op.opcode)
    return chooser(graph, op, p, available) if chooser else None


def _work(graph: Graph, op: Operator) -> int:
    """MACs, or for an op without any (ADD) its output elements."""
    return op_macs(graph, op) or graph.tensor(op.outputs[0]).size


def _conv(graph: Graph, op: Operator, p: Any, available: frozenset[str]) -> Specialized | None:
    if "hb_conv2d_s8_dsp" not in available:
        return None
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    out_c, k_h, k_w, in_c = p.filter.shape
    if len(x.shape) != 4 or x.shape[3] != in_c:
        return None
    depth = k_h * k_w * in_c
    length = _round_up(depth, 8)  # the matrix loop takes two groups of 4 per pass
    rows = _round_up(out_c, 2)
    weights = np.zeros((rows, length), np.int8)
    weights[:out_c, :depth] = p.filter.reshape(out_c, depth)
    folded = _folded(weights, p.bias if p.bias is None else
                     np.concatenate([p.bias, np.zeros(rows - out_c, p.bias.dtype)]),
                     p.input_offset)
    multiplier = np.broadcast_to(np.asarray(p.multiplier), (out_c,))
    shift = np.broadcast_to(np.asarray(p.shift), (out_c,))
    multiplier = np.concatenate([multiplier, multiplier[:rows - out_c]])
    shift = np.concatenate([shift, shift[:rows - out_c]])
    layout = requant_layout(weights, folded, multiplier, shift)
    if layout is None:
        return None
    requant, folded = layout
    # pairs of rows interleaved by groups of four values: row 2q, then row 2q + 1
    pairs = weights.reshape(rows // 2, 2, length // 4, 4).transpose(0, 2, 1, 3)
    columns = 1 if _lifts_peak(graph, op, 4 * length) else 2
    base = "hb_conv2d_s8_dsp" if columns == 2 else "hb_conv2d_s8_dsp_1col"
    return Specialized(_entry(base, p, available), "hb_conv_dsp_params", {
        "input": x.shape, "output": y.shape, "kernel_h": k_h, "kernel_w": k_w,
        "stride_h": p.stride[0], "stride_w": p.stride[1],
        "dilation_h": p.dilation[0], "dilation_w": p.dilation[1],
        "pad_h": p.pad[0], "pad_w": p.pad[1], "row_length": length,
        "pad_value": -p.input_offset, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max},
        {"weights": ("int8_t", np.ascontiguousarray(pairs)),
         "folded_bias": ("int32_t", folded.astype(np.int32)),
         "requant": ("int32_t", requant)},
        scratch_bytes=(2 * columns + (k_w * in_c % 4 != 0)) * length)  # columns, staging row


def _lifts_peak(graph: Graph, op: Operator, scratch: int) -> bool:
    """Whether `scratch` bytes beside the tensors live at op would exceed the layer-by-layer
    bound (the largest live bytes at any op) by more than ONE_COLUMN_LIFT (1/32) of it.

    Why the dsp CONV_2D asks: it takes two output pixels per pass from two int16 im2col
    columns (4 * row_length bytes, live at its op only). Where they would lift the model's
    peak by over 3 %, the one-column kernel (hb_conv2d_s8_dsp_1col: half the scratch, ~1.3x
    the instructions of the product) runs instead, since a variant may exceed its ref build's
    total RAM by 5 % at most (issue F) and the stack and statics need the rest: micro_speech's
    10x8 one-channel conv is its peak (5,960 B live) and its 320 B of columns cost it 5.3 %.
    Less than that keeps the faster kernel: KWS's 1x1 convs are its peak (16,000 B) but their
    256 B are 1.6 %, and its first conv's 160 B sit far below it (8,490 B live)."""
    buffers = lifetimes(graph)
    live = sum(b.size for b in buffers if b.first <= op.index <= b.last)
    bound = lower_bound(buffers, len(graph.operators))
    return live + scratch > bound * (1 + ONE_COLUMN_LIFT)


def _depthwise(graph: Graph, op: Operator, p: Any,
               available: frozenset[str]) -> Specialized | None:
    if "hb_depthwise_conv2d_3x3_s8_dsp" not in available:
        return None
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _, k_h, k_w, channels = p.filter.shape
    if len(x.shape) == 4 and x.shape[3] == 1:
        # one input channel: a CONV_2D with the depth multiplier as output channels
        return _conv(graph, op, replace(p, filter=p.filter.transpose(3, 1, 2, 0),
                                        depth_multiplier=1), available)
    if (k_h, k_w) != (3, 3) or p.depth_multiplier != 1 or tuple(p.dilation) != (1, 1) \
            or channels % 4 or len(x.shape) != 4 or x.shape[3] != channels:
        return None
    taps = p.filter.reshape(9, channels)  # (tap, channel)
    per_channel = taps.T  # (channel, tap)
    folded = _folded(per_channel, p.bias, p.input_offset)
    layout = requant_layout(per_channel, folded, p.multiplier, p.shift)
    if layout is None:
        return None
    requant, folded = layout
    # per group of 4 channels: 9 taps x 4 channels
    weights = taps.reshape(9, channels // 4, 4).transpose(1, 0, 2)
    return Specialized(_entry("hb_depthwise_conv2d_3x3_s8_dsp", p, available),
                       "hb_dw3x3_dsp_params", _dw3x3_fields(x, y, p),
        {"weights": ("int8_t", np.ascontiguousarray(weights)),
         "folded_bias": ("int32_t", folded.astype(np.int32)), "requant": ("int32_t", requant)},
        scratch_bytes=_round_up(channels, 4))


def _dw3x3_fields(x: Any, y: Any, p: Any) -> dict[str, Any]:
    """The scalar fields every variant's 3x3 depthwise parameters share: the geometry, the
    pad value (the input zero point) and the output quantization."""
    return {"input": x.shape, "output": y.shape, "stride_h": p.stride[0],
            "stride_w": p.stride[1], "pad_h": p.pad[0], "pad_w": p.pad[1],
            "pad_value": -p.input_offset, "output_offset": p.output_offset,
            "act_min": p.act_min, "act_max": p.act_max}


def _fully_connected(graph: Graph, op: Operator, p: Any,
                     available: frozenset[str]) -> Specialized | None:
    if "hb_fully_connected_s8_dsp" not in available or p.weights_offset != 0:
        return None
    units, depth = p.weights.shape
    rows = graph.tensor(op.inputs[0]).size // depth
    padded = _round_up(units, 4)
    w = np.zeros((padded, depth), np.int8)
    w[:units] = p.weights
    bias = None if p.bias is None else np.concatenate(
        [p.bias, np.zeros(padded - units, p.bias.dtype)])
    folded = _folded(w, bias, p.input_offset)
    multiplier = np.broadcast_to(np.asarray(p.multiplier), (units,))
    shift = np.broadcast_to(np.asarray(p.shift), (units,))
    multiplier = np.concatenate([multiplier, np.repeat(multiplier[:1], padded - units)])
    shift = np.concatenate([shift, np.repeat(shift[:1], padded - units)])
    requant_folded = requant_layout(w, folded, multiplier, shift)
    if requant_folded is None:
        return None
    requant, folded = requant_folded
    groups = w.reshape(padded // 4, 4, depth).astype(np.int64)  # (group, unit, depth)
    # The assembly body (depth rounded down to 16) packs the odd unit of each pair over the
    # even one: a halfword 256 * odd + even (the odd byte borrowing when the even one is
    # negative), so one SMLAD accumulates 256 * odd + even and a second one, of the SXTB16
    # of the same word, the even unit alone; the odd unit's sum is their difference / 256,
    # exact while below 2^23 in magnitude: the kernel takes the body 512 values at a time
    # (FC_CHUNK), so weights of -127..127 always do. A halfword of -128 over a negative
    # weight cannot be written.
    body = depth // 16 * 16
    even, odd = groups[:, 0::2, :body], groups[:, 1::2, :body]
    chunks = [np.abs(odd[:, :, i:i + _FC_CHUNK]).sum(axis=2) for i in range(0, body, _FC_CHUNK)]
    if ((odd == -128) & (even < 0)).any() or any((128 * c >= 1 << 23).any() for c in chunks):
        return None
    high = odd - (even < 0)
    # (group, pair, block of 4 values, value in the block) -> words {x0 x2} then {x1 x3}
    lo = even.reshape(padded // 4, 2, body // 4, 4)[..., [0, 2, 1, 3]]
    hi = high.reshape(padded // 4, 2, body // 4, 4)[..., [0, 2, 1, 3]]
    packed = np.stack([lo, hi], axis=-1).reshape(padded // 4, 2, body // 4, 2, 4)
    packed = packed.transpose(0, 2, 1, 3, 4)  # (group, block, pair, word, bytes)
    rest = depth - body
    quads = rest // 4 * 4
    blocks = groups[:, :, body:body + quads].reshape(padded // 4, 4, rest // 4, 4)
    blocks = blocks.transpose(0, 2, 1, 3)  # (group, block, unit, value)
    tail = groups[:, :, body + quads:].transpose(0, 2, 1)  # (group, remaining depth, unit)
    layout = np.concatenate([packed.reshape(padded // 4, -1), blocks.reshape(padded // 4, -1),
                             tail.reshape(padded // 4, -1)], axis=1).astype(np.int8)
    return Specialized(_entry("hb_fully_connected_s8_dsp", p, available), "hb_fc_dsp_params", {
        "rows": rows, "depth": depth, "units": units, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max},
        {"weights": ("int8_t", layout), "folded_bias": ("int32_t", folded.astype(np.int32)),
         "requant": ("int32_t", requant)})


def _add(graph: Graph, op: Operator, p: Any, available: frozenset[str]) -> Specialized | None:
    if "hb_add_s8_dsp" not in available:
        return None
    a, b, y = (graph.tensor(i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if a.is_constant or b.is_constant or not a.shape == b.shape == y.shape:
        return None  # broadcasting and constant operands keep the generic kernel
    shifts = (p.input1_shift, p.input2_shift, p.output_shift)
    multipliers = (p.input1_multiplier, p.input2_multiplier, p.output_multiplier)
    if any(not -31 <= int(s) <= 0 for s in shifts) or any(int(m) < 0 for m in multipliers):
        return None
    largest = 255 << int(p.left_shift)  # |(x + offset) << left_shift|, x and offset int8
    scaled = [int(multiply_by_quantized_multiplier(largest, m, s))
              for m, s in zip(multipliers[:2], shifts[:2])]
    if largest >= _ACC_LIMIT or sum(abs(v) for v in scaled) + 2 >= _ACC_LIMIT:
        return None
    return Specialized("hb_add_s8_dsp", "hb_add_dsp_params", {
        "size": y.size, "a_offset": p.input1_offset, "b_offset": p.input2_offset,
        "left_shift": p.left_shift, "a_multiplier": p.input1_multiplier,
        "a_shift": -int(p.input1_shift), "b_multiplier": p.input2_multiplier,
        "b_shift": -int(p.input2_shift), "output_multiplier": p.output_multiplier,
        "output_shift": -int(p.output_shift), "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max})


_CHOOSERS = {"CONV_2D": _conv, "DEPTHWISE_CONV_2D": _depthwise,
             "FULLY_CONNECTED": _fully_connected, "ADD": _add}


# --- mve (Cortex-M55, Helium): firmware/kernels/mve/ ----------------------------------------
# Channels by groups of four: weights interleaved by blocks of 16 values, folded bias and the
# {4 multipliers, 4 shifts} requantization per group (see mve_common.h). Its requantization
# (VQRDMULH, then VRSHL with a fixup) is exact for every accumulator when the multiplier is
# >= 0 and the shift -31..0, so only those are checked; the folded bias wraps like TFLM's
# int32 accumulator.

def _wrap32(values: np.ndarray) -> np.ndarray:
    return ((np.asarray(values, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def mve_requant(multiplier: Any, shift: Any, channels: int) -> np.ndarray | None:
    """Per group of four channels the four multipliers, then the four shifts (channels
    rounded up to 4 by repeating the first), or None when the mve kernels cannot be exact."""
    m = np.broadcast_to(np.asarray(multiplier, np.int64), (channels,))
    s = np.broadcast_to(np.asarray(shift, np.int64), (channels,))
    if (m < 0).any() or (s > 0).any() or (s < -31).any():
        return None
    padded = _round_up(channels, 4)
    m = np.concatenate([m, np.repeat(m[:1], padded - channels)])
    s = np.concatenate([s, np.repeat(s[:1], padded - channels)])
    return np.stack([m.reshape(-1, 4), s.reshape(-1, 4)], axis=1).reshape(-1).astype(np.int32)


def mve_interleave(rows: np.ndarray) -> np.ndarray:
    """(channels, depth) int8 as hb_mve_matvec reads it: groups of four rows, by blocks of
    16 values, zero-padded to whole groups and blocks."""
    channels, depth = rows.shape
    padded = np.zeros((_round_up(channels, 4), _round_up(depth, 16)), np.int8)
    padded[:channels, :depth] = rows
    groups, length = padded.shape[0] // 4, padded.shape[1]
    return np.ascontiguousarray(
        padded.reshape(groups, 4, length // 16, 16).transpose(0, 2, 1, 3)).reshape(-1)


def _mve_folded(rows: np.ndarray, bias: np.ndarray | None, input_offset: int) -> np.ndarray:
    folded = _folded(rows, bias, input_offset)
    return _wrap32(np.concatenate([folded, np.zeros(_round_up(len(folded), 4) - len(folded),
                                                    np.int64)]))


def _mve_conv(graph: Graph, op: Operator, p: Any,
              available: frozenset[str]) -> Specialized | None:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    out_c, k_h, k_w, in_c = p.filter.shape
    if len(x.shape) != 4 or x.shape[3] != in_c or y.shape[3] != out_c:
        return None
    requant = mve_requant(p.multiplier, p.shift, out_c)
    if requant is None:
        return None
    depth = k_h * k_w * in_c
    rows = p.filter.reshape(out_c, depth)
    one_by_one = (k_h, k_w) == (1, 1) and tuple(p.pad) == (0, 0)
    function = "hb_conv2d_1x1_s8_mve" if one_by_one else "hb_conv2d_s8_mve"
    if function not in available:
        return None
    return Specialized(function, "hb_conv_mve_params", {
        "input": x.shape, "output": y.shape, "kernel_h": k_h, "kernel_w": k_w,
        "stride_h": p.stride[0], "stride_w": p.stride[1],
        "dilation_h": p.dilation[0], "dilation_w": p.dilation[1],
        "pad_h": p.pad[0], "pad_w": p.pad[1], "depth": depth,
        "pad_value": -p.input_offset, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max},
        {"weights": ("int8_t", mve_interleave(rows)),
         "folded_bias": ("int32_t", _mve_folded(rows, p.bias, p.input_offset)),
         "requant": ("int32_t", requant)},
        scratch_bytes=0 if one_by_one else _round_up(depth, 16))


def _mve_depthwise(graph: Graph, op: Operator, p: Any,
                   available: frozenset[str]) -> Specialized | None:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _, k_h, k_w, channels = p.filter.shape
    if len(x.shape) == 4 and x.shape[3] == 1:
        # one input channel: a CONV_2D with the depth multiplier as output channels
        return _mve_conv(graph, op, replace(p, filter=p.filter.transpose(3, 1, 2, 0),
                                            depth_multiplier=1), available)
    if "hb_depthwise_conv2d_3x3_s8_mve" not in available or (k_h, k_w) != (3, 3) \
            or p.depth_multiplier != 1 or tuple(p.dilation) != (1, 1) \
            or len(x.shape) != 4 or x.shape[3] != channels:
        return None
    if (p.filter == -128).any():
        return None  # two taps' products must add up exactly in int16
    per_channel = p.filter.reshape(9, channels).T  # (channel, tap)
    padded = _round_up(channels, 8)
    # groups of 8 channels; bias and requantization of each group in the order of its
    # accumulators: even channels, then odd channels
    order = np.concatenate([np.arange(g, g + 8)[[0, 2, 4, 6, 1, 3, 5, 7]]
                            for g in range(0, padded, 8)])
    rows = np.zeros((padded, 9), np.int8)
    rows[:channels] = per_channel
    m = np.broadcast_to(np.asarray(p.multiplier, np.int64), (channels,))
    sh = np.broadcast_to(np.asarray(p.shift, np.int64), (channels,))
    m = np.concatenate([m, np.repeat(m[:1], padded - channels)])[order]
    sh = np.concatenate([sh, np.repeat(sh[:1], padded - channels)])[order]
    requant = mve_requant(m, sh, padded)
    if requant is None:
        return None
    bias = None if p.bias is None else np.concatenate(
        [p.bias.astype(np.int64), np.zeros(padded - channels, np.int64)])
    folded = _mve_folded(rows, bias, p.input_offset)[order]
    weights = rows.reshape(padded // 8, 8, 9).transpose(0, 2, 1)  # group, tap, channel
    return Specialized("hb_depthwise_conv2d_3x3_s8_mve", "hb_dw3x3_mve_params",
                       _dw3x3_fields(x, y, p),
        {"weights": ("int8_t", np.ascontiguousarray(weights).reshape(-1)),
         "folded_bias": ("int32_t", folded), "requant": ("int32_t", requant)},
        scratch_bytes=_round_up(channels, 4))


def _mve_fully_connected(graph: Graph, op: Operator, p: Any,
                         available: frozenset[str]) -> Specialized | None:
    if "hb_fully_connected_s8_mve" not in available or p.weights_offset != 0:
        return None
    units, depth = p.weights.shape
    rows = graph.tensor(op.inputs[0]).size // depth
    requant = mve_requant(p.multiplier, p.shift, units)
    if requant is None:
        return None
    return Specialized("hb_fully_connected_s8_mve", "hb_fc_mve_params", {
        "rows": rows, "depth": depth, "units": units, "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max},
        {"weights": ("int8_t", mve_interleave(p.weights)),
         "folded_bias": ("int32_t", _mve_folded(p.weights, p.bias, p.input_offset)),
         "requant": ("int32_t", requant)})


def _mve_add(graph: Graph, op: Operator, p: Any,
             available: frozenset[str]) -> Specialized | None:
    if "hb_add_s8_mve" not in available:
        return None
    a, b, y = (graph.tensor(i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if a.is_constant or b.is_constant or not a.shape == b.shape == y.shape:
        return None  # broadcasting and constant operands keep the generic kernel
    shifts = (p.input1_shift, p.input2_shift, p.output_shift)
    multipliers = (p.input1_multiplier, p.input2_multiplier, p.output_multiplier)
    if any(not -31 <= int(s) <= 0 for s in shifts) or any(int(m) < 0 for m in multipliers) \
            or not 0 <= int(p.left_shift) <= 22:  # 255 << 22 < 2^31
        return None
    return Specialized("hb_add_s8_mve", "hb_add_mve_params", {
        "size": y.size, "a_offset": p.input1_offset, "b_offset": p.input2_offset,
        "left_shift": p.left_shift, "a_multiplier": p.input1_multiplier,
        "a_shift": -int(p.input1_shift), "b_multiplier": p.input2_multiplier,
        "b_shift": -int(p.input2_shift), "output_multiplier": p.output_multiplier,
        "output_shift": -int(p.output_shift), "output_offset": p.output_offset,
        "act_min": p.act_min, "act_max": p.act_max})


_VARIANT_CHOOSERS = {"mve": {"CONV_2D": _mve_conv, "DEPTHWISE_CONV_2D": _mve_depthwise,
                             "FULLY_CONNECTED": _mve_fully_connected, "ADD": _mve_add}}
