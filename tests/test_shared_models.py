"""The host reference against TFLM's interpreter on every third-party model in
../shared/models: 200 vectors uniform over int8 and 200 near the input zero point,
comparing the outputs and every intermediate tensor."""

from __future__ import annotations

import numpy as np
import pytest

from hilbench.model import load_model
from hilbench.reference import Reference
from support import SHARED_MODELS, compare_with_tflm, shared_models

MODELS = shared_models()


def test_shared_models_present():
    assert len(MODELS) >= 6, f"expected the shared models in {SHARED_MODELS}"


@pytest.mark.oracle
@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_bit_exact_with_tflm_including_intermediates(path):
    graph = load_model(path)
    mismatches = compare_with_tflm(graph, path.read_bytes(), count=200, seed=7)
    assert mismatches == {"uniform": 0, "near_zp": 0}


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_golden_outputs(path):
    """The recorded outputs in golden/ (made by a pinned TFLM build) reproduce exactly."""
    golden = SHARED_MODELS / "golden"
    x = np.load(golden / f"{path.stem}.inputs.npy")
    expected = np.load(golden / f"{path.stem}.tflm_outputs.npy")
    got = Reference(load_model(path)).run([x]).outputs[0]
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_near_zero_point_inputs_exercise_the_model():
    """Guard against a vacuous check: near-zero-point vectors must move the VWW outputs,
    which uniform vectors barely do."""
    from support import vectors

    graph = load_model(SHARED_MODELS / "vww_mobilenet_v1_025_int8.tflite")
    x = vectors(graph.input_tensors[0], 20, np.random.default_rng(0), "near_zp")
    out = Reference(graph).run([x]).outputs[0]
    assert len(np.unique(out.reshape(20, -1), axis=0)) > 1
