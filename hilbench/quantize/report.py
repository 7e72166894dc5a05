"""What quantization cost: per layer and output, SNR (dB) and cosine similarity between the
float model and the dequantized int8 model, and top-1 agreement of the outputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.model.graph import Graph
from hilbench.quantize.float_graph import FloatGraph, run_float
from hilbench.quantize.quantizer import ActivationQuant, Layer
from hilbench.reference import Reference


@dataclass(frozen=True)
class LayerCost:
    name: str
    snr_db: float
    cosine: float


@dataclass(frozen=True)
class QuantizationReport:
    dataset: str
    vectors: int
    layers: list[LayerCost]
    top1_agreement: float


def to_int8_layout(x: np.ndarray) -> np.ndarray:
    """Float NCHW batches as the int8 model's NHWC."""
    return x.transpose(0, 2, 3, 1) if x.ndim == 4 else x


def _snr(f: np.ndarray, d: np.ndarray) -> float:
    noise = float(np.sum((f - d) ** 2))
    signal = float(np.sum(f ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(max(signal, 1e-30) / noise)


def _cosine(f: np.ndarray, d: np.ndarray) -> float:
    norm = float(np.linalg.norm(f) * np.linalg.norm(d))
    return 1.0 if norm == 0 else float(np.sum(f * d) / norm)


def quantization_report(dataset: str, float_graph: FloatGraph, int8_graph: Graph,
                        quant: dict[str, ActivationQuant], layers: list[Layer],
                        x: np.ndarray) -> QuantizationReport:
    expected = run_float(float_graph, x)
    q_in = quant[float_graph.inputs[0]].quantize(to_int8_layout(expected[float_graph.inputs[0]]))
    result = Reference(int8_graph).run([q_in.reshape((x.shape[0],) + int8_graph.input_tensors[0].shape)],
                                       intermediates=True)
    costs = []
    for layer in layers:
        f = to_int8_layout(expected[layer.output]).reshape(x.shape[0], -1)
        q = result.intermediates[layer.int8_op]
        d = quant[layer.output].dequantize(q.reshape(x.shape[0], -1))
        costs.append(LayerCost(layer.name, _snr(f, d), _cosine(f, d)))
    f_out = expected[layers[-1].output].reshape(x.shape[0], -1)
    q_out = result.outputs[0].reshape(x.shape[0], -1).astype(np.int32)
    agreement = float(np.mean(np.argmax(f_out, axis=1) == np.argmax(q_out, axis=1)))
    return QuantizationReport(dataset, x.shape[0], costs, agreement)
