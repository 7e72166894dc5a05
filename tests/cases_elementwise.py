"""Edge cases of SUB, MAXIMUM, MINIMUM, LEAKY_RELU, PRELU and RESIZE_NEAREST_NEIGHBOR, shared
by the reference-vs-TFLM tests and the QEMU tests (tests/test_ops_elementwise.py).

Each case is a branch hung on one shared int8 input; a branch that needs another input
quantization first requantizes it (QUANTIZE int8 -> int8). One family's branches make one
model for the TFLM comparison; every family's branches together make the one model each
QEMU board builds, so all edge cases cost one firmware per board.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hilbench.model import Graph
from hilbench.model.builder import GraphBuilder

IN_SHAPE = (1, 3, 4, 3)
IN_Q = (0.05, 3)

Branch = Callable[[GraphBuilder, int, np.random.Generator], int]


def _requantized(b: GraphBuilder, x: int, name: str, q: tuple[float, int],
                 shape: tuple[int, ...] = IN_SHAPE) -> int:
    y = b.tensor(name, shape, scale=q[0], zero_point=q[1])
    b.op("QUANTIZE", [x], [y])
    return y


def _reshaped(b: GraphBuilder, x: int, name: str, shape: tuple[int, ...]) -> int:
    y = b.tensor(name, shape, scale=IN_Q[0], zero_point=IN_Q[1])
    b.op("RESHAPE", [x, b.constant(f"{name}_shape", np.array(shape, np.int32))], [y])
    return y


def _const(b: GraphBuilder, rng: np.random.Generator, name: str, shape: tuple[int, ...],
           q: tuple[float, int]) -> int:
    values = rng.integers(-128, 128, size=shape, dtype=np.int8)
    return b.constant(name, values, scale=q[0], zero_point=q[1])


def _binary(opcode: str, name: str, a_of: Callable, b_of: Callable,
            out_q: tuple[float, int] = (0.1, 2), **options) -> Branch:
    """opcode(a, b) with a and b made from the shared input by a_of / b_of."""
    def branch(b: GraphBuilder, x: int, rng: np.random.Generator) -> int:
        left, right = a_of(b, x, rng), b_of(b, x, rng)
        shape = np.broadcast_shapes(b.tensors[left].shape, b.tensors[right].shape)
        y = b.tensor(name, shape, scale=out_q[0], zero_point=out_q[1])
        b.op(opcode, [left, right], [y], **options)
        return y
    return branch


def _input(b, x, rng):
    return x


def _relu_of_input(b, x, rng):
    y = b.tensor("relu_x", IN_SHAPE, scale=0.08, zero_point=-10)
    b.op("RELU", [x], [y])
    return y


def _const_of(shape, q=(0.08, -10)):
    return lambda b, x, rng: _const(b, rng, f"c{len(b.tensors)}", shape, q)


def _requant_of(q):
    return lambda b, x, rng: _requantized(b, x, f"rq{len(b.tensors)}", q)


def _reshape_of(shape):
    return lambda b, x, rng: _reshaped(b, x, f"r{len(b.tensors)}", shape)


SUB: dict[str, Branch] = {
    # both operands activations, different scales
    "sub_same_shape": _binary("SUB", "sub_same_shape", _input, _relu_of_input,
                              activation="NONE"),
    "sub_broadcast_channel_relu": _binary("SUB", "sub_channel", _input, _const_of((1, 1, 1, 3)),
                                          activation="RELU"),
    # input 1 is the broadcast one
    "sub_first_broadcast_relu6": _binary("SUB", "sub_first", _const_of((1, 3, 1, 3)), _input,
                                         out_q=(0.05, -128), activation="RELU6"),
    "sub_lower_rank_n1_to_1": _binary("SUB", "sub_rank", _input, _const_of((3,)),
                                      out_q=(0.02, 0), activation="RELU_N1_TO_1"),
    "sub_extreme_scales": _binary("SUB", "sub_extreme", _requant_of((0.001, -128)),
                                  _const_of((1, 1, 4, 1), (2.0, 127)), out_q=(0.5, 0),
                                  activation="NONE"),
    # TFLM broadcasts SUB up to 6-D
    "sub_6d_broadcast": _binary("SUB", "sub_6d", _reshape_of((1, 1, 3, 1, 4, 3)),
                                _const_of((2, 1, 1, 2, 1, 3)), activation="NONE"),
}

MINMAX: dict[str, Branch] = {
    # raw int8 comparison: TFLM ignores the (different) quantizations
    "maximum_same_shape": _binary("MAXIMUM", "max_same", _input, _relu_of_input),
    "minimum_same_shape": _binary("MINIMUM", "min_same", _input, _relu_of_input),
    "maximum_broadcast_row": _binary("MAXIMUM", "max_row", _input, _const_of((1, 1, 4, 1))),
    "minimum_first_lower_rank": _binary("MINIMUM", "min_rank", _const_of((3,)), _input),
    "maximum_5d_broadcast": _binary("MAXIMUM", "max_5d", _reshape_of((1, 3, 1, 4, 3)),
                                    _const_of((2, 1, 2, 1, 3))),
}


def _leaky(name: str, alpha: float, in_q: tuple[float, int], out_q: tuple[float, int]) -> Branch:
    def branch(b: GraphBuilder, x: int, rng: np.random.Generator) -> int:
        source = x if in_q == IN_Q else _requantized(b, x, f"{name}_in", in_q)
        y = b.tensor(name, IN_SHAPE, scale=out_q[0], zero_point=out_q[1])
        b.op("LEAKY_RELU", [source], [y], alpha=alpha)
        return y
    return branch


LEAKY_RELU: dict[str, Branch] = {
    "leaky_alpha_0_2_rescaled": _leaky("leaky_rescaled", 0.2, IN_Q, (0.03, -20)),
    # the identity multiplier above 1 (a left shift), the alpha one below
    "leaky_identity_above_one": _leaky("leaky_gain", 0.01, (0.1, 0), (0.02, 5)),
    "leaky_alpha_above_one_zp_limits": _leaky("leaky_steep", 1.5, (0.04, 127), (0.1, -128)),
    # TFLM takes any finite alpha: a negative one gives a negative multiplier
    "leaky_negative_alpha": _leaky("leaky_negative", -0.5, IN_Q, (0.05, 0)),
    "leaky_alpha_zero": _leaky("leaky_zero", 0.0, IN_Q, (0.05, -128)),
}


def _prelu(name: str, alpha_of: Callable, out_q: tuple[float, int]) -> Branch:
    def branch(b: GraphBuilder, x: int, rng: np.random.Generator) -> int:
        alpha = alpha_of(b, x, rng)
        shape = np.broadcast_shapes(IN_SHAPE, b.tensors[alpha].shape)
        y = b.tensor(name, shape, scale=out_q[0], zero_point=out_q[1])
        b.op("PRELU", [x, alpha], [y])
        return y
    return branch


PRELU: dict[str, Branch] = {
    # one alpha per channel, the Keras PReLU(shared_axes=[1, 2]) form
    "prelu_per_channel": _prelu("prelu_channel", _const_of((3,), (0.01, 0)), (0.04, -5)),
    "prelu_broadcast_4d_zp": _prelu("prelu_4d", _const_of((1, 1, 1, 3), (0.02, -20)),
                                    (0.05, -128)),
    "prelu_single_alpha": _prelu("prelu_single", _const_of((1,), (0.004, 10)), (0.02, 7)),
    # alpha an activation of the same shape
    "prelu_activation_alpha": _prelu("prelu_act", _requant_of((0.03, -60)), (0.1, 0)),
}


def _resize(name: str, size: tuple[int, int], align_corners: bool = False,
            half_pixel_centers: bool = False) -> Branch:
    def branch(b: GraphBuilder, x: int, rng: np.random.Generator) -> int:
        size_t = b.constant(f"{name}_size", np.array(size, np.int32))
        y = b.tensor(name, (1, *size, IN_SHAPE[3]), scale=IN_Q[0], zero_point=IN_Q[1])
        b.op("RESIZE_NEAREST_NEIGHBOR", [x, size_t], [y], align_corners=align_corners,
             half_pixel_centers=half_pixel_centers)
        return y
    return branch


RESIZE: dict[str, Branch] = {
    "resize_upscale_2x": _resize("resize_2x", (6, 8)),
    "resize_align_corners": _resize("resize_align", (5, 7), align_corners=True),
    "resize_half_pixel_down": _resize("resize_half", (2, 3), half_pixel_centers=True),
    "resize_align_and_half_odd": _resize("resize_both", (7, 5), True, True),
    "resize_to_one_aligned": _resize("resize_one", (1, 1), align_corners=True),
}

FAMILIES: dict[str, dict[str, Branch]] = {
    "SUB": SUB, "MAXIMUM_MINIMUM": MINMAX, "LEAKY_RELU": LEAKY_RELU, "PRELU": PRELU,
    "RESIZE_NEAREST_NEIGHBOR": RESIZE,
}


def branches_graph(branches: dict[str, Branch], seed: int = 17) -> Graph:
    """One input, one output per branch, the branches in order."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("hilbench elementwise edge cases")
    x = b.input("x", IN_SHAPE, scale=IN_Q[0], zero_point=IN_Q[1])
    for branch in branches.values():
        b.output(branch(b, x, rng))
    return b.graph()


def family_graph(family: str) -> Graph:
    return branches_graph(FAMILIES[family])


def all_cases_graph() -> Graph:
    """Every family's edge cases in one model: what each QEMU board builds once."""
    return branches_graph({name: branch for family in FAMILIES.values()
                           for name, branch in family.items()})
