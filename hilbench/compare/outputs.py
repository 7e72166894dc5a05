"""Compare target outputs with the host reference: counts, magnitudes, first divergence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mismatch:
    vector: int
    index: tuple[int, ...]
    expected: float
    actual: float


@dataclass(frozen=True)
class Comparison:
    values: int
    mismatches: int
    max_abs_diff: float
    first: Mismatch | None

    @property
    def bit_exact(self) -> bool:
        return self.mismatches == 0


def compare_outputs(expected: np.ndarray, actual: np.ndarray) -> Comparison:
    """Element-wise comparison of (vectors, ...) arrays; float outputs compare bit patterns."""
    if expected.shape != actual.shape:
        raise ValueError(f"shapes differ: {expected.shape} vs {actual.shape}")
    if expected.dtype.kind == "f":
        differs = expected.view(np.uint8) != actual.view(np.uint8)
        differs = differs.reshape(expected.shape + (-1,)).any(axis=-1)
    else:
        differs = expected != actual
    diff = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
    first = None
    if differs.any():
        position = tuple(int(i) for i in np.argwhere(differs)[0])
        first = Mismatch(position[0], position[1:], float(expected[position]),
                         float(actual[position]))
    return Comparison(int(expected.size), int(differs.sum()),
                      float(diff.max()) if diff.size else 0.0, first)
