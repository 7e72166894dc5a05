"""Build the touch-gesture classifier: a small MLP with HardTanh, as touch controllers run.

Input: 4 electrodes x 2 frames of capacitance deltas (8 values). Classes: no touch, tap,
swipe left-to-right, swipe right-to-left. The data are synthetic (this script makes them),
the training is plain NumPy, and the int8 model is written with hilbench's .tflite writer:
weights symmetric per tensor, HardTanh fused as RELU_N1_TO_1. Deterministic (fixed seed).
    python examples/touch_classifier/make_model.py [OUT.tflite]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hilbench.model.builder import GraphBuilder
from hilbench.model.tflite_writer import write_tflite

ELECTRODES, FRAMES, CLASSES, HIDDEN = 4, 2, 4, 8


def synthetic_touches(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, CLASSES, count)
    x = rng.normal(0.0, 0.08, (count, FRAMES, ELECTRODES))
    for i, label in enumerate(labels):
        where = rng.integers(0, ELECTRODES)
        bump = np.exp(-0.5 * ((np.arange(ELECTRODES) - where) / 0.8) ** 2)
        if label == 1:  # tap: the same bump in both frames
            x[i] += bump
        elif label in (2, 3):  # swipe: the bump moves by one electrode
            step = 1 if label == 2 else -1
            x[i, 0] += bump
            x[i, 1] += np.roll(bump, step)
    return x.reshape(count, -1).astype(np.float32), labels


def hardtanh(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -1.0, 1.0)


def train(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    w1 = rng.normal(0, 0.4, (HIDDEN, x.shape[1]))
    b1 = np.zeros(HIDDEN)
    w2 = rng.normal(0, 0.4, (CLASSES, HIDDEN))
    b2 = np.zeros(CLASSES)
    onehot = np.eye(CLASSES)[y]
    for _ in range(600):  # full-batch gradient descent on softmax cross-entropy
        h_pre = x @ w1.T + b1
        h = hardtanh(h_pre)
        logits = h @ w2.T + b2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(x)
        gw2, gb2 = g.T @ h, g.sum(0)
        gh = (g @ w2) * (np.abs(h_pre) < 1)
        gw1, gb1 = gh.T @ x, gh.sum(0)
        for param, grad in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2)):
            param -= 0.5 * grad
    return w1, b1, w2, b2


def quantize_symmetric(w: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.abs(w).max()) / 127
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def build(path: Path) -> float:
    rng = np.random.default_rng(2026)
    x, y = synthetic_touches(4000, rng)
    w1, b1, w2, b2 = train(x, y, rng)
    accuracy = float((np.argmax(hardtanh(x @ w1.T + b1) @ w2.T + b2, 1) == y).mean())

    in_scale = float(np.abs(x).max()) / 127
    hidden_scale = 1 / 127  # HardTanh output range [-1, 1]
    logits = hardtanh(x @ w1.T + b1) @ w2.T + b2
    out_scale = float(np.abs(logits).max()) / 127
    q1, s1 = quantize_symmetric(w1)
    q2, s2 = quantize_symmetric(w2)

    b = GraphBuilder(description="hilbench example: touch gesture MLP (synthetic data)")
    inp = b.input("electrodes", (1, ELECTRODES * FRAMES), scale=in_scale, zero_point=0)
    t_w1 = b.constant("dense1/weights", q1, scale=s1, zero_point=0)
    t_b1 = b.constant("dense1/bias", np.round(b1 / (np.float32(in_scale) * np.float32(s1)))
                      .astype(np.int32), scale=np.float32(in_scale) * np.float32(s1))
    hidden = b.tensor("dense1/hardtanh", (1, HIDDEN), scale=hidden_scale, zero_point=0)
    b.op("FULLY_CONNECTED", [inp, t_w1, t_b1], [hidden], activation="RELU_N1_TO_1",
         weights_format=0, keep_num_dims=False)
    t_w2 = b.constant("dense2/weights", q2, scale=s2, zero_point=0)
    t_b2 = b.constant("dense2/bias", np.round(b2 / (np.float32(hidden_scale) * np.float32(s2)))
                      .astype(np.int32), scale=np.float32(hidden_scale) * np.float32(s2))
    out = b.tensor("gesture_scores", (1, CLASSES), scale=out_scale, zero_point=0)
    b.op("FULLY_CONNECTED", [hidden, t_w2, t_b2], [out], activation="NONE",
         weights_format=0, keep_num_dims=False)
    b.output(out)
    write_tflite(b.graph(), path)
    return accuracy


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name(
        "touch_mlp_int8.tflite")
    print(f"float accuracy on the synthetic set: {build(target):.3f}; wrote {target}")
