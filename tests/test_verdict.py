"""The verdict from a typed RunResult, without a target: figures, budgets, baselines,
JUnit. Unit tests: the results are made here, as a driver would leave them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from hilbench.board import load_board
from hilbench.compare.budgets import load_budgets
from hilbench.compare.outputs import compare_outputs
from hilbench.compare.verdict import figures, verdict
from hilbench.errors import ConfigError
from hilbench.report.junit import write_junit
from hilbench.report.run_report import run_record
from hilbench.run import RunRequest, RunResult
from hilbench.timing.counts import InferenceCount, LayerCount
from hilbench.timing.figures import no_timing, timing_from_counts
from hilbench.toolchain.elf_info import ElfSizes
from hilbench.toolchain.firmware import FirmwareBuild
from support import SHARED_MODELS

MODEL = SHARED_MODELS / "tflm_micro_speech_int8.tflite"  # RESHAPE, DWCONV, FC, SOFTMAX
BOARD = load_board("qemu-mps2-an386")


def _counts(softmax: int) -> InferenceCount:
    classes = {"alu": 0, "load": 0, "store": 0, "mul": 0, "mac": 0, "div": 0, "simd": 0,
               "branch": 0, "taken_branch": 0, "multi_regs": 0}
    layers = [LayerCount(n, {**classes, "alu": n}) for n in (100, 5000, 2000, softmax)]
    return InferenceCount(sum(layer.instructions for layer in layers) + 50, 50, layers)


def _result(softmax: int = 300, timing=True, actual_delta: int = 0) -> RunResult:
    from hilbench.model import load_model

    graph = load_model(MODEL)
    expected = np.zeros((2, 1, 4), np.int8)
    actual = expected.copy()
    actual[1, 0, 2] += actual_delta
    build = FirmwareBuild(Path("firmware.elf"), Path("."), "0123456789ab",
                          ElfSizes(text=30_000, rodata=20_000, data=100, bss=9_000, stack=16_384),
                          cached=True, debug_commands=False)
    made = (timing_from_counts(BOARD.core, BOARD.clock_hz, graph, [_counts(softmax)] * 2)
            if timing else no_timing(BOARD.clock_hz, "the fake driver offers no counter"))
    return RunResult(request=RunRequest(MODEL, BOARD, 2), driver="qemu", via="direct",
                     comparison=compare_outputs(expected, actual), build=build,
                     arena_bytes=8_000, arena_lower_bound=8_000, stack_peak=500,
                     link_bytes_per_s=1000.0, vectors_per_s=2.0, timing=made)


def _budget(tmp_path: Path, text: str) -> list:
    path = tmp_path / "budget.toml"
    path.write_text(text)
    return load_budgets(path)


def test_figures_come_from_the_typed_result():
    f = figures(_result())
    assert f["instructions"] == 100 + 5000 + 2000 + 300 + 50
    assert f["ram_bytes"] == 9_100 + 500 and f["flash_bytes"] == 50_100
    assert f["cycle_source"] == "estimated" and f["bit_exact"]
    assert f["layer_ops"] == ["RESHAPE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    record = run_record(_result(), profile=True)  # the JSON says the same
    assert record["instructions"] == f["instructions"]
    assert record["ram_bytes"]["total"] == f["ram_bytes"]
    assert record["cycles"]["source"] == "estimated"


def test_budgets_pass_fail_and_missing_figures(tmp_path):
    budgets = _budget(tmp_path, '[[budget]]\nram_bytes = 9000\nflash_bytes = 60000\n'
                                'latency_us = 1000\n')
    checks = {c.name: c for c in verdict(_result(), budgets, tmp_path / "budget.toml")}
    assert checks["bit_exact"].passed and checks["flash_bytes"].passed
    assert not checks["ram_bytes"].passed and checks["ram_bytes"].actual == "9,600"
    assert checks["latency_us"].passed and checks["latency_us"].detail == "estimated"
    missing = {c.name: c for c in verdict(_result(timing=False), budgets, None)}
    assert not missing["latency_us"].passed
    assert missing["latency_us"].detail == "the fake driver offers no counter"


def test_a_mismatch_fails_bit_exact():
    checks = verdict(_result(actual_delta=1))
    assert checks[0].name == "bit_exact" and not checks[0].passed
    assert checks[0].actual == "1 mismatching values"


def test_no_applicable_budget_or_baseline_is_an_error(tmp_path):
    budgets = _budget(tmp_path, '[[budget]]\nmodel = "other"\nram_bytes = 1\n')
    with pytest.raises(ConfigError, match="no budget in .* applies to model"):
        verdict(_result(), budgets, tmp_path / "budget.toml")
    with pytest.raises(ConfigError, match="has no baseline for tflm_micro_speech_int8@"):
        verdict(_result(), baselines={}, baseline_source=Path("b.json"))


def test_baseline_growth_names_the_layer():
    baseline = {"tflm_micro_speech_int8@qemu-mps2-an386": figures(_result())}
    same = verdict(_result(), baselines=baseline)
    assert all(c.passed for c in same)
    grown = {c.name: c for c in verdict(_result(softmax=420), baselines=baseline)}
    assert not grown["baseline.instructions"].passed
    assert "layer 3 SOFTMAX: 300 -> 420" in grown["baseline.instructions"].detail
    assert grown["baseline.ram_bytes"].passed
    tolerant = {c.name: c for c in verdict(_result(softmax=420), baselines=baseline,
                                           tolerance=5.0)}
    assert tolerant["baseline.instructions"].passed  # 120 of 7,450 is under 5 %


def test_junit_one_testcase_per_check(tmp_path):
    checks = verdict(_result(softmax=420),
                     baselines={"tflm_micro_speech_int8@qemu-mps2-an386": figures(_result())})
    write_junit(tmp_path / "j.xml", "hilbench", "micro.an386", checks, 1.5)
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"bit_exact", "baseline.instructions", "baseline.flash_bytes",
                          "baseline.ram_bytes"}
    assert suite.get("failures") == "1"
    assert "layer 3 SOFTMAX" in cases["baseline.instructions"].find("failure").get("message")


def test_tolerances_replace_bit_exactness():
    from hilbench.compare.metrics import output_metrics
    from hilbench.compare.verdict import parse_tolerances
    from hilbench.model import load_model

    result = _result(actual_delta=1)
    tensor = load_model(MODEL).output_tensors[0]
    expected = np.zeros((2, 1, 4), np.int8)
    actual = expected.copy()
    actual[1, 0, 2] += 1
    result.metrics.append(output_metrics(expected, actual, tensor))
    loose = verdict(result, tolerances=parse_tolerances("max_abs_diff=1, top1_agreement=0.5"))
    assert [c.name for c in loose] == ["tolerance.max_abs_diff", "tolerance.top1_agreement"]
    assert all(c.passed for c in loose)
    strict = {c.name: c for c in verdict(result, tolerances={"max_abs_diff": 0, "l2r": 0.1})}
    assert not strict["tolerance.max_abs_diff"].passed and strict["tolerance.l2r"].passed
    for text, message in (("l3=1", "unknown tolerance 'l3'"), ("mae=x", "needs a number"),
                          ("rmse=nan", "finite"), ("", "names no limit")):
        with pytest.raises(ConfigError, match=message):
            parse_tolerances(text)
