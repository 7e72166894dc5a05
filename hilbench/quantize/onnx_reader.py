"""Read an ONNX model into a FloatGraph (the only module that imports onnx)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hilbench.errors import ModelError
from hilbench.quantize.float_graph import FloatGraph, FloatNode
from hilbench.quantize.lift1d import lift_1d

QDQ = ("QuantizeLinear", "DequantizeLinear")
SUPPORTED = ("Conv", "BatchNormalization", "Gemm", "MatMul", "Add", "Concat", "Relu", "Clip",
             "HardSwish", "Sigmoid", "Tanh", "Softmax", "AveragePool", "MaxPool",
             "GlobalAveragePool", "Flatten", "Reshape", "Identity", "LeakyRelu")


def load_onnx(path: Path) -> FloatGraph:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # onnx comes with the quantize extra, not the core package
        raise ModelError("reading ONNX models needs the 'onnx' package: "
                         "pip install 'hilbench[quantize]'") from None
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
        if node.op_type not in SUPPORTED + QDQ:
            raise ModelError(f"unsupported ONNX operator {node.op_type} (node {node.name!r}); "
                             f"the quantizer takes {', '.join(SUPPORTED)} so far")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        nodes.append(FloatNode(node.op_type, node.name, list(node.input), list(node.output), attrs))
    nodes, fixed, outputs = _strip_qdq(nodes, constants, [graph.output[0].name])
    inputs = [i.name for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelError("the quantizer takes models with one input and one output")
    dims = graph.input[[i.name for i in graph.input].index(inputs[0])].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.dim_value > 0 else 1 for d in dims)
    # Conv1d models: 1-D kernels become 2-D ones over H = 1 (the lowering TFLM's converter uses)
    return lift_1d(FloatGraph(nodes, constants, inputs, outputs, {inputs[0]: shape}, fixed))


def _strip_qdq(nodes: list[FloatNode], constants: dict[str, np.ndarray],
               outputs: list[str]) -> tuple[list[FloatNode], dict[str, tuple[float, int]], list[str]]:
    """Turn a QDQ model (onnxruntime.quantization) back into a float graph plus the
    quantization it prescribes. Weights: DequantizeLinear of a constant becomes the float
    constant. Activations: a QuantizeLinear -> DequantizeLinear pair becomes the scale and
    zero point of the tensor it quantizes. onnxruntime removes ReLU/ReLU6/HardTanh clamps
    from such models; they live on as those ranges, which int8 saturation reproduces."""
    fixed: dict[str, tuple[float, int]] = {}
    alias: dict[str, str] = {}
    kept = []
    for node in nodes:
        node.inputs = [alias.get(name, name) for name in node.inputs]
        if node.op == "DequantizeLinear" and node.inputs[0] in constants:
            q, scale = constants[node.inputs[0]], constants[node.inputs[1]]
            zero = constants.get(node.inputs[2], np.zeros(1)) if len(node.inputs) > 2 else np.zeros(1)
            shape = [1] * q.ndim
            if scale.size > 1:
                shape[node.attrs.get("axis", 1)] = -1
            constants[node.outputs[0]] = (q - zero.reshape(shape)) * scale.reshape(shape)
        elif node.op == "QuantizeLinear":
            if node.inputs[0] in constants:  # a quantized constant: dequantized again below
                constants[node.outputs[0]] = constants[node.inputs[0]]
                alias[node.outputs[0]] = node.inputs[0]
                continue
            activation_scale = float(constants[node.inputs[1]].reshape(-1)[0])
            activation_zero = (int(constants[node.inputs[2]].reshape(-1)[0])
                               if len(node.inputs) > 2 else 0)
            fixed[node.inputs[0]] = (activation_scale, activation_zero)
            alias[node.outputs[0]] = node.inputs[0]
        elif node.op == "DequantizeLinear":  # of an activation quantized just before
            alias[node.outputs[0]] = node.inputs[0]
        else:
            kept.append(node)
    for node in kept:
        node.inputs = [alias.get(name, name) for name in node.inputs]
    return kept, fixed, [alias.get(name, name) for name in outputs]
