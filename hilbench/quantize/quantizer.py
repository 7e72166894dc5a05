"""Post-training static quantization of a FloatGraph into an int8 hilbench Graph.

Weights: int8, symmetric, per output channel. Activations: int8, asymmetric, ranges from a
calibration set (min/max, or the 0.01/99.99 percentiles, which ignore outliers). Biases:
int32 on the scale input_scale * weight_scale. Activations that follow a linear layer are
fused into it when TFLM can apply them as a clamp: ReLU, ReLU6, HardTanh (RELU_N1_TO_1).
Model inputs and outputs stay int8, as full-integer MCU models have them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.builder import GraphBuilder
from hilbench.model.graph import Graph
from hilbench.quantize.float_graph import FloatGraph, FloatNode, run_float

FUSED = {(0.0, math.inf): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1",
         (-math.inf, math.inf): "NONE"}


@dataclass
class Layer:
    name: str  # the ONNX node name of the linear op
    input: str
    output: str  # tensor after the fused activations
    weights: np.ndarray  # (units, depth), float
    bias: np.ndarray  # (units,)
    activation: str


@dataclass(frozen=True)
class ActivationQuant:
    scale: float
    zero_point: int

    @classmethod
    def for_range(cls, low: float, high: float) -> ActivationQuant:
        low, high = min(low, 0.0), max(high, 0.0)  # zero must be exact
        scale = max((high - low) / 255.0, 1e-8)
        zero_point = int(np.clip(round(-128 - low / scale), -128, 127))
        return cls(float(np.float32(scale)), zero_point)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x / self.scale) + self.zero_point, -128, 127).astype(np.int8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (q.astype(np.float64) - self.zero_point) * self.scale


def _consumers(graph: FloatGraph, tensor: str) -> list[FloatNode]:
    return [n for n in graph.nodes if tensor in n.inputs]


def _clamp_of(graph: FloatGraph, node: FloatNode) -> tuple[float, float]:
    if node.op == "Relu":
        return 0.0, math.inf
    low = graph.constants[node.inputs[1]].item() if len(node.inputs) > 1 and node.inputs[1] else -math.inf
    high = graph.constants[node.inputs[2]].item() if len(node.inputs) > 2 and node.inputs[2] else math.inf
    return float(low), float(high)


def find_layers(graph: FloatGraph) -> list[Layer]:
    """Group the graph into linear layers with their fused activations, in order."""
    layers: list[Layer] = []
    consumed: set[int] = set()
    for i, node in enumerate(graph.nodes):
        if i in consumed or node.op in ("Flatten", "Reshape", "Identity"):
            continue
        if node.op == "Gemm":
            w = graph.constants.get(node.inputs[1])
            if w is None:
                raise ModelError(f"node {node.name!r}: Gemm weights must be constant")
            w = w if node.attrs.get("transB", 0) else w.T
            w = w * node.attrs.get("alpha", 1.0)
            b = (graph.constants[node.inputs[2]] * node.attrs.get("beta", 1.0)
                 if len(node.inputs) > 2 and node.inputs[2] else np.zeros(w.shape[0]))
            output = node.outputs[0]
        elif node.op == "MatMul" and node.inputs[1] in graph.constants:
            w = graph.constants[node.inputs[1]].T
            b = np.zeros(w.shape[0])
            output = node.outputs[0]
            users = _consumers(graph, output)
            if len(users) == 1 and users[0].op == "Add" and \
                    any(t in graph.constants for t in users[0].inputs):
                add = users[0]
                b = graph.constants[next(t for t in add.inputs if t in graph.constants)]
                consumed.add(graph.nodes.index(add))
                output = add.outputs[0]
        else:
            raise ModelError(f"node {node.name!r}: {node.op} is not a layer the quantizer "
                             f"takes here (it needs a preceding linear layer)")
        low, high = -math.inf, math.inf
        while True:  # fold a chain of ReLU/Clip into one clamp
            users = _consumers(graph, output)
            if len(users) != 1 or users[0].op not in ("Relu", "Clip"):
                break
            node_low, node_high = _clamp_of(graph, users[0])
            low, high = max(low, node_low), min(high, node_high)
            consumed.add(graph.nodes.index(users[0]))
            output = users[0].outputs[0]
        if (low, high) not in FUSED:
            raise ModelError(f"node {node.name!r}: a clamp to [{low:g}, {high:g}] cannot be "
                             f"fused (TFLM fuses ReLU, ReLU6 and [-1, 1])")
        source = node.inputs[0]
        while source not in graph.inputs and not any(l.output == source for l in layers):
            producer = next((n for n in graph.nodes if source in n.outputs), None)
            if producer is None or producer.op not in ("Flatten", "Reshape", "Identity"):
                raise ModelError(f"node {node.name!r}: its input is not produced by a layer")
            source = producer.inputs[0]
        layers.append(Layer(node.name, source, output, np.asarray(w, np.float64),
                            np.asarray(b, np.float64).reshape(-1), FUSED[(low, high)]))
    if not layers:
        raise ModelError("the model has no linear layer to quantize")
    return layers


def _range(values: np.ndarray, method: str) -> tuple[float, float]:
    if method == "percentile":
        return float(np.percentile(values, 0.01)), float(np.percentile(values, 99.99))
    return float(values.min()), float(values.max())


def quantize_graph(graph: FloatGraph, calibration: np.ndarray,
                   method: str = "minmax") -> tuple[Graph, dict[str, ActivationQuant], list[Layer]]:
    if method not in ("minmax", "percentile"):
        raise ModelError(f"unknown range method {method!r}: minmax or percentile")
    layers = find_layers(graph)
    values = run_float(graph, calibration.reshape(calibration.shape[0], -1))
    quant = {graph.inputs[0]: ActivationQuant.for_range(*_range(values[graph.inputs[0]], method))}
    for layer in layers:
        low, high = _range(values[layer.output], method)
        if layer.activation == "RELU6":
            high = min(high, 6.0)
        elif layer.activation == "RELU_N1_TO_1":
            low, high = max(low, -1.0), min(high, 1.0)
        quant[layer.output] = ActivationQuant.for_range(low, high)

    depth = layers[0].weights.shape[1]
    b = GraphBuilder(description="quantized by hilbench from ONNX")
    tensors = {graph.inputs[0]: b.input(graph.inputs[0], (1, depth),
                                        scale=quant[graph.inputs[0]].scale,
                                        zero_point=quant[graph.inputs[0]].zero_point)}
    for layer in layers:
        q_in = quant[layer.input]
        w_scale = np.maximum(np.abs(layer.weights).max(axis=1), 1e-12) / 127.0
        w_scale = w_scale.astype(np.float32)
        weights = np.clip(np.round(layer.weights / w_scale[:, None]), -127, 127).astype(np.int8)
        bias_scale = np.float32(q_in.scale) * w_scale
        bias = np.round(layer.bias / bias_scale.astype(np.float64)).astype(np.int32)
        t_w = b.constant(f"{layer.name}/weights", weights, scale=w_scale, zero_point=0)
        t_b = b.constant(f"{layer.name}/bias", bias, scale=bias_scale, zero_point=0)
        q_out = quant[layer.output]
        out = b.tensor(layer.output, (1, weights.shape[0]), scale=q_out.scale,
                       zero_point=q_out.zero_point)
        b.op("FULLY_CONNECTED", [tensors[layer.input], t_w, t_b], [out],
             activation=layer.activation, weights_format=0, keep_num_dims=False)
        tensors[layer.output] = out
    b.output(tensors[layers[-1].output])
    return b.graph(), quant, layers
