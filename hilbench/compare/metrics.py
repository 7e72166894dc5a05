"""How far the target's outputs are from the host reference's, for runtimes that are not
meant to be bit-exact, and how well both classify labelled data.

Computed on dequantized values (real = scale × (q − zero point); float outputs as they
are), as ST's validation reports them:
- l2r: ‖target − reference‖₂ / ‖reference‖₂ (0 when both are zero),
- mae, rmse: mean absolute and root-mean-square error,
- cosine: cosine similarity of the flattened outputs (1 when identical),
- top1_agreement: the share of vectors whose arg-max class is the same,
- accuracy (with labels): the share of vectors whose arg-max is the label, on the target
  and on the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.model.graph import Tensor

# limits a user may set with --tolerance, and whether each is a maximum or a minimum
TOLERANCES = {"max_abs_diff": "max", "l2r": "max", "mae": "max", "rmse": "max",
              "cosine": "min", "top1_agreement": "min"}


@dataclass(frozen=True)
class OutputMetrics:
    l2r: float
    mae: float
    rmse: float
    cosine: float
    top1_agreement: float
    accuracy: float | None = None  # on the target, with labels
    reference_accuracy: float | None = None


def dequantize(values: np.ndarray, tensor: Tensor) -> np.ndarray:
    if values.dtype.kind == "f" or tensor.quantization is None:
        return values.astype(np.float64)
    return (values.astype(np.float64) - tensor.zero_point) * float(tensor.scale)


def output_metrics(expected: np.ndarray, actual: np.ndarray, tensor: Tensor,
                   labels: np.ndarray | None = None) -> OutputMetrics:
    """expected, actual: (vectors, ...) of one model output."""
    reference = dequantize(expected, tensor).reshape(len(expected), -1)
    target = dequantize(actual, tensor).reshape(len(actual), -1)
    diff = target - reference
    norm = float(np.linalg.norm(reference))
    error = float(np.linalg.norm(diff))
    l2r = error / norm if norm else (0.0 if error == 0 else float("inf"))
    norms = float(np.linalg.norm(target)) * norm
    cosine = float(np.dot(target.ravel(), reference.ravel()) / norms) if norms else \
        (1.0 if error == 0 else 0.0)
    top_target, top_reference = target.argmax(axis=1), reference.argmax(axis=1)
    accuracy = reference_accuracy = None
    if labels is not None:
        accuracy = float(np.mean(top_target == labels))
        reference_accuracy = float(np.mean(top_reference == labels))
    return OutputMetrics(l2r=l2r, mae=float(np.abs(diff).mean()),
                         rmse=float(np.sqrt(np.mean(diff ** 2))), cosine=cosine,
                         top1_agreement=float(np.mean(top_target == top_reference)),
                         accuracy=accuracy, reference_accuracy=reference_accuracy)
