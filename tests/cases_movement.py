"""Edge cases of the data-movement operators (TRANSPOSE, STRIDED_SLICE, SPLIT, SPLIT_V, PACK,
UNPACK, SQUEEZE, GATHER) and BATCH_MATMUL, shared by the reference-vs-TFLM tests and the
QEMU tests (tests/test_ops_movement.py).

Every case is a branch: a function that adds ops reading the model input `x` (1, 4, 6, 5)
and returns the tensors it produces. A reference test builds one model per case; a QEMU
test builds one model with every branch of a family side by side (several outputs), so one
firmware covers all the edge cases. Every output of a multi-output op is a model output,
so all of them are compared, not only the op's first."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hilbench.model import Graph
from hilbench.model.builder import GraphBuilder

X_SHAPE = (1, 4, 6, 5)
X_Q = (0.05, -3)

Branch = Callable[[GraphBuilder, int, np.random.Generator], list[int]]


def _t(b: GraphBuilder, name: str, shape, q=X_Q) -> int:
    return b.tensor(name, shape, scale=q[0], zero_point=q[1])


def _reshape(b: GraphBuilder, x: int, shape, name: str) -> int:
    shape_t = b.constant(f"{name}_shape", np.array(shape, np.int32))
    y = _t(b, name, shape)
    b.op("RESHAPE", [x, shape_t], [y])
    return y


def transpose(in_shape, perm) -> Branch:
    def branch(b, x, rng):
        src = _reshape(b, x, in_shape, "tr_in") if tuple(in_shape) != X_SHAPE else x
        perm_t = b.constant("perm", np.array(perm, np.int32))
        y = _t(b, "tr_out", tuple(in_shape[p] for p in perm))
        b.op("TRANSPOSE", [src, perm_t], [y])
        return [y]
    return branch


def strided_slice(in_shape, begin, end, strides, out_shape, **masks) -> Branch:
    def branch(b, x, rng):
        src = _reshape(b, x, in_shape, "ss_in") if tuple(in_shape) != X_SHAPE else x
        consts = [b.constant(n, np.array(v, np.int32))
                  for n, v in (("begin", begin), ("end", end), ("strides", strides))]
        y = _t(b, "ss_out", out_shape, q=(0.07, 11))  # bytes move: the scale is not applied
        options = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                       shrink_axis_mask=0, offset=False)
        options.update(masks)
        b.op("STRIDED_SLICE", [src, *consts], [y], **options)
        return [y]
    return branch


def split(axis, parts, sizes=None) -> Branch:
    """SPLIT into `parts` equal parts, or SPLIT_V with `sizes` (the outputs' extents)."""
    def branch(b, x, rng):
        rank_axis = axis % len(X_SHAPE)
        extents = sizes or [X_SHAPE[rank_axis] // parts] * parts
        outs = []
        for k, n in enumerate(extents):
            shape = list(X_SHAPE)
            shape[rank_axis] = n
            outs.append(_t(b, f"part{k}", shape))
        axis_t = b.constant("axis", np.array([axis], np.int32))
        if sizes is None:
            b.op("SPLIT", [axis_t, x], outs, num_splits=parts)
        else:
            size_t = b.constant("size_splits", np.array(sizes, np.int32))
            b.op("SPLIT_V", [x, size_t, axis_t], outs, num_splits=len(sizes))
        return outs
    return branch


def pack(axis) -> Branch:
    def branch(b, x, rng):
        flat = _reshape(b, x, (24, 5), "pk_in")
        other = b.constant("pk_const", rng.integers(-128, 128, (24, 5), dtype=np.int8),
                           scale=X_Q[0], zero_point=X_Q[1])
        parts = [flat, other, flat]
        shape = [24, 5]
        shape.insert(axis % 3, 3)
        y = _t(b, "pk_out", shape)
        b.op("PACK", parts, [y], values_count=3, axis=axis)
        return [y]
    return branch


def unpack(axis) -> Branch:
    def branch(b, x, rng):
        k = axis % 4
        shape = [d for i, d in enumerate(X_SHAPE) if i != k]
        outs = [_t(b, f"up{i}", shape) for i in range(X_SHAPE[k])]
        b.op("UNPACK", [x], outs, num=X_SHAPE[k], axis=axis)
        return outs
    return branch


def unpack_repack() -> Branch:
    """UNPACK whose outputs are read later, out of order, and two never: each output of a
    multi-output op lives from its op to its last reader (or dies at once)."""
    def branch(b, x, rng):
        parts = unpack(-1)(b, x, rng)  # five (1, 4, 6) tensors
        y = _t(b, "repacked", (3, 1, 4, 6))
        b.op("PACK", [parts[4], parts[0], parts[2]], [y], values_count=3, axis=0)
        return [y]
    return branch


def squeeze(in_shape, dims, out_shape) -> Branch:
    def branch(b, x, rng):
        src = _reshape(b, x, in_shape, "sq_in")
        y = _t(b, "sq_out", out_shape)
        b.op("SQUEEZE", [src], [y], squeeze_dims=list(dims))
        return [y]
    return branch


def gather(in_shape, positions, axis, batch_dims=0) -> Branch:
    def branch(b, x, rng):
        src = _reshape(b, x, in_shape, "ga_in") if tuple(in_shape) != X_SHAPE else x
        idx = np.array(positions, np.int32)
        idx_t = b.constant("positions", idx)
        a = axis % len(in_shape)
        shape = tuple(in_shape[:a]) + idx.shape[batch_dims:] + tuple(in_shape[a + 1:])
        y = _t(b, "ga_out", shape)
        b.op("GATHER", [src, idx_t], [y], axis=axis, batch_dims=batch_dims)
        return [y]
    return branch


def batch_matmul(lhs_shape, rhs_shape, adj_x=False, adj_y=False, rhs_constant=True,
                 rhs_q=(0.02, 0), out_q=(0.4, 6), lhs_q=X_Q) -> Branch:
    """rhs constant (weights), or an activation computed from x (both operands live)."""
    def branch(b, x, rng):
        lhs = _reshape(b, x, lhs_shape, "mm_lhs")
        if lhs_q != X_Q:
            requant = b.tensor("mm_lhs_q", lhs_shape, scale=lhs_q[0], zero_point=lhs_q[1])
            b.op("QUANTIZE", [lhs], [requant])
            lhs = requant
        if rhs_constant:
            rhs = b.constant("mm_rhs", rng.integers(-127, 128, rhs_shape, dtype=np.int8),
                             scale=rhs_q[0], zero_point=rhs_q[1])
        else:  # x's values rearranged and requantized: a second live operand
            moved = _reshape(b, x, rhs_shape, "mm_rhs_moved")
            rhs = b.tensor("mm_rhs", rhs_shape, scale=rhs_q[0], zero_point=rhs_q[1])
            b.op("QUANTIZE", [moved], [rhs])
        a = (1,) * (len(rhs_shape) - len(lhs_shape)) + tuple(lhs_shape)
        c = (1,) * (len(lhs_shape) - len(rhs_shape)) + tuple(rhs_shape)
        batch = tuple(max(p, q) for p, q in zip(a[:-2], c[:-2]))
        rows = a[-1] if adj_x else a[-2]
        cols = c[-2] if adj_y else c[-1]
        y = b.tensor("mm_out", batch + (rows, cols), scale=out_q[0], zero_point=out_q[1])
        b.op("BATCH_MATMUL", [lhs, rhs], [y], adj_x=adj_x, adj_y=adj_y,
             asymmetric_quantize_inputs=False)
        return [y]
    return branch


MOVEMENT_CASES: dict[str, Branch] = {
    "transpose_nchw_to_nhwc": transpose((1, 5, 4, 6), (0, 2, 3, 1)),
    "transpose_rank5": transpose((2, 3, 1, 4, 5), (4, 2, 0, 3, 1)),
    "transpose_rank2": transpose((20, 6), (1, 0)),
    "transpose_identity_rank1": transpose((120,), (0,)),
    "slice_stride2_negative_begin": strided_slice(X_SHAPE, [0, -3, 1, 0], [1, 4, 6, 5],
                                                  [1, 1, 2, 2], (1, 3, 3, 3)),
    "slice_negative_strides": strided_slice(X_SHAPE, [0, 3, 5, 4], [1, 0, -7, 0],
                                            [1, -1, -2, -3], (1, 3, 3, 2)),
    "slice_begin_end_masks_clamped": strided_slice(X_SHAPE, [0, 9, -100, 2], [1, -9, 100, 3],
                                                   [1, 1, 1, 1], (1, 4, 6, 1),
                                                   begin_mask=0b0010, end_mask=0b0010),
    "slice_shrink_axes": strided_slice(X_SHAPE, [0, -1, 2, 1], [1, 0, 3, 5], [1, 1, 1, 2],
                                       (2,), shrink_axis_mask=0b0111),
    "slice_shrink_with_reverse_mask": strided_slice((4, 30), [2, 0], [3, 30], [1, -4], (8,),
                                                    shrink_axis_mask=1, begin_mask=0b10,
                                                    end_mask=0b10),
    "slice_offset_ellipsis_new_axis_ignored_as_tflm": strided_slice(
        X_SHAPE, [0, 0, 0, 1], [1, 1, 2, 2], [1, 1, 1, 1], (1, 1, 2, 1), offset=True,
        ellipsis_mask=0b0100, new_axis_mask=0b0010),
    "split_axis1_in_4": split(1, 4),
    "split_negative_axis": split(-2, 3),
    "split_v_uneven": split(-1, 3, sizes=[1, 3, 1]),
    "split_v_axis0_single": split(0, 1, sizes=[1]),
    "unpack_then_pack_reordered": unpack_repack(),
    "pack_axis0": pack(0),
    "pack_last_axis": pack(-1),
    "unpack_axis1": unpack(1),
    "unpack_last_axis": unpack(-1),
    "squeeze_listed_dims": squeeze((1, 4, 1, 30, 1), (0, -1), (4, 1, 30)),
    "squeeze_all_unit_dims": squeeze((1, 4, 1, 30, 1), (), (4, 30)),
    "gather_axis0_repeats": gather((6, 20), [[5, 0, 5], [1, 1, 2]], 0),
    "gather_inner_axis": gather(X_SHAPE, [4, 0, 2, 2], 3),
    "gather_batch_dims": gather((4, 6, 5), [[0, 5], [1, 1], [4, 2], [3, 3]], 1, batch_dims=1),
}

MATMUL_CASES: dict[str, Branch] = {
    "weights_2d": batch_matmul((4, 30), (30, 7)),
    "weights_adj_y_broadcast": batch_matmul((2, 6, 10), (5, 10), adj_y=True,
                                            rhs_q=(0.03, 0)),
    "activations_adj_x_broadcast": batch_matmul((2, 1, 6, 10), (4, 6, 5), adj_x=True,
                                                rhs_constant=False, rhs_q=(0.06, 9)),
    "activations_rhs_zp_limits": batch_matmul((1, 2, 3, 20), (2, 1, 20, 3), rhs_constant=False,
                                              lhs_q=(0.01, -128), rhs_q=(0.02, 127),
                                              out_q=(0.002, -128)),
    "weights_both_adjoint_4d": batch_matmul((2, 2, 5, 6), (1, 2, 3, 5), adj_x=True, adj_y=True,
                                            out_q=(1.5, 0)),
}


def family_model(cases: dict[str, Branch], seed: int = 7) -> Graph:
    """Every branch of `cases` on one input, each of its outputs a model output."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder()
    x = b.input("x", X_SHAPE, scale=X_Q[0], zero_point=X_Q[1])
    for name in cases:
        b.output(*cases[name](b, x, rng))
    return b.graph()


def case_model(cases: dict[str, Branch], name: str) -> Graph:
    return family_model({name: cases[name]})


def transpose_cnn(seed: int = 11) -> Graph:
    """A small conv net with a TRANSPOSE between layers, as a converted PyTorch model has
    (NCHW activations transposed to NHWC and back): CONV_2D -> TRANSPOSE (NHWC -> NCHW)
    -> TRANSPOSE back -> DEPTHWISE_CONV_2D -> MEAN -> FULLY_CONNECTED -> SOFTMAX."""
    from cases import weights

    rng = np.random.default_rng(seed)
    b = GraphBuilder()
    x = b.input("x", (1, 10, 10, 3), scale=0.02, zero_point=-1)
    w1 = b.constant("w1", weights(rng, (8, 3, 3, 3)), scale=rng.uniform(0.005, 0.02, 8),
                    zero_point=0)
    b1 = b.constant("b1", rng.integers(-400, 400, 8).astype(np.int32),
                    scale=np.float32(0.02) * b.tensors[w1].quantization.scale,
                    zero_point=0)
    c1 = b.tensor("c1", (1, 5, 5, 8), scale=0.05, zero_point=-128)
    b.op("CONV_2D", [x, w1, b1], [c1], padding="SAME", stride_h=2, stride_w=2,
         dilation_h=1, dilation_w=1, activation="RELU")
    nchw = b.tensor("nchw", (1, 8, 5, 5), scale=0.05, zero_point=-128)
    b.op("TRANSPOSE", [c1, b.constant("to_nchw", np.array([0, 3, 1, 2], np.int32))], [nchw])
    nhwc = b.tensor("nhwc", (1, 5, 5, 8), scale=0.05, zero_point=-128)
    b.op("TRANSPOSE", [nchw, b.constant("to_nhwc", np.array([0, 2, 3, 1], np.int32))], [nhwc])
    w2 = b.constant("w2", weights(rng, (1, 3, 3, 8)), scale=rng.uniform(0.005, 0.02, 8),
                    zero_point=0, axis=3)
    b2 = b.constant("b2", rng.integers(-400, 400, 8).astype(np.int32),
                    scale=np.float32(0.05) * b.tensors[w2].quantization.scale, zero_point=0)
    c2 = b.tensor("c2", (1, 5, 5, 8), scale=0.08, zero_point=-20)
    b.op("DEPTHWISE_CONV_2D", [nhwc, w2, b2], [c2], padding="SAME", stride_h=1, stride_w=1,
         dilation_h=1, dilation_w=1, depth_multiplier=1, activation="RELU6")
    m = b.tensor("m", (1, 8), scale=0.03, zero_point=-60)
    b.op("MEAN", [c2, b.constant("axes", np.array([1, 2], np.int32))], [m], keep_dims=False)
    w3 = b.constant("w3", weights(rng, (4, 8)), scale=0.01, zero_point=0)
    b3 = b.constant("b3", rng.integers(-300, 300, 4).astype(np.int32),
                    scale=np.float32(0.03) * np.float32(0.01), zero_point=0)
    logits = b.tensor("logits", (1, 4), scale=0.1, zero_point=3)
    b.op("FULLY_CONNECTED", [m, w3, b3], [logits], activation="NONE", weights_format=0,
         keep_num_dims=False)
    y = b.tensor("y", (1, 4), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [logits], [y], beta=1.0)
    b.output(y)
    return b.graph()
