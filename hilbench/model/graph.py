"""hilbench's own small graph representation of a quantized model.

Everything downstream of the loader (reference, codegen, reports) works on these records,
never on flatbuffer objects, so a second front end (ONNX) only has to produce a Graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point).

    Per-tensor when scale has one element; per-channel along `axis` otherwise.
    Scales are kept as float32 because TFLM computes with the float32 values of the file.
    """

    scale: np.ndarray  # float32, shape (n,)
    zero_point: np.ndarray  # int64, shape (n,)
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    @property
    def scalar_scale(self) -> np.float32:
        return np.float32(self.scale[0])

    @property
    def scalar_zero_point(self) -> int:
        return int(self.zero_point[0])

    def describe(self) -> str:
        if self.per_channel:
            return (f"per-channel[{self.scale.size}] axis {self.axis} "
                    f"scale {float(self.scale.min()):.3g}..{float(self.scale.max()):.3g}")
        return f"{float(self.scale[0]):.6g} zp {int(self.zero_point[0])}"


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quantization: Quantization | None = None
    data: np.ndarray | None = None  # constant data (weights, biases, shape operands)
    # state kept between invocations (LSTM/SVDF); reset as TFLM's ResetVariableTensors
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def reset_value(self) -> int:
        """What TFLM's MicroGraph::ResetVariableTensors writes into a variable tensor: the
        zero point (as a byte) for int8, 0 for every other type."""
        if self.dtype == np.int8 and self.quantization is not None:
            return self.zero_point
        return 0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def scale(self) -> np.float32:
        assert self.quantization is not None, f"tensor {self.name!r} is not quantized"
        return self.quantization.scalar_scale

    @property
    def zero_point(self) -> int:
        assert self.quantization is not None, f"tensor {self.name!r} is not quantized"
        return self.quantization.scalar_zero_point


@dataclass
class Operator:
    index: int
    opcode: str  # TFLite builtin name, e.g. "CONV_2D"
    inputs: list[int]  # tensor indices; -1 marks an omitted optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    @property
    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    @property
    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]
