"""1-D convolutional models (PyTorch's Conv1d, MaxPool1d, AvgPool1d) as 2-D ones over H = 1.

TFLM has no 1-D convolution: a converter lowers Conv1d to CONV_2D on a (N, 1, L, C)
tensor. Here the float graph itself is rewritten before anything runs: every 3-D (N, C, L)
activation becomes (N, C, 1, L), 1-D kernels and their strides, dilations and pads gain a
unit H axis, and axes of ops on lifted tensors are renumbered. The executor, the quantizer
and the report then see an ordinary NCHW convolutional model, whose int8 form is NHWC with
H = 1, so the 2-D kernels (and their optimized variants) run it unchanged.
"""

from __future__ import annotations

import numpy as np

from hilbench.errors import ModelError
from hilbench.quantize.float_graph import FloatGraph, FloatNode

# ops whose output keeps the (lifted) rank of their first input
_RANK_KEEPING = ("Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "HardSwish",
                 "Sigmoid", "Tanh", "Add", "Concat", "AveragePool", "MaxPool",
                 "GlobalAveragePool", "Identity")
_WINDOWED = ("Conv", "AveragePool", "MaxPool")


def lift_1d(graph: FloatGraph) -> FloatGraph:
    """The graph unchanged when its input is not 3-D, else rewritten in place over H = 1."""
    name = graph.inputs[0]
    shape = graph.input_shapes[name]
    if len(shape) != 3:
        return graph
    lifted = {name}
    for node in graph.nodes:
        if not any(t in lifted for t in node.inputs if t):
            continue
        if node.op in _WINDOWED:
            _lift_window(graph, node)
        elif node.op in ("Gemm", "MatMul") and node.inputs[0] in lifted:
            raise ModelError(f"node {node.name!r}: {node.op} of a (N, C, L) signal; only a "
                             f"flattened one (torch.flatten before nn.Linear) is supported")
        elif node.op == "Concat":
            axis = node.attrs.get("axis", 1) % 3
            node.attrs["axis"] = (0, 1, 3)[axis]  # (N, C, L) -> (N, C, 1, L)
        if node.op in _RANK_KEEPING:
            lifted.update(node.outputs)
    graph.input_shapes[name] = (shape[0], shape[1], 1, shape[2])
    return graph


def _lift_window(graph: FloatGraph, node: FloatNode) -> None:
    """One 1-D Conv or pool: kernel (k,) -> (1, k), strides/dilations (s,) -> (1, s),
    pads [begin, end] -> [0, begin, 0, end], 3-D Conv weights (O, I, k) -> (O, I, 1, k)."""
    attrs = node.attrs
    if node.op == "Conv":
        weights = graph.constants.get(node.inputs[1])
        if weights is None:
            raise ModelError(f"node {node.name!r}: Conv weights must be constant")
        if weights.ndim != 3:
            raise ModelError(f"node {node.name!r}: a Conv of a 1-D signal needs 3-D weights, "
                             f"got shape {weights.shape}")
        graph.constants[node.inputs[1]] = weights[:, :, np.newaxis, :]
    kernel = attrs.get("kernel_shape")
    if kernel is not None:
        if len(kernel) != 1:
            raise ModelError(f"node {node.name!r}: kernel {list(kernel)} on a 1-D signal")
        attrs["kernel_shape"] = [1, kernel[0]]
    for key, count in (("strides", 1), ("dilations", 1), ("pads", 2)):
        if key in attrs and len(attrs[key]) != count:
            raise ModelError(f"node {node.name!r}: {key} {list(attrs[key])} on a 1-D signal")
    for key in ("strides", "dilations"):
        if key in attrs:
            attrs[key] = [1, *attrs[key]]
    if "pads" in attrs:
        begin, end = attrs["pads"]
        attrs["pads"] = [0, begin, 0, end]
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
        raise ModelError(f"node {node.name!r}: auto_pad {attrs['auto_pad']!r} is not "
                         f"supported; export with explicit pads")
