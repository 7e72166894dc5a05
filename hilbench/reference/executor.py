"""The batched host reference: runs a Graph over many test vectors at once.

Outputs are bit-exact with TFLM's reference kernels. Every array carries a leading vector
axis in front of the tensor's own shape: a model input of shape (1, 49, 10, 1) takes
X of shape (N, 1, 49, 10, 1) and gives outputs of shape (N,) + output shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from hilbench.errors import InputError, ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator, Tensor
from hilbench.model.validate import validate_graph, validate_op, working_bytes
from hilbench.reference.kernels import KERNELS, Kernel

WORKING_MEMORY = 256 << 20  # bytes of temporaries one chunk of vectors may use
MAX_CHUNK = 4096


@dataclass
class PreparedOp:
    op: Operator
    kernel: Kernel
    params: Any


@dataclass
class ReferenceResult:
    outputs: list[np.ndarray]
    intermediates: list[np.ndarray] = field(default_factory=list)  # op i's first output


def prepare(graph: Graph) -> list[PreparedOp]:
    """Validate every operator and precompute its parameters; raises on the first problem."""
    validate_graph(graph)  # again: graphs also come from the quantizer and the API
    prepared = []
    for op in graph.operators:
        kernel = KERNELS.get(op.opcode)
        if kernel is None:
            raise UnsupportedOperatorError(op.opcode, op.index)
        validate_op(graph, op)  # counts, options and sizes before the kernel's Prepare
        try:
            params = kernel.prepare(graph, op)
        except ModelError as exc:
            if type(exc) is ModelError and not str(exc).startswith("op "):
                raise ModelError(f"op {op.index} {op.opcode}: {exc}") from None  # say where
            raise
        prepared.append(PreparedOp(op, kernel, params))
    for t in graph.input_tensors:
        if t.dtype not in (np.int8, np.float32):
            raise ModelError(f"model input {t.name!r} is {t.dtype.name}; hilbench runs "
                             f"int8 models (or float32 inputs quantized by the model)")
    return prepared


class Reference:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.ops = prepare(graph)

    def run(self, inputs: Sequence[np.ndarray], intermediates: bool = False,
            chunk: int | None = None) -> ReferenceResult:
        arrays = self._check_inputs(inputs)
        count = arrays[0].shape[0]
        chunk = chunk or self.chunk_size()
        parts = [self._run_chunk([a[i:i + chunk] for a in arrays], intermediates)
                 for i in range(0, max(count, 1), chunk)]
        outputs = [np.concatenate([p.outputs[k] for p in parts])
                   for k in range(len(self.graph.outputs))]
        layers = ([np.concatenate([p.intermediates[k] for p in parts])
                   for k in range(len(self.ops))] if intermediates else [])
        return ReferenceResult(outputs, layers)

    def chunk_size(self) -> int:
        """Vectors per chunk: as many as keep the largest layer's temporaries (im2col
        columns, int64 requantization arrays) within WORKING_MEMORY."""
        per_vector = max((working_bytes(self.graph, p.op) for p in self.ops), default=1)
        return int(np.clip(WORKING_MEMORY // per_vector, 1, MAX_CHUNK))

    def _check_inputs(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        expected = self.graph.input_tensors
        if len(inputs) != len(expected):
            raise InputError(f"model has {len(expected)} input(s), got {len(inputs)}")
        arrays = []
        for tensor, array in zip(expected, inputs):
            arrays.append(_as_batch(tensor, np.asarray(array)))
        counts = {a.shape[0] for a in arrays}
        if len(counts) > 1:
            raise InputError(f"inputs hold different numbers of vectors: {sorted(counts)}")
        return arrays

    def _run_chunk(self, inputs: list[np.ndarray], keep: bool) -> ReferenceResult:
        values: dict[int, np.ndarray] = dict(zip(self.graph.inputs, inputs))
        layers = []
        for prepared in self.ops:
            op = prepared.op
            positions = (prepared.kernel.data_inputs if prepared.kernel.data_inputs is not None
                         else range(len(op.inputs)))
            args = [self._value(values, op.inputs[p]) for p in positions]
            result = prepared.kernel.run(prepared.params, args)
            declared = self.graph.tensor(op.outputs[0]).shape
            if result.shape[1:] != declared:  # same values (Prepare checked the sizes), in
                result = result.reshape(result.shape[:1] + declared)  # the declared layout
            values[op.outputs[0]] = result
            if keep:
                layers.append(result)
        outputs = [self._value(values, i) for i in self.graph.outputs]
        return ReferenceResult(outputs, layers)

    def _value(self, values: dict[int, np.ndarray], index: int) -> np.ndarray:
        if index in values:
            return values[index]
        tensor = self.graph.tensor(index)
        if tensor.data is None:
            raise ModelError(f"tensor {tensor.name!r} is read before any op writes it")
        return tensor.data[np.newaxis]  # constants broadcast over the vector axis


def _as_batch(tensor: Tensor, array: np.ndarray) -> np.ndarray:
    """Accept (N,) + shape, or (N,) + shape[1:] when the model's batch dimension is 1."""
    shape = tensor.shape
    if tensor.dtype == np.int8 and array.dtype != np.int8:
        raise InputError(f"input {tensor.name!r} must be int8, got {array.dtype.name}")
    if tensor.dtype == np.float32 and not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"input {tensor.name!r} must be float32, got {array.dtype.name}")
    if array.shape[1:] == shape:
        batch = array
    elif shape and shape[0] == 1 and array.shape[1:] == shape[1:]:
        batch = array.reshape((array.shape[0],) + shape)
    else:
        raise InputError(f"input {tensor.name!r} has shape {tuple(array.shape)}; expected "
                         f"(N, {', '.join(map(str, shape))}) with N test vectors")
    return batch.astype(tensor.dtype, copy=False)
