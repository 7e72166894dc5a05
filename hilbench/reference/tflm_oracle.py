"""TFLM's own interpreter (PyPI `tflite-micro`) as the oracle the host reference must match.

A test and benchmark dependency, not a runtime one: imported lazily, with a clear error
when it is missing. The interpreter runs one vector per invoke, so this loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hilbench.errors import ConfigError
from hilbench.model.graph import Graph


@dataclass
class OracleResult:
    outputs: list[np.ndarray]  # (N,) + output shape each
    intermediates: list[np.ndarray]  # op i's first output, (N,) + shape


def _runtime():
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("the TFLM oracle needs the 'tflite-micro' package "
                          "(pip install -e '.[test]')") from exc
    return runtime


class TflmOracle:
    def __init__(self, model: bytes | str | Path, graph: Graph,
                 preserve_all_tensors: bool = True) -> None:
        runtime = _runtime()
        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        config = (runtime.InterpreterConfig.kPreserveAllTensors if preserve_all_tensors
                  else runtime.InterpreterConfig.kAllocationRecording)
        self.graph = graph
        # the default arena (10x the model size) is too small for tiny models with big tensors
        self.interpreter = runtime.Interpreter.from_bytes(
            data, arena_size=10 * len(data) + (1 << 20), intrepreter_config=config)

    def invoke(self, vector: np.ndarray) -> None:
        self.interpreter.reset()  # variable tensors (LSTM state) start from their reset value
        self.interpreter.set_input(vector, 0)
        self.interpreter.invoke()

    def run(self, x: np.ndarray, intermediates: bool = False) -> OracleResult:
        shape = self.graph.input_tensors[0].shape
        x = x.reshape((x.shape[0],) + shape)
        outputs: list[list[np.ndarray]] = [[] for _ in self.graph.outputs]
        layers: list[list[np.ndarray]] = [[] for _ in self.graph.operators]
        for vector in x:
            self.invoke(vector)
            for k in range(len(self.graph.outputs)):
                outputs[k].append(np.array(self.interpreter.get_output(k)))
            if intermediates:
                for op in self.graph.operators:
                    layers[op.index].append(
                        np.array(self.interpreter.GetTensor(op.outputs[0], 0)["tensor_data"]))
        stacked = [np.stack(o).reshape((x.shape[0],) + t.shape)
                   for o, t in zip(outputs, self.graph.output_tensors)]
        stacked_layers = ([np.stack(l).reshape((x.shape[0],) + self.graph.tensor(op.outputs[0]).shape)
                           for l, op in zip(layers, self.graph.operators)] if intermediates else [])
        return OracleResult(stacked, stacked_layers)
