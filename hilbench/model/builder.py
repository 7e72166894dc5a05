"""Build a Graph by hand: tensors by name, ops in order. Used by tests and the quantizer."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from hilbench.model.graph import Graph, Operator, Quantization, Tensor


class GraphBuilder:
    def __init__(self, description: str = "") -> None:
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.description = description

    def tensor(self, name: str, shape: Sequence[int], dtype: Any = np.int8,
               scale: float | Sequence[float] | None = None,
               zero_point: int | Sequence[int] = 0, axis: int = 0,
               data: np.ndarray | None = None) -> int:
        quantization = None
        if scale is not None:
            scales = np.atleast_1d(np.asarray(scale, dtype=np.float32))
            zero_points = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
            if zero_points.size == 1 and scales.size > 1:
                zero_points = np.repeat(zero_points, scales.size)
            quantization = Quantization(scales, zero_points, axis)
        dtype = np.dtype(dtype)
        if data is not None:
            data = np.asarray(data, dtype=dtype).reshape(tuple(shape))
        index = len(self.tensors)
        self.tensors.append(Tensor(index, name, tuple(int(d) for d in shape), dtype,
                                   quantization, data))
        return index

    def constant(self, name: str, data: np.ndarray, **quantization: Any) -> int:
        data = np.asarray(data)
        return self.tensor(name, data.shape, data.dtype, data=data, **quantization)

    def input(self, name: str, shape: Sequence[int], dtype: Any = np.int8, **kw: Any) -> int:
        index = self.tensor(name, shape, dtype, **kw)
        self.inputs.append(index)
        return index

    def variable(self, name: str, shape: Sequence[int], dtype: Any = np.int16,
                 **quantization: Any) -> int:
        """A state tensor (LSTM/SVDF): no data, not a graph input, kept between
        invocations by the runtime."""
        index = self.tensor(name, shape, dtype, **quantization)
        self.tensors[index].is_variable = True
        return index

    def op(self, opcode: str, inputs: Sequence[int], outputs: Sequence[int],
           **options: Any) -> int:
        self.operators.append(Operator(len(self.operators), opcode, list(inputs),
                                       list(outputs), dict(options)))
        return outputs[0]

    def output(self, *indices: int) -> None:
        self.outputs.extend(indices)

    def graph(self) -> Graph:
        return Graph(self.tensors, self.operators, self.inputs, self.outputs, self.description)
