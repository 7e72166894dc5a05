"""Instruction counts, profiles, budgets and baselines (issue #4), on QEMU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from hilbench.board import load_board
from hilbench.paths import FIRMWARE_DIR
from hilbench.run import RunRequest, run
from hilbench.timing.cycle_model import CLASS_COSTS, estimate_cycles
from support import SHARED_MODELS, hilbench

# the models and boards of test_run_qemu, test_boards and test_examples

BOARD = load_board("qemu-mps2-an386")
KWS = SHARED_MODELS / "kws_ds_cnn_int8.tflite"
MICRO_SPEECH = SHARED_MODELS / "tflm_micro_speech_int8.tflite"


@pytest.mark.hil
def test_instruction_counts_identical_over_three_runs():
    runs = [run(RunRequest(MICRO_SPEECH, BOARD, 4, seed=5)) for _ in range(3)]
    signatures = [(r.timing.instructions, [l.instructions for l in r.timing.layers])
                  for r in runs]
    assert signatures[0] == signatures[1] == signatures[2]
    assert runs[0].timing.instructions.max > 100_000


@pytest.mark.hil
def test_layers_add_up_to_the_inference():
    result = run(RunRequest(KWS, BOARD, 2, seed=1))
    t = result.timing
    layer_sum = sum(l.instructions for l in t.layers)
    total = int(t.instructions.max)
    assert layer_sum + t.overhead_instructions == total
    assert abs(total - layer_sum) / total < 0.02
    assert len(t.layers) == 13 and all(l.instructions > 0 for l in t.layers)
    assert t.cycles_estimated and t.cycles.max > total  # M4 loads cost 2 cycles


@pytest.mark.hil
def test_json_timing_keys(tmp_path):
    result = hilbench("run", MICRO_SPEECH, "--vectors", 2, "--profile", "--json",
                      tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert isinstance(record["instructions"], int)
    assert set(record["cycles"]) == {"min", "median", "max", "estimated", "source"}
    assert record["cycles"]["estimated"] is True
    assert set(record["latency_us"]) == {"min", "median", "max", "estimated", "source"}
    assert record["clock_hz"] == 25_000_000
    assert record["latency_us"]["max"] == pytest.approx(record["cycles"]["max"] / 25, rel=1e-6)
    assert [layer["op"] for layer in record["layers"]] == [
        "RESHAPE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    for layer in record["layers"]:
        assert set(layer) == {"index", "op", "macs", "instructions", "cycles"}
    assert "per-layer profile" in result.stdout and "cycles/MAC" in result.stdout


def _budget(tmp_path, text, name="budget.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.hil
def test_budget_exceeded_exits_1_and_fails_its_testcase(tmp_path):
    budget = _budget(tmp_path, '[[budget]]\nmodel = "kws_ds_cnn_int8"\n'
                               'board = "qemu-mps2-an386"\nlatency_us = 100\n'
                               'ram_bytes = 102400\n')
    result = hilbench("run", KWS, "--vectors", 2, "--budget", budget, "--junit",
                      tmp_path / "j.xml")
    assert result.returncode == 1, result.stdout + result.stderr
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"bit_exact", "latency_us", "ram_bytes"}
    assert cases["latency_us"].find("failure") is not None
    assert cases["ram_bytes"].find("failure") is None
    assert suite.get("failures") == "1"


@pytest.mark.hil
def test_budget_that_holds_exits_0_from_pyproject(tmp_path):
    budget = _budget(tmp_path, '[tool.hilbench]\n[[tool.hilbench.budget]]\n'
                               'model = "kws_ds_cnn_int8"\nlatency_us = 10_000_000\n'
                               'ram_bytes = 102400\nflash_bytes = 262144\nbit_exact = true\n',
                     name="pyproject.toml")
    result = hilbench("run", KWS, "--vectors", 2, "--budget", budget, "--junit",
                      tmp_path / "j.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "0"


@pytest.mark.hil
def test_budget_for_another_model_is_an_error(tmp_path):
    budget = _budget(tmp_path, '[[budget]]\nmodel = "other"\nram_bytes = 1\n')
    result = hilbench("run", KWS, "--vectors", 1, "--budget", budget)
    assert result.returncode == 2 and "no budget" in result.stderr


@pytest.mark.hil
def test_kernel_that_executes_more_fails_the_baseline(tmp_path):
    baseline = tmp_path / "baseline.json"
    saved = hilbench("baseline", "save", MICRO_SPEECH, "--vectors", 2, "-o", baseline)
    assert saved.returncode == 0, saved.stderr
    same = hilbench("run", MICRO_SPEECH, "--vectors", 2, "--baseline", baseline)
    assert same.returncode == 0, same.stdout + same.stderr

    # same results, more instructions: the softmax computes its row maximum twice
    variant = tmp_path / "kernels" / "slower"
    variant.mkdir(parents=True)
    source = (FIRMWARE_DIR / "kernels" / "ref" / "softmax.c").read_text()
    slower = source.replace('#include "../hb_fixedpoint.h"', '#include "hb_fixedpoint.h"')
    marker = "    for (c = 0; c < p->depth; ++c) if (row[c] > max_value) max_value = row[c];\n"
    assert slower.count(marker) == 1
    slower = slower.replace(marker, marker + "    { volatile int32_t spin = 0; "
                                             "for (c = 0; c < 100; ++c) spin += c; }\n")
    (variant / "softmax.c").write_text(slower)
    env = dict(os.environ, HILBENCH_KERNEL_PATH=str(tmp_path / "kernels"))
    result = subprocess.run([sys.executable, "-m", "hilbench", "run", str(MICRO_SPEECH),
                             "--vectors", "2", "--kernels", "slower", "--baseline",
                             str(baseline), "--junit", str(tmp_path / "j.xml")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "baseline.instructions" in result.stdout and "FAIL" in result.stdout
    assert "layer 3 SOFTMAX" in result.stdout
    failures = [c.get("name") for c in ET.parse(tmp_path / "j.xml").iter("testcase")
                if c.find("failure") is not None]
    assert "baseline.instructions" in failures


def test_cycle_model_costs():
    classes = dict(alu=10, load=4, store=2, mul=1, mac=3, div=0, simd=0, branch=5,
                   taken_branch=3, multi_regs=4)
    assert estimate_cycles("cortex-m4", classes) == 10 + 8 + 2 + 1 + 3 + 5 + 6 + 4
    assert estimate_cycles("cortex-m0", classes) == 10 + 8 + 4 + 1 + 3 + 5 + 6 + 4
    assert set(CLASS_COSTS) == {"cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4",
                                "cortex-m7", "cortex-m33", "cortex-m55"}
    # MVE: 4 beats on the M55's dual-beat implementation, 2 cycles; 1 elsewhere (never run)
    vector = dict(alu=3, mve=5, mve_load=4, mve_store=2)
    assert estimate_cycles("cortex-m55", vector) == 3 + 10 + 8 + 4
    assert estimate_cycles("cortex-m4", vector) == 3 + 5 + 4 + 2


@pytest.mark.hil
def test_mve_build_counts_mve_instructions_and_costs_their_beats(monkeypatch):
    """KWS with the mve kernels on the M55: the plugin classes the Helium instructions as
    mve/mve_load/mve_store, and each costs 2 cycles, so the estimate exceeds the exact
    instruction count by at least their number (every other M55 class costs at least 1)."""
    from hilbench.run import strategy

    seen = []
    original = strategy.timing_from_counts

    def spy(core, clock_hz, graph, counts, *rest):
        seen.append((core, counts))
        return original(core, clock_hz, graph, counts, *rest)

    monkeypatch.setattr(strategy, "timing_from_counts", spy)
    result = run(RunRequest(KWS, load_board("qemu-mps3-an547"), 1, seed=3, kernels="mve"))
    assert result.comparison.bit_exact
    (core, counts), = seen
    assert core == "cortex-m55"
    totals = {name: sum(layer.classes[name] for layer in counts[0].layers)
              for name in ("mve", "mve_load", "mve_store")}
    assert all(totals.values()), totals
    vector = sum(totals.values())
    t = result.timing
    instructions = int(t.instructions.max)
    assert vector > instructions // 10, (vector, instructions)  # the kernels are vectorised
    assert t.cycles_estimated and t.cycles.max >= instructions + vector
    assert t.cycles.max == sum(estimate_cycles(core, layer.classes)
                               for layer in counts[0].layers) + counts[0].overhead


@pytest.mark.hil
def test_cycle_counter_path_agrees_with_exact_counts():
    """The real-core path (SysTick read around each inference and layer, marking overhead
    calibrated out) under QEMU's virtual time, where one instruction is 64 ns: 1.024 ticks
    at 16 MHz. It must agree with the plugin's exact counts layer by layer: within 2 %, or
    20 ticks for the touch model's small straight-line layers (a residual of about 13 ticks
    per layer remains once the calibration takes its own counter read out)."""
    m0 = load_board("qemu-microbit")
    touch = FIRMWARE_DIR.parent / "examples" / "touch_classifier" / "touch_mlp_int8.tflite"
    exact = run(RunRequest(touch, m0, 3, seed=2))
    measured = run(RunRequest(touch, m0, 3, seed=2, cycle_counter=True))
    assert measured.comparison.bit_exact and not measured.timing.cycles_estimated
    assert measured.timing.overhead_instructions > 0  # the calibration ran
    ticks_per_instruction = 64e-9 * m0.clock_hz
    for a, b in zip(exact.timing.layers, measured.timing.layers):
        assert b.cycles == pytest.approx(a.instructions * ticks_per_instruction, rel=0.02,
                                         abs=20)
    assert measured.timing.cycles.max == pytest.approx(
        sum(l.instructions for l in exact.timing.layers) * ticks_per_instruction, rel=0.02,
        abs=40)
