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
    """One emitted int8 op and the float tensor it stands for (for the report)."""

    name: str  # the ONNX node name
    output: str  # float tensor name (NCHW for 4-D tensors)
    int8_op: int  # index of the op in the int8 graph
    nhwc: bool  # the int8 tensor is NHWC while the float one is NCHW


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
    def bound(position: int, default: float) -> float:
        if len(node.inputs) > position and node.inputs[position]:
            return float(graph.constants[node.inputs[position]].item())
        return default
    return bound(1, -math.inf), bound(2, math.inf)


def _range(values: np.ndarray, method: str) -> tuple[float, float]:
    if method == "percentile":
        return float(np.percentile(values, 0.01)), float(np.percentile(values, 99.99))
    return float(values.min()), float(values.max())


def _same_padding(in_size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    out = (in_size + stride - 1) // stride
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - in_size, 0)
    return total // 2, total - total // 2


class _Lowering:
    """Walks the float graph in order and emits the int8 graph (NHWC)."""

    def __init__(self, graph: FloatGraph, values: dict[str, np.ndarray], method: str) -> None:
        self.graph = graph
        self.values = values  # calibration tensors, NCHW
        self.method = method
        self.b = GraphBuilder(description="quantized by hilbench from ONNX")
        self.tensors: dict[str, int] = {}  # float tensor -> int8 tensor index
        self.quant: dict[str, ActivationQuant] = {}
        self.layers: list[Layer] = []
        self.flattened: dict[str, str] = {}  # Flatten output -> its 4-D NCHW source
        self.done: set[int] = set()

    def shape(self, name: str) -> tuple[int, ...]:
        """The int8 (NHWC) shape of a float tensor, batch 1."""
        s = self.values[name].shape[1:]
        return (1, s[1], s[2], s[0]) if len(s) == 3 else (1,) + tuple(s)

    def activation_quant(self, name: str, low: float = -math.inf,
                         high: float = math.inf) -> ActivationQuant:
        if name in self.graph.fixed_quant:  # prescribed by a QDQ model
            scale, zero_point = self.graph.fixed_quant[name]
            return ActivationQuant(float(np.float32(scale)), zero_point)
        lo, hi = _range(self.values[name], self.method)
        return ActivationQuant.for_range(max(lo, low), min(hi, high))

    def new_tensor(self, name: str, q: ActivationQuant) -> int:
        self.quant[name] = q
        index = self.b.tensor(name, self.shape(name), scale=q.scale, zero_point=q.zero_point)
        self.tensors[name] = index
        return index

    def fused(self, node: FloatNode, output: str) -> tuple[str, str, float, float]:
        low, high = -math.inf, math.inf
        while True:  # fold a chain of ReLU/Clip into one clamp
            users = _consumers(self.graph, output)
            if len(users) != 1 or users[0].op not in ("Relu", "Clip"):
                break
            node_low, node_high = _clamp_of(self.graph, users[0])
            low, high = max(low, node_low), min(high, node_high)
            self.done.add(self.graph.nodes.index(users[0]))
            output = users[0].outputs[0]
        if (low, high) not in FUSED:
            raise ModelError(f"node {node.name!r}: a clamp to [{low:g}, {high:g}] cannot be "
                             f"fused (TFLM fuses ReLU, ReLU6 and [-1, 1])")
        return output, FUSED[(low, high)], low, high

    def emit(self, node: FloatNode, opcode: str, inputs: list[int], output: str,
             q: ActivationQuant, nhwc: bool, **options) -> None:
        out = self.new_tensor(output, q)
        self.b.op(opcode, inputs, [out], **options)
        self.layers.append(Layer(node.name, output, len(self.b.operators) - 1, nhwc))

    def weights(self, node: FloatNode, w: np.ndarray, axis: int, bias: np.ndarray | None,
                in_scale: float):
        """Per-channel symmetric int8 weights (channels on `axis`) and int32 bias."""
        reduce = tuple(i for i in range(w.ndim) if i != axis)
        w_scale = (np.maximum(np.abs(w).max(axis=reduce), 1e-12) / 127.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / w_scale.reshape(shape)), -127, 127).astype(np.int8)
        bias_scale = np.float32(in_scale) * w_scale
        channels = w.shape[axis]
        b = bias if bias is not None else np.zeros(channels)
        q_bias = np.round(b / bias_scale.astype(np.float64)).astype(np.int32)
        t_w = self.b.constant(f"{node.name}/weights", q, scale=w_scale, zero_point=0, axis=axis)
        t_b = self.b.constant(f"{node.name}/bias", q_bias, scale=bias_scale, zero_point=0)
        return t_w, t_b

    # --- operators --------------------------------------------------------------------
    def conv(self, node: FloatNode) -> None:
        x = node.inputs[0]
        if x not in self.tensors:
            raise ModelError(f"node {node.name!r}: its input is not a quantized tensor")
        w = self.graph.constants.get(node.inputs[1])
        if w is None:
            raise ModelError(f"node {node.name!r}: Conv weights must be constant")
        bias = self.graph.constants.get(node.inputs[2]) if len(node.inputs) > 2 else None
        if w.ndim != 4:  # Conv1d arrives lifted to 2-D (quantize/lift1d.py); Conv3d does not
            raise ModelError(f"node {node.name!r}: a Conv with {w.ndim}-D weights "
                             f"{w.shape} is not supported (Conv1d and Conv2d are)")
        w, bias, output = self._fold_batch_norm(node, w, bias)
        group = node.attrs.get("group", 1)
        out_c, in_per_group, k_h, k_w = w.shape
        in_c = self.values[x].shape[1]
        depthwise = group > 1
        if depthwise and not (group == in_c and in_per_group == 1):
            raise ModelError(f"node {node.name!r}: grouped convolutions other than depthwise "
                             f"are not supported")
        strides = node.attrs.get("strides", [1, 1])
        dilations = node.attrs.get("dilations", [1, 1])
        pads = list(node.attrs.get("pads", [0, 0, 0, 0]))
        _, in_h, in_w, _ = self.shape(x)
        same = (_same_padding(in_h, k_h, strides[0], dilations[0]),
                _same_padding(in_w, k_w, strides[1], dilations[1]))
        source = self.tensors[x]
        if not any(pads):
            padding = "VALID"
        elif ((pads[0], pads[2]), (pads[1], pads[3])) == same:
            padding = "SAME"
        else:  # PyTorch's symmetric padding where TFLite's SAME would differ: pad explicitly
            padded = f"{node.name}/padded"
            self.values[padded] = np.pad(self.values[x], ((0, 0), (0, 0), (pads[0], pads[2]),
                                                          (pads[1], pads[3])))
            q_in = self.quant[x]
            target = self.new_tensor(padded, q_in)
            paddings = self.b.constant(f"{node.name}/paddings", np.array(
                [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]], np.int32))
            self.b.op("PAD", [source, paddings], [target])
            source, padding = target, "VALID"
        output, activation, low, high = self.fused(node, output)
        q_in = self.quant[x]
        if depthwise:  # (C_out, 1, kh, kw) -> (1, kh, kw, C_out), channels on axis 3
            t_w, t_b = self.weights(node, w.transpose(1, 2, 3, 0), 3, bias, q_in.scale)
            opcode, extra = "DEPTHWISE_CONV_2D", {"depth_multiplier": out_c // in_c}
        else:  # (C_out, C_in, kh, kw) -> (C_out, kh, kw, C_in)
            t_w, t_b = self.weights(node, w.transpose(0, 2, 3, 1), 0, bias, q_in.scale)
            opcode, extra = "CONV_2D", {}
        self.emit(node, opcode, [source, t_w, t_b], output,
                  self.activation_quant(output, low, high), True, padding=padding,
                  stride_h=strides[0], stride_w=strides[1], dilation_h=dilations[0],
                  dilation_w=dilations[1], activation=activation, **extra)

    def _fold_batch_norm(self, node: FloatNode, w: np.ndarray, bias: np.ndarray | None):
        """Fold a BatchNormalization that directly follows the convolution into it."""
        output = node.outputs[0]
        users = _consumers(self.graph, output)
        if len(users) != 1 or users[0].op != "BatchNormalization":
            return w, bias, output
        bn = users[0]
        gamma, beta, mean, var = (self.graph.constants[t] for t in bn.inputs[1:5])
        scale = gamma / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
        bias = (bias if bias is not None else np.zeros_like(mean)) - mean
        self.done.add(self.graph.nodes.index(bn))
        return w * scale.reshape(-1, 1, 1, 1), bias * scale + beta, bn.outputs[0]

    def add(self, node: FloatNode) -> None:
        a, b = node.inputs[:2]
        if a not in self.tensors or b not in self.tensors:
            raise ModelError(f"node {node.name!r}: Add of a constant is supported only as a "
                             f"layer's bias")
        output, activation, low, high = self.fused(node, node.outputs[0])
        self.emit(node, "ADD", [self.tensors[a], self.tensors[b]], output,
                  self.activation_quant(output, low, high), self.values[output].ndim == 4,
                  activation=activation)

    def concat(self, node: FloatNode) -> None:
        rank = self.values[node.outputs[0]].ndim
        axis = node.attrs.get("axis", 1) % rank
        nhwc_axis = {0: 0, 1: 3, 2: 1, 3: 2}[axis] if rank == 4 else axis
        q_out = self.activation_quant(node.outputs[0])
        inputs = []
        for name in node.inputs:  # TFLM copies bytes: every input needs the output's scale
            if self.quant[name] != q_out:
                moved = f"{node.name}/{name}/requantized"
                self.values[moved] = self.values[name]
                target = self.new_tensor(moved, q_out)
                self.b.op("QUANTIZE", [self.tensors[name]], [target])
                inputs.append(target)
            else:
                inputs.append(self.tensors[name])
        self.emit(node, "CONCATENATION", inputs, node.outputs[0], q_out, rank == 4,
                  axis=nhwc_axis, activation="NONE")

    def elementwise(self, node: FloatNode) -> None:
        x, output = node.inputs[0], node.outputs[0]
        nhwc = self.values[output].ndim == 4
        if node.op == "Softmax":
            if node.attrs.get("axis", -1) % self.values[x].ndim != self.values[x].ndim - 1 or nhwc:
                raise ModelError(f"node {node.name!r}: Softmax is supported over the last "
                                 f"axis of a 2-D tensor")
            self.emit(node, "SOFTMAX", [self.tensors[x]], output,
                      ActivationQuant(1 / 256, -128), nhwc, beta=1.0)
        elif node.op == "Sigmoid":
            self.emit(node, "LOGISTIC", [self.tensors[x]], output,
                      ActivationQuant(1 / 256, -128), nhwc)
        elif node.op == "Tanh":
            self.emit(node, "TANH", [self.tensors[x]], output, ActivationQuant(1 / 128, 0), nhwc)
        elif node.op == "HardSwish":
            self.emit(node, "HARD_SWISH", [self.tensors[x]], output,
                      self.activation_quant(output), nhwc)
        elif node.op == "LeakyRelu":  # ONNX's default slope is 0.01, as PyTorch's
            self.emit(node, "LEAKY_RELU", [self.tensors[x]], output,
                      self.activation_quant(output), nhwc,
                      alpha=float(np.float32(node.attrs.get("alpha", 0.01))))
        else:  # a ReLU or Clip that no layer before it can absorb
            low, high = _clamp_of(self.graph, node)
            if (low, high) == (0.0, math.inf):
                self.emit(node, "RELU", [self.tensors[x]], output,
                          self.activation_quant(output, low, high), nhwc)
            elif (low, high) == (0.0, 6.0):
                self.emit(node, "RELU6", [self.tensors[x]], output, self.quant[x], nhwc)
            else:
                raise ModelError(f"node {node.name!r}: a standalone clamp to [{low:g}, "
                                 f"{high:g}] is not supported; put it after a layer")

    def linear(self, node: FloatNode) -> None:
        if node.op == "Gemm":
            w = self.graph.constants.get(node.inputs[1])
            if w is None:
                raise ModelError(f"node {node.name!r}: Gemm weights must be constant")
            w = (w if node.attrs.get("transB", 0) else w.T) * node.attrs.get("alpha", 1.0)
            bias = (self.graph.constants[node.inputs[2]] * node.attrs.get("beta", 1.0)
                    if len(node.inputs) > 2 and node.inputs[2] else None)
            output = node.outputs[0]
        else:  # MatMul with constant weights, maybe followed by Add of a constant bias
            if node.inputs[1] not in self.graph.constants:
                raise ModelError(f"node {node.name!r}: MatMul needs constant weights")
            w, bias, output = self.graph.constants[node.inputs[1]].T, None, node.outputs[0]
            users = _consumers(self.graph, output)
            if len(users) == 1 and users[0].op == "Add":
                constant = [t for t in users[0].inputs if t in self.graph.constants]
                if constant:
                    bias = self.graph.constants[constant[0]]
                    self.done.add(self.graph.nodes.index(users[0]))
                    output = users[0].outputs[0]
        x = node.inputs[0]
        if x in self.flattened:  # the float flatten ran over C,H,W; ours runs over H,W,C
            source = self.flattened[x]
            c, h, wd = self.values[source].shape[1:]
            w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
            x = source
        if x not in self.tensors:
            raise ModelError(f"node {node.name!r}: its input is not a quantized tensor")
        output, activation, low, high = self.fused(node, output)
        t_w, t_b = self.weights(node, np.asarray(w, np.float64), 0,
                                None if bias is None else np.asarray(bias).reshape(-1),
                                self.quant[x].scale)
        self.emit(node, "FULLY_CONNECTED", [self.tensors[x], t_w, t_b], output,
                  self.activation_quant(output, low, high), False, activation=activation,
                  weights_format=0, keep_num_dims=False)

    def pool(self, node: FloatNode) -> None:
        x = node.inputs[0]
        _, h, w, _ = self.shape(x)
        if node.op == "GlobalAveragePool":
            kernel, strides = (h, w), (1, 1)
        else:
            if any(node.attrs.get("pads", [0, 0, 0, 0])) or node.attrs.get("ceil_mode", 0):
                raise ModelError(f"node {node.name!r}: padded or ceil-mode pooling is not "
                                 f"supported")
            kernel = tuple(node.attrs["kernel_shape"])
            strides = tuple(node.attrs.get("strides", kernel))
        opcode = "MAX_POOL_2D" if node.op == "MaxPool" else "AVERAGE_POOL_2D"
        # TFLM pools keep the input quantization
        self.emit(node, opcode, [self.tensors[x]], node.outputs[0], self.quant[x], True,
                  padding="VALID", stride_h=strides[0], stride_w=strides[1],
                  filter_h=kernel[0], filter_w=kernel[1], activation="NONE")

    def run(self) -> Graph:
        name = self.graph.inputs[0]
        self.new_tensor(name, self.activation_quant(name))
        self.b.inputs.append(self.tensors[name])
        for i, node in enumerate(self.graph.nodes):
            if i in self.done:
                continue
            if node.op == "Conv":
                self.conv(node)
            elif node.op in ("Gemm", "MatMul"):
                self.linear(node)
            elif node.op in ("AveragePool", "MaxPool", "GlobalAveragePool"):
                self.pool(node)
            elif node.op == "Add":
                self.add(node)
            elif node.op == "Concat":
                self.concat(node)
            elif node.op in ("Softmax", "Sigmoid", "Tanh", "HardSwish", "Relu", "Clip",
                             "LeakyRelu"):
                self.elementwise(node)
            elif node.op in ("Flatten", "Reshape", "Identity"):
                source = node.inputs[0]
                if self.values[source].ndim == 4:
                    self.flattened[node.outputs[0]] = source
                else:
                    self.tensors[node.outputs[0]] = self.tensors[source]
                    self.quant[node.outputs[0]] = self.quant[source]
            else:
                raise ModelError(f"node {node.name!r}: {node.op} must follow a layer it can "
                                 f"be fused into")
        output = self.graph.outputs[0]
        if output not in self.tensors:
            raise ModelError("the model's output is not produced by a quantized layer")
        self.b.output(self.tensors[output])
        return self.b.graph()


def quantize_graph(graph: FloatGraph, calibration: np.ndarray,
                   method: str = "minmax") -> tuple[Graph, dict[str, ActivationQuant], list[Layer]]:
    if method not in ("minmax", "percentile"):
        raise ModelError(f"unknown range method {method!r}: minmax or percentile")
    lowering = _Lowering(graph, run_float(graph, calibration), method)
    int8 = lowering.run()
    if not lowering.layers:
        raise ModelError("the model has no layer to quantize")
    return int8, lowering.quant, lowering.layers
