"""A float model as a list of nodes, and a NumPy executor that keeps every tensor (for
calibration ranges and the per-layer quantization report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FloatNode:
    op: str  # ONNX operator type
    name: str  # ONNX node name, for messages
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class FloatGraph:
    nodes: list[FloatNode]
    constants: dict[str, np.ndarray]
    inputs: list[str]
    outputs: list[str]
    input_shapes: dict[str, tuple[int, ...]]
    # activation quantization already fixed by the model (QDQ form): tensor -> (scale, zp)
    fixed_quant: dict[str, tuple[float, int]] = field(default_factory=dict)


def _gemm(node: FloatNode, a: np.ndarray, b: np.ndarray, c: np.ndarray | None) -> np.ndarray:
    if node.attrs.get("transA", 0):
        a = np.swapaxes(a, -1, -2)
    if node.attrs.get("transB", 0):
        b = b.T
    out = node.attrs.get("alpha", 1.0) * (a @ b)
    return out + node.attrs.get("beta", 1.0) * c if c is not None else out


def _windows(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int],
             dilations: tuple[int, int]) -> tuple[np.ndarray, int, int]:
    """(N, C, kh*kw, out_h, out_w) views of an already padded NCHW tensor."""
    _, _, h, w = x.shape
    kh, kw = kernel
    out_h = (h - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    out_w = (w - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    taps = [x[:, :, ky * dilations[0]: ky * dilations[0] + (out_h - 1) * strides[0] + 1: strides[0],
              kx * dilations[1]: kx * dilations[1] + (out_w - 1) * strides[1] + 1: strides[1]]
            for ky in range(kh) for kx in range(kw)]
    return np.stack(taps, axis=2), out_h, out_w


def _pad4(x: np.ndarray, pads: list[int]) -> np.ndarray:
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def conv_nchw(node: FloatNode, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    group = node.attrs.get("group", 1)
    pads = list(node.attrs.get("pads", [0, 0, 0, 0]))
    strides = tuple(node.attrs.get("strides", [1, 1]))
    dilations = tuple(node.attrs.get("dilations", [1, 1]))
    cols, out_h, out_w = _windows(_pad4(x, pads), w.shape[2:], strides, dilations)
    out_c, in_per_group = w.shape[0], w.shape[1]
    per_group = out_c // group
    outs = []
    for g in range(group):
        xg = cols[:, g * in_per_group:(g + 1) * in_per_group]
        wg = w[g * per_group:(g + 1) * per_group].reshape(per_group, in_per_group, -1)
        outs.append(np.einsum("nckhw,ock->nohw", xg, wg))
    out = np.concatenate(outs, axis=1)
    return out + b.reshape(1, -1, 1, 1) if b is not None else out


def pool_nchw(node: FloatNode, x: np.ndarray) -> np.ndarray:
    if node.op == "GlobalAveragePool":
        return x.mean(axis=(2, 3), keepdims=True)
    cols, _, _ = _windows(x, tuple(node.attrs["kernel_shape"]),
                          tuple(node.attrs.get("strides", [1, 1])), (1, 1))
    return cols.mean(axis=2) if node.op == "AveragePool" else cols.max(axis=2)


def run_float(graph: FloatGraph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every tensor of the graph for a batch x (leading axis = vectors)."""
    values: dict[str, np.ndarray] = dict(graph.constants)
    values[graph.inputs[0]] = x.astype(np.float64).reshape(
        (x.shape[0],) + graph.input_shapes[graph.inputs[0]][1:])
    for node in graph.nodes:
        args = [values[name] if name else None for name in node.inputs]
        if node.op == "Gemm":
            out = _gemm(node, args[0], args[1], args[2] if len(args) > 2 else None)
        elif node.op == "MatMul":
            out = args[0] @ args[1]
        elif node.op == "Add":
            out = args[0] + args[1]
        elif node.op == "Relu":
            out = np.maximum(args[0], 0.0)
        elif node.op == "LeakyRelu":
            out = np.where(args[0] >= 0, args[0], node.attrs.get("alpha", 0.01) * args[0])
        elif node.op == "Clip":
            low = args[1] if len(args) > 1 and args[1] is not None else -np.inf
            high = args[2] if len(args) > 2 and args[2] is not None else np.inf
            out = np.clip(args[0], low, high)
        elif node.op in ("Flatten", "Reshape", "Identity"):
            out = args[0].reshape(args[0].shape[0], -1)
        elif node.op == "Concat":
            out = np.concatenate(args, axis=node.attrs.get("axis", 1))
        elif node.op == "Softmax":
            axis = node.attrs.get("axis", -1)
            e = np.exp(args[0] - args[0].max(axis=axis, keepdims=True))
            out = e / e.sum(axis=axis, keepdims=True)
        elif node.op == "HardSwish":
            out = args[0] * np.clip(args[0] + 3.0, 0.0, 6.0) / 6.0
        elif node.op == "Sigmoid":
            out = 1.0 / (1.0 + np.exp(-args[0]))
        elif node.op == "Tanh":
            out = np.tanh(args[0])
        elif node.op == "BatchNormalization":
            gamma, beta, mean, var = args[1:5]
            shape = (1, -1) + (1,) * (args[0].ndim - 2)
            scale = gamma / np.sqrt(var + node.attrs.get("epsilon", 1e-5))
            out = (args[0] - mean.reshape(shape)) * scale.reshape(shape) + beta.reshape(shape)
        elif node.op == "Conv":
            out = conv_nchw(node, args[0], args[1], args[2] if len(args) > 2 else None)
        elif node.op in ("AveragePool", "MaxPool", "GlobalAveragePool"):
            out = pool_nchw(node, args[0])
        else:  # the reader refuses other operators before this point
            raise AssertionError(node.op)
        values[node.outputs[0]] = _saturate(graph, node.outputs[0], out)
    return values


def _saturate(graph: FloatGraph, name: str, x: np.ndarray) -> np.ndarray:
    """A tensor with prescribed quantization (QDQ models) cannot leave its int8 range: this
    is where the clamps that onnxruntime removed from such models still act."""
    if name not in graph.fixed_quant:
        return x
    scale, zero_point = graph.fixed_quant[name]
    return np.clip(x, (-128 - zero_point) * scale, (127 - zero_point) * scale)
