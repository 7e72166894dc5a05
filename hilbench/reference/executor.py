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
        if t.dtype not in (np.int8, np.int16, np.float32):
            raise ModelError(f"model input {t.name!r} is {t.dtype.name}; hilbench runs "
                             f"int8 and int16 models (or float32 inputs quantized by the "
                             f"model)")
    return prepared


class Reference:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.ops = prepare(graph)

    def run(self, inputs: Sequence[np.ndarray], intermediates: bool = False,
            chunk: int | None = None, sequence_length: int = 1) -> ReferenceResult:
        """sequence_length S: the vectors form sequences of S consecutive vectors; variable
        tensors (op state) are reset at the start of each sequence. Sequences of a chunk
        run side by side, the steps of a sequence one after the other."""
        arrays = self._check_inputs(inputs)
        count = arrays[0].shape[0]
        steps = _sequence_length(sequence_length, count)
        per_chunk = max((chunk or self.chunk_size()) // steps, 1) * steps
        parts = [self._run_sequences([a[i:i + per_chunk] for a in arrays], intermediates,
                                     steps)
                 for i in range(0, max(count, 1), per_chunk)]
        outputs = [np.concatenate([p.outputs[k] for p in parts])
                   for k in range(len(self.graph.outputs))]
        layers = ([np.concatenate([p.intermediates[k] for p in parts])
                   for k in range(len(self.ops))] if intermediates else [])
        return ReferenceResult(outputs, layers)

    def _run_sequences(self, inputs: list[np.ndarray], keep: bool,
                       steps: int) -> ReferenceResult:
        """One chunk of whole sequences: step s of every sequence at once, with the state
        those sequences reached at step s - 1 (fresh state for the chunk)."""
        if steps == 1:  # every vector starts from reset state: no reordering needed
            return self._run_chunk(inputs, keep, {})
        count = inputs[0].shape[0]
        state: dict[int, np.ndarray] = {}
        results = [self._run_chunk([a[s::steps] for a in inputs], keep, state)
                   for s in range(steps)]

        def interleave(arrays: list[np.ndarray]) -> np.ndarray:
            # row q * steps + s of the chunk is step s of sequence q
            out = np.empty((count,) + arrays[0].shape[1:], arrays[0].dtype)
            for s, a in enumerate(arrays):
                out[s::steps] = a
            return out

        outputs = [interleave([r.outputs[k] for r in results])
                   for k in range(len(self.graph.outputs))]
        layers = ([interleave([r.intermediates[k] for r in results])
                   for k in range(len(self.ops))] if keep else [])
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

    def _run_chunk(self, inputs: list[np.ndarray], keep: bool,
                   state: dict[int, np.ndarray]) -> ReferenceResult:
        """`state`: the variable tensors' arrays, one row per vector, kept by the caller
        between steps; a stateful kernel updates them in place."""
        values: dict[int, np.ndarray] = dict(zip(self.graph.inputs, inputs))
        rows = inputs[0].shape[0] if inputs else 1
        layers = []
        for prepared in self.ops:
            op = prepared.op
            positions = (prepared.kernel.data_inputs if prepared.kernel.data_inputs is not None
                         else range(len(op.inputs)))
            args = [self._value(values, op.inputs[p], state, rows) for p in positions]
            results = op_results(prepared.kernel.run(prepared.params, args))
            for index, result in zip(op.outputs, results):  # every output, for its readers
                tensor = self.graph.tensor(index)
                values[index] = _declared_layout(result, tensor.shape)
                if tensor.is_variable:
                    state[index] = values[index]  # an op that outputs its state
            if keep:
                layers.append(values[op.outputs[0]])
        outputs = [self._value(values, i, state, rows) for i in self.graph.outputs]
        return ReferenceResult(outputs, layers)

    def _value(self, values: dict[int, np.ndarray], index: int,
               state: dict[int, np.ndarray] | None = None, rows: int = 1) -> np.ndarray:
        if index in values:
            return values[index]
        tensor = self.graph.tensor(index)
        if tensor.is_variable and state is not None:
            if index not in state:  # not written yet in this sequence: its reset value
                state[index] = np.full((rows,) + tensor.shape, tensor.reset_value,
                                       tensor.dtype)
            return state[index]
        if tensor.data is None:
            raise ModelError(f"tensor {tensor.name!r} is read before any op writes it")
        return tensor.data[np.newaxis]  # constants broadcast over the vector axis


def _declared_layout(result: np.ndarray, declared: tuple[int, ...]) -> np.ndarray:
    """A kernel's result in its output tensor's declared shape: the same values (Prepare
    checked the sizes), in the layout the model declares."""
    if result.shape[1:] == declared:
        return result
    return result.reshape(result.shape[:1] + declared)


def op_results(result: np.ndarray | tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """A kernel's result as one array per op output: multi-output kernels (SPLIT, UNPACK)
    return a tuple, the others one array."""
    return result if isinstance(result, tuple) else (result,)


def _sequence_length(steps: int, count: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"sequence length must be a positive integer, got {steps!r}")
    if count % steps:
        raise InputError(f"{count} vectors do not form sequences of {steps}: give a "
                         f"multiple of the sequence length")
    return int(steps)


def _as_batch(tensor: Tensor, array: np.ndarray) -> np.ndarray:
    """Accept (N,) + shape, or (N,) + shape[1:] when the model's batch dimension is 1."""
    shape = tensor.shape
    if tensor.dtype in (np.int8, np.int16) and array.dtype != tensor.dtype:
        raise InputError(f"input {tensor.name!r} must be {tensor.dtype.name}, "
                         f"got {array.dtype.name}")
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
