"""The memory modes on QEMU: VWW patch by patch in at most 32 KiB, bit-exact with the
board's default kernels (dsp on the M4), and the shared models' arena figures. The other
shared models run with the default (inplace) plan in test_shared_models.py."""

from __future__ import annotations

import json

import jsonschema
import pytest

from hilbench import api
from hilbench.board import load_board
from hilbench.codegen.c_model import generate_model, plan_model_memory
from hilbench.model import load_model
from hilbench.reference.executor import prepare
from hilbench.toolchain.firmware import ram_limits
from tests.support import SHARED_MODELS, roundtrip, run_bit_exact
from tests.test_memory_plan import random_graph

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


@pytest.mark.hil
def test_auto_meets_a_ram_budget_with_patches_and_says_why(tmp_path):
    """A small CNN whose inplace plan does not fit the budget: auto takes a patch plan
    (the fewest MACs that fit), bit-exact, within the measured RAM; per-layer compare checks
    the ops outside the stage, the profile shows the stage as one row, the JSON says it all."""
    graph, data = roundtrip(random_graph(8))
    model = tmp_path / "small_cnn.tflite"
    model.write_bytes(data)
    board = load_board("qemu-mps2-an386")
    _, inplace = plan_model_memory(graph, prepare(graph), board.build.kernels, "inplace")
    budget = ram_limits(board, 0)[1].need(inplace.plan) - 16  # inplace misses by 16 B

    result = api.run(model, board, vectors=2, memory="auto", budgets={"ram_bytes": budget},
                     per_layer=True)
    memory = result.memory
    assert result.passed, [c for c in result.checks if not c.passed]  # RAM measured too
    assert memory is not None and memory.requested == "auto" and memory.mode == "patch"
    assert memory.patch_stage is not None and "budget ram_bytes" in memory.reason
    assert result.first_divergence is None
    first, last = memory.patch_stage
    assert result.timing.layers[first].op == f"patch stage ops {first}..{last}"
    assert [l.index for l in result.timing.layers] == \
        [i for i in range(len(graph.operators)) if not first < i <= last]

    document = json.loads(result.to_json(profile=True))
    jsonschema.validate(document, api.run_schema())
    assert document["memory"]["mode"] == "patch" and document["memory"]["requested"] == "auto"
    assert document["ram_bytes"]["total"] <= budget
