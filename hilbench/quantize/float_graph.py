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


def _gemm(node: FloatNode, a: np.ndarray, b: np.ndarray, c: np.ndarray | None) -> np.ndarray:
    if node.attrs.get("transA", 0):
        a = np.swapaxes(a, -1, -2)
    if node.attrs.get("transB", 0):
        b = b.T
    out = node.attrs.get("alpha", 1.0) * (a @ b)
    return out + node.attrs.get("beta", 1.0) * c if c is not None else out


def run_float(graph: FloatGraph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every tensor of the graph for a batch x (leading axis = vectors)."""
    values: dict[str, np.ndarray] = dict(graph.constants)
    values[graph.inputs[0]] = x.astype(np.float64)
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
        elif node.op == "Clip":
            low = args[1] if len(args) > 1 and args[1] is not None else -np.inf
            high = args[2] if len(args) > 2 and args[2] is not None else np.inf
            out = np.clip(args[0], low, high)
        elif node.op in ("Flatten", "Reshape", "Identity"):
            out = args[0].reshape(args[0].shape[0], -1)
        else:  # the reader refuses other operators before this point
            raise AssertionError(node.op)
        values[node.outputs[0]] = out
    return values
