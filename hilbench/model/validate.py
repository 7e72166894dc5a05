"""Checks on a Graph that TFLM makes in its flatbuffer parsing and Prepare steps, made once
before anything is allocated.

Why here: a malformed or hostile model must end in one line naming the op, the tensor and
the value, never in an OverflowError deep in fixed-point code, a C file that does not
compile, or a 13 GiB allocation. The reader validates the graph's structure (tensors,
quantization, graph inputs/outputs); `reference.prepare` (which codegen also uses)
validates each operator before its kernel's Prepare runs. Sizes are counted with Python
ints, which cannot overflow the way an int64 product of hostile dimensions does.
"""

from __future__ import annotations

import math

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator, Tensor

# Bytes one tensor, or one op's temporaries for one vector, may take on the host. A model
# for a microcontroller is measured in KiB; this leaves two orders of magnitude and keeps
# the host reference well inside a 2 GiB address space.
MEMORY_BUDGET = 64 << 20
# Multiply-accumulates per inference: the largest MCU models do ~10^8.
MAX_MACS = 1 << 31
MAX_RANK = 6  # TFLM's RuntimeShape keeps up to 6 dimensions inline; nothing here needs more
_NAME_CHARS = 40  # names and values are cut so that an error stays one readable line

_ZERO_POINT_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-128, 127), "uint8": (0, 255), "int16": (0, 0), "int32": (-(1 << 31), (1 << 31) - 1),
}

# (min inputs, max inputs) of each operator hilbench runs.
_INPUT_COUNTS: dict[str, tuple[int, int]] = {
    "CONV_2D": (2, 3), "DEPTHWISE_CONV_2D": (2, 3), "FULLY_CONNECTED": (2, 3),
    "AVERAGE_POOL_2D": (1, 1), "MAX_POOL_2D": (1, 1), "ADD": (2, 2), "MUL": (2, 2),
    "RESHAPE": (1, 2), "PAD": (2, 2), "PADV2": (2, 3), "CONCATENATION": (1, 1 << 10),
    "MEAN": (2, 2), "SOFTMAX": (1, 1), "LOGISTIC": (1, 1), "TANH": (1, 1),
    "HARD_SWISH": (1, 1), "RELU": (1, 1), "RELU6": (1, 1), "QUANTIZE": (1, 1),
    "DEQUANTIZE": (1, 1),
    "SUB": (2, 2), "MAXIMUM": (2, 2), "MINIMUM": (2, 2), "LEAKY_RELU": (1, 1), "PRELU": (2, 2),
    "RESIZE_NEAREST_NEIGHBOR": (2, 2),
    "TRANSPOSE": (2, 2), "STRIDED_SLICE": (4, 4), "SPLIT": (2, 2), "SPLIT_V": (3, 3),
    "PACK": (1, 1 << 10), "UNPACK": (1, 1), "SQUEEZE": (1, 1), "GATHER": (2, 2),
    "BATCH_MATMUL": (2, 2),
    "TRANSPOSE_CONV": (3, 4),
    "SVDF": (5, 5),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (1, 24),  # 24 positions, most optional: check_lstm
}
# (min outputs, max outputs) of the operators with several; every other one has exactly one.
_OUTPUT_COUNTS: dict[str, tuple[int, int]] = {
    "SPLIT": (1, 1 << 10), "SPLIT_V": (1, 1 << 10), "UNPACK": (1, 1 << 10),
}
_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def short(value: object, limit: int = _NAME_CHARS) -> str:
    """repr-like text of a name or value, cut to `limit` characters."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(t: Tensor) -> str:
    return f"tensor {t.index} {short(repr(t.name))}"


def element_count(shape: tuple[int, ...]) -> int:
    return math.prod(int(d) for d in shape)


def validate_graph(graph: Graph, budget: int = MEMORY_BUDGET) -> None:
    """Structure: graph inputs/outputs, every tensor's size and quantization."""
    if not graph.inputs:
        raise ModelError("model has no graph inputs")
    if not graph.outputs:
        raise ModelError("model has no graph outputs")
    for t in graph.tensors:
        check_tensor(t, budget)
    _check_variables(graph)
    written = {i for op in graph.operators for i in op.outputs}
    for i in graph.outputs:
        t = graph.tensor(i)
        if i not in written and i not in graph.inputs and t.data is None:
            raise ModelError(f"graph output {_where(t)} is written by no op")


def _check_variables(graph: Graph) -> None:
    """Variable tensors hold an op's state: the runtime owns and resets them, so a value in
    the file (TFLM ignores it) or from the caller (a graph input) is refused."""
    for t in graph.tensors:
        if not t.is_variable:
            continue
        if t.data is not None:
            raise ModelError(f"variable {_where(t)} has constant data; state starts at its "
                             f"reset value")
        if t.index in graph.inputs:
            raise ModelError(f"variable {_where(t)} is a graph input")


def check_tensor(t: Tensor, budget: int = MEMORY_BUDGET) -> None:
    """One tensor's rank, byte size and quantization (scales, zero points, axis)."""
    if len(t.shape) > MAX_RANK:
        raise ModelError(f"{_where(t)} has {len(t.shape)} dimensions; at most {MAX_RANK}")
    nbytes = element_count(t.shape) * t.dtype.itemsize
    if nbytes > budget:
        raise ModelError(f"{_where(t)} shape {short(list(t.shape))} needs {nbytes:,} bytes; "
                         f"the limit is {budget:,}")
    q = t.quantization
    if q is None or t.dtype.kind not in "iu":
        return
    scales = q.scale.astype(np.float64)
    bad = ~np.isfinite(scales) | (scales <= 0)
    if bad.any():
        raise ModelError(f"{_where(t)} has scale {short(float(scales[bad][0]))}; "
                         f"scales must be finite and positive")
    low, high = _ZERO_POINT_RANGES.get(t.dtype.name, (-(1 << 31), (1 << 31) - 1))
    outside = (q.zero_point < low) | (q.zero_point > high)
    if outside.any():
        raise ModelError(f"{_where(t)} ({t.dtype.name}) has zero point "
                         f"{short(int(q.zero_point[outside][0]))}, outside {low}..{high}")
    rank = len(t.shape)
    if not 0 <= q.axis < max(rank, 1):
        raise ModelError(f"{_where(t)} has quantization axis {short(q.axis)} "
                         f"for a {rank}-D shape")
    if q.per_channel and (rank == 0 or q.scale.size != t.shape[q.axis]):
        raise ModelError(f"{_where(t)} has {q.scale.size} scales along axis {q.axis} "
                         f"of shape {short(list(t.shape))}")


def validate_op(graph: Graph, op: Operator, budget: int = MEMORY_BUDGET) -> None:
    """An operator's operand counts, option values and host working memory, checked
    before its kernel's Prepare computes anything from them."""
    where = f"op {op.index} {op.opcode}"
    low, high = _INPUT_COUNTS.get(op.opcode, (0, 1 << 10))
    if not low <= len(op.inputs) <= high or any(i < 0 for i in op.inputs[:low]):
        raise ModelError(f"{where} has {len(op.inputs)} inputs; expected {low}..{high}")
    low, high = _OUTPUT_COUNTS.get(op.opcode, (1, 1))
    if not low <= len(op.outputs) <= high or any(i < 0 for i in op.outputs):
        expected = "1" if high == 1 else f"{low}..{high}"
        raise ModelError(f"{where} has {len(op.outputs)} outputs; expected {expected}")
    if len(set(op.outputs)) != len(op.outputs):
        twice = next(i for i in op.outputs if op.outputs.count(i) > 1)
        raise ModelError(f"{where} writes tensor {twice} twice")
    _check_options(op, where)
    _check_elementwise_options(op, where)
    if op.opcode == "FULLY_CONNECTED":
        _check_bias_scale(graph, op, where)
    if op.opcode == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        check_lstm(graph, op, where)
    _check_same_size(graph, op, where)
    need = working_bytes(graph, op)
    if need > budget:
        raise ModelError(f"{where} needs {need:,} bytes of host working memory per vector; "
                         f"the limit is {budget:,}")
    macs = op_macs(graph, op)
    if macs > MAX_MACS:
        raise ModelError(f"{where} has {macs:,} multiply-accumulates; the limit is {MAX_MACS:,}")


def _check_options(op: Operator, where: str) -> None:
    options = op.options
    for key in ("stride_h", "stride_w", "dilation_h", "dilation_w", "filter_h", "filter_w",
                "depth_multiplier"):
        if key in options and not 0 < options[key] <= 1 << 16:
            raise ModelError(f"{where} has {key} {short(options[key])}; expected 1..65536")
    if "padding" in options and options["padding"] not in ("SAME", "VALID"):
        raise ModelError(f"{where} has padding {short(options['padding'])}")
    if "activation" in options and options["activation"] not in _ACTIVATIONS:
        raise ModelError(f"{where} has fused activation {short(options['activation'])}")
    for key in ("num_splits", "values_count", "num"):  # SPLIT, PACK, UNPACK counts
        if key in options and not 0 <= options[key] <= 1 << 10:
            raise ModelError(f"{where} has {key} {short(options[key])}; expected 0..1024")
    for key in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"):
        if key in options and not 0 <= options[key] < 1 << 31:  # STRIDED_SLICE bit masks
            raise ModelError(f"{where} has {key} {short(options[key])}")
    if "beta" in options:
        beta = options["beta"]
        if not (math.isfinite(beta) and beta > 0):
            raise ModelError(f"{where} has beta {short(beta)}; expected a finite value > 0")


def _check_elementwise_options(op: Operator, where: str) -> None:
    """LEAKY_RELU's alpha and RESIZE_NEAREST_NEIGHBOR's flags: TFLM quantizes alpha into
    a multiplier (a NaN or infinity has none) and reads the flags as booleans."""
    options = op.options
    if "alpha" in options:
        alpha = options["alpha"]
        if not (isinstance(alpha, (int, float)) and math.isfinite(alpha)):
            raise ModelError(f"{where} has alpha {short(alpha)}; expected a finite number")
    for key in ("align_corners", "half_pixel_centers"):
        if key in options and not isinstance(options[key], bool):
            raise ModelError(f"{where} has {key} {short(options[key])}; expected true or false")


def _check_bias_scale(graph: Graph, op: Operator, where: str) -> None:
    """TFLM's GetQuantizedConvolutionMultipler (run by FULLY_CONNECTED's Prepare): the bias
    scale must be input scale x filter scale, within 2 % of the output scale. Computed as
    TFLM does: the first scales only, their product in float32."""
    operands = [graph.tensor(i) if 0 <= i else None for i in op.inputs[:3]] + [None] * 3
    x, w, bias = operands[:3]
    y = graph.tensor(op.outputs[0])
    if bias is None or any(t.quantization is None for t in (x, w, y)):
        return
    product = float(np.float32(x.quantization.scale[0]) * np.float32(w.quantization.scale[0]))
    bias_scale = float(bias.quantization.scale[0]) if bias.quantization is not None else 0.0
    ratio = abs(product - bias_scale) / float(y.quantization.scale[0])
    if not ratio <= 0.02:
        raise ModelError(f"{where}: bias {short(repr(bias.name))} has scale "
                         f"{short(bias_scale)}; input x filter scale is {short(product)} "
                         f"(TFLM allows 2 % of the output scale)")


def _shape(graph: Graph, op: Operator, position: int) -> tuple[int, ...]:
    if position < len(op.inputs) and op.inputs[position] >= 0:
        return graph.tensor(op.inputs[position]).shape
    return ()


def op_macs(graph: Graph, op: Operator) -> int:
    """Multiply-accumulates of one inference of the op (0 for ops without any)."""
    out = element_count(graph.tensor(op.outputs[0]).shape) if op.outputs else 0
    weights = _shape(graph, op, 1)
    if op.opcode == "CONV_2D" and len(weights) == 4:
        return out * element_count(weights[1:])
    if op.opcode == "DEPTHWISE_CONV_2D" and len(weights) == 4:
        return out * element_count(weights[1:3])
    if op.opcode == "FULLY_CONNECTED" and weights:
        return out * int(weights[-1])
    if op.opcode == "MUL":
        return out
    if op.opcode == "BATCH_MATMUL" and weights:
        lhs = _shape(graph, op, 0)
        adjoint = bool(op.options.get("adj_x"))
        return out * int(lhs[-2] if adjoint else lhs[-1]) if len(lhs) >= 2 else 0
    if op.opcode == "TRANSPOSE_CONV" and len(weights) == 4:  # every input value x its taps
        return element_count(_shape(graph, op, 2)) * element_count(weights[:3])
    if op.opcode == "SVDF" and len(weights) == 2:  # feature weights, then time weights
        rows = element_count(_shape(graph, op, 0)[:-1])
        return rows * (element_count(weights) + element_count(_shape(graph, op, 2)))
    if op.opcode == "UNIDIRECTIONAL_SEQUENCE_LSTM" and len(weights) == 2:
        # four gates, each an input and a recurrent product per step and batch
        return out * 4 * (int(weights[1]) + int(weights[0]))
    return 0


def working_bytes(graph: Graph, op: Operator) -> int:
    """Bytes of int64 temporaries the host reference needs for one vector of the op: the
    im2col columns of a convolution, else a few copies of its inputs and output."""
    out = sum(element_count(graph.tensor(i).shape) for i in op.outputs)  # SPLIT: every part
    width = 1
    weights = _shape(graph, op, 1)
    if op.opcode == "CONV_2D" and len(weights) == 4:
        width = element_count(weights[1:])
    elif op.opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        width = int(op.options.get("filter_h", 1)) * int(op.options.get("filter_w", 1))
    inputs = sum(element_count(graph.tensor(i).shape) for i in op.inputs if i >= 0)
    return 8 * max(out * max(width, 4), inputs)


# UNIDIRECTIONAL_SEQUENCE_LSTM operand positions (TFLM's lstm_shared.h)
LSTM_INPUT, LSTM_OUTPUT_STATE, LSTM_CELL_STATE = 0, 18, 19
LSTM_INPUT_WEIGHTS = (1, 2, 3, 4)  # input-to-{input, forget, cell, output} gate
LSTM_RECURRENT_WEIGHTS = (5, 6, 7, 8)
LSTM_BIASES = (12, 13, 14, 15)
_LSTM_VARIANTS = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection",
                  17: "projection", 20: "layer norm", 21: "layer norm", 22: "layer norm",
                  23: "layer norm"}


def check_lstm(graph: Graph, op: Operator, where: str) -> None:
    """TFLM's UnidirectionalSequenceLstmPrepare (lstm_eval_common.cc): ValidateTensorStatus
    and ValidateTensorSize, checked before any of the sizes are used. TFLM supports the
    standard (Keras/PyTorch) LSTM only: all four gates (no CIFG), no peephole, projection
    or layer norm; the two states are variable tensors."""
    if len(op.inputs) != 24:
        raise ModelError(f"{where} has {len(op.inputs)} inputs; expected 24 (unused ones -1)")

    def operand(position: int) -> Tensor | None:
        index = op.inputs[position]
        return graph.tensor(index) if index >= 0 else None

    for position, variant in _LSTM_VARIANTS.items():
        t = operand(position)
        if t is not None:
            raise ModelError(f"{where}: input {position} ({variant}) {_where(t)} is given; "
                             f"TFLM's LSTM supports no {variant}")
    for position in (LSTM_INPUT, *LSTM_INPUT_WEIGHTS, *LSTM_RECURRENT_WEIGHTS, *LSTM_BIASES,
                     LSTM_OUTPUT_STATE, LSTM_CELL_STATE):
        if operand(position) is None:
            raise ModelError(f"{where}: required input {position} is missing "
                             f"(TFLM's LSTM needs all four gates)")
    x, y = operand(LSTM_INPUT), graph.tensor(op.outputs[0])
    hidden, cell = operand(LSTM_OUTPUT_STATE), operand(LSTM_CELL_STATE)
    assert x is not None and hidden is not None and cell is not None
    for t in (hidden, cell):
        if not t.is_variable:
            raise ModelError(f"{where}: state {_where(t)} is not a variable tensor")
    if hidden.dtype != x.dtype or y.dtype != x.dtype:
        raise ModelError(f"{where}: input, output and hidden state types differ "
                         f"({x.dtype.name}, {y.dtype.name}, {hidden.dtype.name})")
    for group in (LSTM_INPUT_WEIGHTS + LSTM_RECURRENT_WEIGHTS, LSTM_BIASES):
        types = {graph.tensor(op.inputs[p]).dtype.name for p in group}
        if len(types) > 1:
            raise ModelError(f"{where}: inputs {group[0]}..{group[-1]} mix types {sorted(types)}")
    if len(x.shape) != 3 or len(y.shape) != 3 or len(hidden.shape) != 2:
        raise ModelError(f"{where}: input {short(list(x.shape))} and output "
                         f"{short(list(y.shape))} must be 3-D, the hidden state "
                         f"{short(list(hidden.shape))} 2-D")
    time_major = bool(op.options.get("time_major", False))
    batch = x.shape[1] if time_major else x.shape[0]
    features, units = x.shape[2], hidden.shape[1]
    expected = [(p, (units, features)) for p in LSTM_INPUT_WEIGHTS]
    expected += [(p, (units, units)) for p in LSTM_RECURRENT_WEIGHTS]
    expected += [(p, (units,)) for p in LSTM_BIASES]
    for position, shape in expected:
        t = graph.tensor(op.inputs[position])
        if t.shape != shape:
            raise ModelError(f"{where}: input {position} {_where(t)} has shape "
                             f"{short(list(t.shape))}; expected {list(shape)}")
    for t in (hidden, cell):
        if element_count(t.shape) != batch * units:
            raise ModelError(f"{where}: state {_where(t)} has {element_count(t.shape)} "
                             f"values; expected batch x units = {batch * units}")
    if y.shape[:2] != x.shape[:2] or y.shape[2] != units:
        raise ModelError(f"{where}: output shape {short(list(y.shape))} does not match "
                         f"input {short(list(x.shape))} and {units} units")
    # cell_clip: the pinned TFLM accepts any value and clips only when it is > 0
    cell_clip = op.options.get("cell_clip", 0.0)
    if not isinstance(cell_clip, (int, float)):
        raise ModelError(f"{where} has cell_clip {short(cell_clip)}; expected a number")
# --- element-wise ops: one output value per input value -----------------------------------

# Ops whose kernels map each input value to one output value: TFLM takes the flat size of
# either (MatchingFlatSize only DCHECKs them), so a mutated output shape would have it
# write past, or short of, the output; hilbench's kernel would return the input's shape.
_SAME_SIZE_OPS = {"QUANTIZE", "DEQUANTIZE"}


def _check_same_size(graph: Graph, op: Operator, where: str) -> None:
    if op.opcode not in _SAME_SIZE_OPS:
        return
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if element_count(x.shape) != element_count(y.shape):
        raise ModelError(f"{where}: output {_where(y)} shape {short(list(y.shape))} does not "
                         f"hold the {element_count(x.shape):,} values of input {_where(x)}")
