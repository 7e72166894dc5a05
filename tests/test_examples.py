"""The field example (examples/touch_classifier) and host-side checks of C helpers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hilbench.paths import FIRMWARE_DIR, REPO
from support import hilbench

EXAMPLE = REPO / "examples" / "touch_classifier"


def test_touch_model_is_reproducible(tmp_path):
    out = tmp_path / "touch.tflite"
    subprocess.run([sys.executable, str(EXAMPLE / "make_model.py"), str(out)], check=True,
                   capture_output=True, timeout=120)
    assert out.read_bytes() == (EXAMPLE / "touch_mlp_int8.tflite").read_bytes()


@pytest.mark.hil
def test_touch_classifier_on_cortex_m0_against_its_budget(tmp_path):
    result = hilbench("run", EXAMPLE / "touch_mlp_int8.tflite", "--board", "qemu-microbit",
                      "--budget", EXAMPLE / "budget.toml", "--junit", tmp_path / "j.xml",
                      "--json", tmp_path / "r.json")
    assert result.returncode in (0, 1), result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["board"] == "qemu-microbit" and record["bit_exact"]
    assert record["clock_hz"] == 16_000_000 and record["latency_us"]["estimated"]
    cases = {c.get("name"): c.find("failure") is None
             for c in ET.parse(tmp_path / "j.xml").iter("testcase")}
    assert set(cases) == {"bit_exact", "latency_us", "ram_bytes"}
    assert cases["bit_exact"] and cases["ram_bytes"]
    # the exit status is the latency verdict: whatever it is, it must agree with the figure
    within = record["latency_us"]["max"] <= 100
    assert cases["latency_us"] == within and (result.returncode == 0) == within


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a host C compiler")
def test_armv6m_high_multiply_matches_the_64_bit_formula(tmp_path):
    binary = tmp_path / "check"
    subprocess.run(["cc", "-O2", f"-I{FIRMWARE_DIR / 'kernels' / 'armv6m'}",
                    str(Path(__file__).parent / "c" / "check_srdhm_v6m.c"), "-o", str(binary)],
                   check=True)
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and " 0 wrong" in result.stdout, result.stdout
