"""Synthetic data sets for the quantizer tests, and the committed ONNX models trained on
them (tests/fixtures/*.onnx, made by tests/fixtures/make_fixtures.py).

Plain NumPy, no PyTorch: the tests regenerate the calibration and evaluation arrays from
fixed seeds (cheap, and far smaller than committing them as .npy), exactly as the training
script does, so a model and its data always belong together.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hilbench.paths import REPO

FIXTURES = Path(__file__).resolve().parent / "fixtures"

sys.path.insert(0, str(REPO / "examples" / "touch_classifier"))
from make_model import synthetic_touches  # noqa: E402


def shapes(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """12x12 images: a horizontal bar, a vertical bar, a diagonal, a blob; noise, shifts."""
    labels = rng.integers(0, 4, count)
    x = rng.normal(0, 0.15, (count, 1, 12, 12)).astype(np.float32)
    for i, label in enumerate(labels):
        r, c = rng.integers(2, 10, 2)
        if label == 0:
            x[i, 0, r, 1:11] += 1.0
        elif label == 1:
            x[i, 0, 1:11, c] += 1.0
        elif label == 2:
            for k in range(-4, 5):
                if 0 <= r + k < 12 and 0 <= c + k < 12:
                    x[i, 0, r + k, c + k] += 1.0
        else:
            x[i, 0, r - 2:r + 2, c - 2:c + 2] += 1.0
    return x, labels


def signals(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two-channel 1-D signals of 32 samples (a sensor's x and y): a slow sine, a fast
    sine, a pulse on one channel, a ramp on both; random phase, amplitude, position, noise."""
    labels = rng.integers(0, 4, count)
    t = np.arange(32)
    x = rng.normal(0, 0.2, (count, 2, 32)).astype(np.float32)
    for i, label in enumerate(labels):
        amplitude, phase = rng.uniform(0.7, 1.3), rng.uniform(0, 2 * np.pi)
        channel = rng.integers(0, 2)
        if label == 0:
            x[i, channel] += amplitude * np.sin(2 * np.pi * t / 16 + phase)
        elif label == 1:
            x[i, channel] += amplitude * np.sin(2 * np.pi * t / 4 + phase)
        elif label == 2:
            start = rng.integers(2, 24)
            x[i, channel, start:start + 6] += 1.5 * amplitude
        else:
            x[i] += amplitude * (t / 16.0 - 1.0)
    return x, labels


def touch_train() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_touches(3000, np.random.default_rng(0))


def cnn_train() -> tuple[np.ndarray, np.ndarray]:
    return shapes(2000, np.random.default_rng(0))


def branchy_train() -> tuple[np.ndarray, np.ndarray]:
    return shapes(1200, np.random.default_rng(2))


def conv1d_train() -> tuple[np.ndarray, np.ndarray]:
    return signals(2000, np.random.default_rng(4))


# name -> (training set, calibration rows taken from its head, held-out set): the data
# each committed model was trained on, and what the tests calibrate and evaluate it with
DATA = {
    "touch_mlp": (touch_train, 400, lambda: synthetic_touches(1000, np.random.default_rng(1))),
    "cnn": (cnn_train, 400, lambda: shapes(1000, np.random.default_rng(1))),
    "branchy": (branchy_train, 300, lambda: shapes(500, np.random.default_rng(3))),
    "conv1d": (conv1d_train, 400, lambda: signals(1000, np.random.default_rng(5))),
}


def calib_and_eval(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Calibration and held-out inputs for the committed model `name` (branchy_bn shares
    branchy's)."""
    train, calib_rows, held_out = DATA[name.removesuffix("_bn")]
    return train()[0][:calib_rows], held_out()[0]
