"""Compare target outputs with the host reference: counts, magnitudes, the first mismatch,
and, from the per-layer mode, the first layer where the target diverges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mismatch:
    vector: int
    index: tuple[int, ...]
    expected: float
    actual: float
    output: int = 0  # which model output
    sequence_length: int = 1  # the run's: vectors form sequences of this many

    @property
    def sequence(self) -> int:
        """Which sequence the vector belongs to (0-based; the vector itself when S is 1)."""
        return self.vector // self.sequence_length

    @property
    def step(self) -> int:
        """The vector's step within its sequence (0-based): state carried from step 0."""
        return self.vector % self.sequence_length


@dataclass(frozen=True)
class Comparison:
    values: int
    mismatches: int
    max_abs_diff: float
    first: Mismatch | None
    mismatching_vectors: tuple[int, ...] = ()

    @property
    def bit_exact(self) -> bool:
        return self.mismatches == 0


def _differs(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Element-wise; float outputs compare bit patterns."""
    if expected.dtype.kind == "f":
        differs = expected.view(np.uint8) != actual.view(np.uint8)
        return differs.reshape(expected.shape + (-1,)).any(axis=-1)
    return expected != actual


def compare_outputs(expected: np.ndarray | list[np.ndarray],
                    actual: np.ndarray | list[np.ndarray],
                    sequence_length: int = 1) -> Comparison:
    """(vectors, ...) arrays, one per model output (or one array for one output).
    sequence_length: the vectors form sequences of this many (the first mismatch names
    its sequence and step)."""
    expected_list = expected if isinstance(expected, list) else [expected]
    actual_list = actual if isinstance(actual, list) else [actual]
    values = mismatches = 0
    max_diff = 0.0
    bad_vectors: set[int] = set()
    for k, (e, a) in enumerate(zip(expected_list, actual_list, strict=True)):
        if e.shape != a.shape:
            raise ValueError(f"output {k}: shapes differ: {e.shape} vs {a.shape}")
        differs = _differs(e, a)
        if e.size:
            diff = np.abs(e.astype(np.float64) - a.astype(np.float64))
            max_diff = max(max_diff, float(np.nan_to_num(diff, nan=np.inf).max()))
        values += int(e.size)
        mismatches += int(differs.sum())
        bad_vectors.update(int(v) for v in np.nonzero(differs.reshape(len(e), -1).any(1))[0])
    first = None
    if bad_vectors:  # the earliest vector's first differing value, whichever output
        v = min(bad_vectors)
        for k, (e, a) in enumerate(zip(expected_list, actual_list)):
            row = _differs(e[v], a[v])
            if row.any():
                index = tuple(int(i) for i in np.argwhere(row)[0])
                first = Mismatch(v, index, float(e[v][index]), float(a[v][index]), k,
                                 sequence_length)
                break
    return Comparison(values, mismatches, max_diff, first, tuple(sorted(bad_vectors)))


@dataclass(frozen=True)
class LayerDivergence:
    """The first op whose output on the target differs from the reference's, for one
    vector, read layer by layer."""
    vector: int
    index: int
    op: str
    output_shape: tuple[int, ...]
    differing: int  # values of that op's output that differ
    values: int
    max_abs_diff: float
    first_index: tuple[int, ...]  # within the op's output
    expected: float
    actual: float


def layer_divergence(vector: int, index: int, op: str, expected: np.ndarray,
                     actual: np.ndarray) -> LayerDivergence | None:
    """expected, actual: one op's output for one vector; None when they agree."""
    differs = _differs(expected, actual)
    if not differs.any():
        return None
    position = tuple(int(i) for i in np.argwhere(differs)[0])
    diff = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
    return LayerDivergence(vector, index, op, tuple(expected.shape), int(differs.sum()),
                           int(expected.size), float(diff.max()), position,
                           float(expected[position]), float(actual[position]))
