"""How a team tests its models on its boards with hilbench's pytest plugin.

    pytest --hil-board qemu-microbit --hil-board qemu-mps2-an386 --junitxml=hil.xml

Every test that takes `hil_run` runs once per board; figures land in the JUnit XML."""

from pathlib import Path

import numpy as np
import pytest

from hilbench.paths import DEMO_MODEL  # the keyword-spotting model hilbench ships

TOUCH = Path(__file__).resolve().parents[1] / "touch_classifier" / "touch_mlp_int8.tflite"


# The touch controller's limits on any board: 1 ms and 8 KB of RAM (the micro:bit needs
# about 86 us and 2 KB), outputs bit-exact with the host reference.
@pytest.mark.hilbench(latency_us=1000, ram_bytes=8192, bit_exact=True)
def test_touch_classifier_meets_its_budget(hil_run):
    result = hil_run(TOUCH, vectors=8)
    assert result.vectors == 8


def test_touch_classifier_on_recorded_frames(hil_run, hil_board):
    frames = np.random.default_rng(7).integers(-128, 128, size=(4, 1, 8), dtype=np.int8)
    result = hil_run(TOUCH, data=frames)
    assert result.board == hil_board.name


# 16 KB of RAM on the micro:bit: with tensors that never share bytes (memory="plain", as
# TFLM plans) it is skipped there, with the byte count; runs elsewhere. (The default
# "inplace" plan, whose layers overwrite what they consumed, fits it in the micro:bit.)
def test_keyword_spotting(hil_run):
    hil_run(DEMO_MODEL, vectors=1, memory="plain")
