"""The Cortex-M0 FULLY_CONNECTED path: the requantization window (host), the armv6m
kernel's windowed paths and the straight-line code on the emulated micro:bit, the shared
models that fit, and the touch classifier against its latency budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hilbench.board import load_board
from hilbench.codegen.requant_window import window_record
from hilbench.model.tflite_writer import write_tflite
from hilbench.paths import REPO
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from hilbench.run import RunRequest, run
from support import SHARED_MODELS
from test_cli import hilbench
from test_reference_ops import fc_model

M0 = load_board("qemu-microbit")
EXAMPLE = REPO / "examples" / "touch_classifier"


def _kernel(record, acc):
    lo, hi, mh, ml, ml_shift, neg, add, total_shift = record
    a = np.clip(acc, lo, hi)
    x = a * mh + ((a * ml) >> ml_shift) + (1 << 14)
    x = x + np.where(x < 0, neg, 0)
    return (x + add) >> total_shift


@pytest.mark.parametrize("seed", range(40))
def test_window_record_equals_the_reference_or_is_refused(seed):
    rng = np.random.default_rng(seed)
    multiplier, shift = quantize_multiplier(float(rng.uniform(1e-4, 0.5)))
    zp = int(rng.integers(-128, 128))
    act_min, act_max = (-128, 127) if seed % 3 else (zp, 127)
    acc_min = int(rng.integers(-2**22, 0))
    acc_max = int(rng.integers(0, 2**22))
    record = window_record(multiplier, shift, zp, act_min, act_max, acc_min, acc_max)
    if record is None:
        return
    acc = np.concatenate([np.arange(max(acc_min, record[0] - 3000), record[1] + 3000),
                          rng.integers(acc_min, acc_max + 1, 20000)]).astype(np.int64)
    acc = acc[(acc >= acc_min) & (acc <= acc_max)]
    expected = np.clip(multiply_by_quantized_multiplier(acc, multiplier, shift) + zp,
                       act_min, act_max)
    assert np.array_equal(_kernel(record, acc), expected)


# shapes that reach each path of firmware/kernels/armv6m/fully_connected.c on the M0
KERNEL_CASES = {
    "unrolled_small": dict(in_shape=(1, 12), units=6, in_q=(0.05, 3), out_q=(0.05, -7)),
    "words_kernel": dict(in_shape=(1, 48), units=24, in_q=(0.05, 3), out_q=(0.1, -7)),
    "windowed_kernel_odd_depth": dict(in_shape=(1, 45), units=20, per_channel=True,
                                      activation="RELU", in_q=(0.05, -9), out_q=(0.1, 5)),
    "two_rows_words": dict(in_shape=(3, 32), units=20, in_q=(0.05, 0), out_q=(0.08, 2)),
}


@pytest.mark.parametrize("case", KERNEL_CASES)
def test_armv6m_fc_paths_bit_exact_on_cortex_m0(case, tmp_path):
    path = tmp_path / f"fc-{case}.tflite"
    write_tflite(fc_model(np.random.default_rng(5), **KERNEL_CASES[case]), path)
    result = run(RunRequest(path, M0, 16, seed=5))
    assert result.comparison.bit_exact, result.comparison.first


@pytest.mark.parametrize("model", ["tflm_hello_world_int8", "tflm_micro_speech_int8"])
def test_shared_models_that_fit_are_bit_exact_on_cortex_m0(model):
    result = run(RunRequest(SHARED_MODELS / f"{model}.tflite", M0, 8, seed=0))
    assert result.comparison.bit_exact, result.comparison.first


def test_touch_classifier_meets_its_latency_budget(tmp_path):
    result = hilbench("run", EXAMPLE / "touch_mlp_int8.tflite", "--board", "qemu-microbit",
                      "--budget", EXAMPLE / "budget.toml", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["bit_exact"] and record["latency_us"]["max"] <= 100
