"""SUB, MAXIMUM, MINIMUM, LEAKY_RELU, PRELU and RESIZE_NEAREST_NEIGHBOR (issue #17): the
host reference against TFLM's interpreter (200 uniform + 200 near-zero-point vectors,
every op's output), the C kernels on QEMU (M4 `ref`, M0 with its default variant: all edge
cases in one firmware per board, tests/cases_elementwise.py), and the models TFLM's Prepare
refuses, refused with one line."""

from __future__ import annotations

import numpy as np
import pytest

import cases_elementwise as ce
from hilbench.errors import HilbenchError
from hilbench.model.builder import GraphBuilder
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference import Reference
from support import assert_one_line_error, compare_with_tflm, hilbench, roundtrip, run_bit_exact

VECTORS = 200


@pytest.mark.oracle
@pytest.mark.parametrize("family", ce.FAMILIES)
def test_family_matches_tflm(family):
    graph, model = roundtrip(ce.family_graph(family))
    opcodes = {"MAXIMUM", "MINIMUM"} if family == "MAXIMUM_MINIMUM" else {family}
    assert opcodes <= {op.opcode for op in graph.operators}
    mismatches = compare_with_tflm(graph, model, VECTORS)
    assert mismatches == {"uniform": 0, "near_zp": 0}


@pytest.mark.hil
@pytest.mark.parametrize("board,kernels", [("qemu-mps2-an386", "ref"),
                                           ("qemu-microbit", None)],
                         ids=["m4-ref", "m0-default"])
def test_all_cases_bit_exact_on_qemu(board, kernels, tmp_path):
    """One firmware per board holds every edge case as a parallel branch (25 outputs)."""
    path = tmp_path / "elementwise.tflite"
    write_tflite(ce.all_cases_graph(), path)
    result = run_bit_exact(path, board, 8, seed=5, kernels=kernels)
    assert result.comparison.bit_exact


def _single(opcode, in_shape=(1, 2, 2, 3), other=None, out_shape=None, in_q=(0.05, 0),
            out_q=(0.05, 0), **options):
    b = GraphBuilder()
    x = b.input("x", in_shape, scale=in_q[0], zero_point=in_q[1])
    inputs = [x] if other is None else [x, other(b)]
    y = b.tensor("y", out_shape or in_shape, scale=out_q[0], zero_point=out_q[1])
    b.op(opcode, inputs, [y], **options)
    b.output(y)
    return b.graph()


def _const(shape, dtype=np.int8, value=1, q=(0.05, 0)):
    def make(b):
        if dtype == np.int32:
            return b.constant("c", np.full(shape, value, np.int32))
        return b.constant("c", np.full(shape, value, dtype), scale=q[0], zero_point=q[1])
    return make


REFUSED = {
    # TFLM's QuantizeMultiplierSmallerThanOneExp aborts on an output rescaling >= 1
    "sub_output_scale_too_small": (
        _single("SUB", other=_const((1, 2, 2, 3)), out_q=(1e-9, 0), activation="NONE"),
        "SUB: output rescaling"),
    "maximum_6d_broadcast": (
        _single("MAXIMUM", in_shape=(1, 1, 2, 1, 2, 3), other=_const((2, 1, 1, 1, 1, 3)),
                out_shape=(2, 1, 2, 1, 2, 3)), "broadcasting above 5-D"),
    "prelu_5d": (_single("PRELU", in_shape=(1, 1, 2, 2, 3), other=_const((3,))), "above 4-D"),
    "leaky_relu_nan_alpha": (_single("LEAKY_RELU", alpha=float("nan")), "alpha nan"),
    "leaky_relu_alpha_overflow": (_single("LEAKY_RELU", alpha=1e38, in_q=(100.0, 0),
                                          out_q=(1e-30, 0)), "has no multiplier"),
    "resize_dynamic_size": (
        _single("RESIZE_NEAREST_NEIGHBOR", other=lambda b: b.input("size", (2,), np.int32),
                out_shape=(1, 4, 4, 3), align_corners=False, half_pixel_centers=False),
        "non-constant size"),
    "resize_output_shape_mismatch": (
        _single("RESIZE_NEAREST_NEIGHBOR", other=_const((2,), np.int32, 4),
                out_shape=(1, 4, 5, 3), align_corners=False, half_pixel_centers=False),
        "is not (1, 4, 4, 3)"),
    "resize_3d_input": (
        _single("RESIZE_NEAREST_NEIGHBOR", in_shape=(2, 2, 3), other=_const((2,), np.int32, 4),
                out_shape=(4, 4, 3), align_corners=False, half_pixel_centers=False),
        "requires 4-D"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_models_tflm_refuses_are_refused(case):
    graph, fragment = REFUSED[case]
    with pytest.raises(HilbenchError, match=None) as error:
        Reference(graph)
    message = str(error.value)
    assert fragment in message and "\n" not in message, message


def test_refusal_is_one_line_at_the_cli(tmp_path):
    path = tmp_path / "sub.tflite"
    write_tflite(REFUSED["sub_output_scale_too_small"][0], path)
    assert_one_line_error(hilbench("reference", path, "--random", 2), "op 0 SUB: output rescaling")
