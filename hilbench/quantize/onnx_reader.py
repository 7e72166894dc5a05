"""Read an ONNX model into a FloatGraph (the only module that imports onnx)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hilbench.errors import ModelError
from hilbench.quantize.float_graph import FloatGraph, FloatNode

SUPPORTED = ("Conv", "BatchNormalization", "Gemm", "MatMul", "Add", "Concat", "Relu", "Clip",
             "HardSwish", "Sigmoid", "Tanh", "Softmax", "AveragePool", "MaxPool",
             "GlobalAveragePool", "Flatten", "Reshape", "Identity")


def load_onnx(path: Path) -> FloatGraph:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # pragma: no cover - onnx is a dependency of the quantizer
        raise ModelError("reading ONNX models needs the 'onnx' package") from None
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except Exception as exc:  # protobuf decode errors come in many types
        raise ModelError(f"{path} is not a readable ONNX model ({type(exc).__name__})") from None
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t).astype(np.float64)
            continue
        if node.op_type not in SUPPORTED:
            raise ModelError(f"unsupported ONNX operator {node.op_type} (node {node.name!r}); "
                             f"the quantizer takes {', '.join(SUPPORTED)} so far")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        nodes.append(FloatNode(node.op_type, node.name, list(node.input), list(node.output), attrs))
    inputs = [i.name for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelError("the quantizer takes models with one input and one output")
    dims = graph.input[[i.name for i in graph.input].index(inputs[0])].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.dim_value > 0 else 1 for d in dims)
    return FloatGraph(nodes, constants, inputs, [graph.output[0].name], {inputs[0]: shape})
