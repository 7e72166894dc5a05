"""hilbench's pytest plugin (hilbench/pytest_plugin.py), run as users run it: pytest in a
subprocess on a project of its own (examples/pytest_project/, or one written here)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from support import REPO

EXAMPLE = REPO / "examples" / "pytest_project"
TOUCH = REPO / "examples" / "touch_classifier" / "touch_mlp_int8.tflite"


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def _project(tmp_path: Path, source: str) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -ra\n")
    (tmp_path / "test_it.py").write_text(f"import pytest\nTOUCH = {str(TOUCH)!r}\n{source}")
    return tmp_path


def test_marker_misuse_is_a_usage_error(tmp_path):
    project = _project(tmp_path, "@pytest.mark.hilbench(latency_ms=3)\n"
                                 "def test_x(hil_run):\n    pass\n")
    result = _pytest(project, "--collect-only", "-q")
    assert result.returncode != 0
    assert "latency_ms" in result.stdout + result.stderr


def test_boards_are_parametrized_and_restricted_by_the_marker(tmp_path):
    project = _project(tmp_path, "@pytest.mark.hilbench(boards=['qemu-microbit'])\n"
                                 "def test_x(hil_board):\n    assert hil_board.core\n")
    result = _pytest(project, "-v", "--hil-board", "qemu-microbit", "--hil-board",
                     "qemu-mps2-an385")
    assert result.returncode == 0, result.stdout
    assert "test_x[qemu-microbit] PASSED" in result.stdout
    assert "test_x[qemu-mps2-an385] SKIPPED" in result.stdout


@pytest.mark.hil
def test_example_project_on_two_boards_in_parallel(tmp_path):
    junit = tmp_path / "hil.xml"
    result = _pytest(EXAMPLE, "--hil-board", "qemu-microbit", "--hil-board", "qemu-mps2-an386",
                     "-n", "2", f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout[-3000:]
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert len(cases) == 6, sorted(cases)
    skipped = cases["test_keyword_spotting[qemu-microbit]"].find("skipped")
    assert skipped is not None and "over by 3,712 B" in skipped.get("message")
    assert cases["test_keyword_spotting[qemu-mps2-an386]"].find("skipped") is None
    for board in ("qemu-microbit", "qemu-mps2-an386"):
        case = cases[f"test_touch_classifier_meets_its_budget[{board}]"]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["hil_board"] == board and properties["hil_bit_exact"] == "True"
        assert float(properties["hil_latency_us"]) > 0 and int(properties["hil_ram_bytes"]) > 0
        assert properties["hil_memory"] == "inplace"


def test_an_unknown_memory_mode_is_a_usage_error(tmp_path):
    project = _project(tmp_path, "def test_x(hil_run):\n    pass\n")
    result = _pytest(project, "--hil-memory", "fit", "--collect-only", "-q")
    assert result.returncode != 0
    assert "--hil-memory 'fit'" in result.stdout + result.stderr


@pytest.mark.hil
def test_memory_mode_from_the_option_or_per_call_and_in_the_junit(tmp_path):
    project = _project(tmp_path, "def test_modes(hil_run):\n"
                                 "    plain = hil_run(TOUCH, vectors=2)\n"
                                 "    inplace = hil_run(TOUCH, vectors=2, memory='inplace')\n"
                                 "    assert plain.memory.mode == 'plain'\n"
                                 "    assert inplace.memory.mode == 'inplace'\n")
    junit = tmp_path / "hil.xml"
    result = _pytest(project, "--hil-board", "qemu-microbit", "--hil-memory", "plain",
                     f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout[-3000:]
    case = next(ET.parse(junit).getroot().iter("testcase"))
    recorded = [p.get("value") for p in case.iter("property") if p.get("name") == "hil_memory"]
    assert recorded == ["plain", "inplace"]


@pytest.mark.hil
def test_a_budget_that_cannot_hold_names_figure_limit_and_board(tmp_path):
    project = _project(tmp_path, "@pytest.mark.hilbench(latency_us=1, ram_bytes=100_000)\n"
                                 "def test_fast(hil_run):\n    hil_run(TOUCH, vectors=2)\n")
    result = _pytest(project, "--hil-board", "qemu-microbit")
    assert result.returncode == 1, result.stdout
    assert "touch_mlp_int8 on qemu-microbit: latency_us is" in result.stdout
    assert "limit <= 1" in result.stdout
    assert "ram_bytes is" not in result.stdout  # only the checks that failed are named
