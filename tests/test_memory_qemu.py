"""The memory modes on QEMU: VWW patch by patch in at most 32 KiB, bit-exact with the
board's default kernels (dsp on the M4), and the shared models' arena figures. The other
shared models run with the default (inplace) plan in test_shared_models.py."""

from __future__ import annotations

import pytest

from hilbench.codegen.c_model import generate_model
from hilbench.model import load_model
from tests.support import SHARED_MODELS, run_bit_exact

VWW = SHARED_MODELS / "vww_mobilenet_v1_025_int8.tflite"
# arenas before this planner (TFLM's greedy-by-size): the new plans may not exceed them
BEFORE = {"kws_ds_cnn_int8": 16_000, "ic_resnet8_int8": 49_152,
          "vww_mobilenet_v1_025_int8": 64_512, "ad_autoencoder_int8": 768}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_arena_figures(name):
    path = SHARED_MODELS / f"{name}.tflite"
    graph = load_model(path)
    plain = generate_model(graph, path.read_bytes(), name, "dsp", "plain").plan.arena_size
    inplace = generate_model(graph, path.read_bytes(), name, "dsp").plan.arena_size
    assert inplace <= plain <= BEFORE[name]
    if name.startswith("vww"):
        assert plain <= 55_296


@pytest.mark.hil
def test_vww_patch_based_fits_32k_and_is_bit_exact(capsys):
    result = run_bit_exact(VWW, "qemu-mps2-an386", vectors=1, memory="patch")
    generated = generate_model(load_model(VWW), VWW.read_bytes(), VWW.stem, "dsp", "patch")
    patches = generated.arena.patches
    assert result.arena_bytes == generated.plan.arena_size <= 32_768
    assert patches is not None and patches.extra_macs > 0
    with capsys.disabled():
        print(f"\nVWW patch plan: ops {patches.first}..{patches.last}, grid "
              f"{patches.grid[0]}x{patches.grid[1]}, arena {result.arena_bytes:,} B, "
              f"extra MACs {patches.extra_macs:,} ({patches.extra_macs / patches.base_macs:.0%}"
              f" of the stage)")
