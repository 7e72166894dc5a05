"""Drivers behind capabilities, found through the registry; typed board files; a run that
leaves nothing behind."""

from __future__ import annotations

import hashlib
import importlib

import pytest

import fake_target
from hilbench.board import load_board
from hilbench.drivers.registry import TARGET_GROUP, available, driver_for
from hilbench.errors import TargetError
from hilbench.run import RunRequest, run
from support import SHARED_MODELS, assert_one_line_error, hilbench

HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
AN386 = load_board("qemu-mps2-an386").path


def _board_file(tmp_path, name, edit):
    text = AN386.read_text()
    old, new = edit
    assert old in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """Install, as far as Python can tell, a package declaring the entry point
    hilbench.targets: loopfake = fake_target:FakeDriver. No hilbench module is edited."""
    site = tmp_path / "site"
    info = site / "hilbench_fake_target-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hilbench-fake-target\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{TARGET_GROUP}]\n"
                                           "loopfake = fake_target:FakeDriver\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    board = _board_file(tmp_path, "fake-m4", ('drivers = ["qemu", "pyocd-qemu"]',
                                              'drivers = ["loopfake"]'))
    text = board.read_text().replace('name = "qemu-mps2-an386"', 'name = "fake-m4"')
    board.write_text(text[:text.index("[qemu]")])  # no emulator: the fake is the only way
    fake_target.MODELS[hashlib.sha256(HELLO.read_bytes()).digest()[:8]] = HELLO
    return load_board(str(board))


@pytest.mark.hil  # builds real firmware for the fake to read
def test_a_new_target_kind_through_the_registry_alone(fake_package):
    assert "loopfake" in available(TARGET_GROUP)
    assert driver_for(fake_package).name == "loopfake"
    result = run(RunRequest(HELLO, fake_package, 6, seed=2))
    assert result.driver == "loopfake"
    assert result.comparison.bit_exact and result.comparison.values == 6
    assert result.link_bytes_per_s > 0
    # the fake offers no counters: timing is a labelled missing figure, not a silent gap
    assert result.timing.cycles is None
    assert "loopfake driver of fake-m4 offers no InstructionCounter" in result.timing.missing


@pytest.mark.hil
def test_a_missing_capability_is_named(fake_package):
    with pytest.raises(TargetError, match="loopfake driver of fake-m4 offers no MemoryAccess, "
                                          "needed for the debug-probe RAM link"):
        run(RunRequest(HELLO, fake_package, 2, link="probe"))


def test_unknown_drivers_and_ways_are_one_line(tmp_path):
    board = _board_file(tmp_path, "odd", ('drivers = ["qemu", "pyocd-qemu"]',
                                          'drivers = ["renode"]'))
    result = hilbench("run", HELLO, "--board", board, "--vectors", 1)
    assert_one_line_error(result, "unknown target driver 'renode'", "pyocd-qemu", "qemu")
    result = hilbench("run", HELLO, "--via", "jlink", "--vectors", 1)
    assert_one_line_error(result, "qemu-mps2-an386 cannot be reached via 'jlink'",
                          "direct (qemu), pyocd (pyocd-qemu)")
    result = hilbench("run", HELLO, "--transport", "can-bus", "--vectors", 1)
    assert_one_line_error(result, "unknown link 'can-bus'", "probe, serial")


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.hil
def test_a_failing_run_leaves_no_temporary_file(tmp_path):
    """A target that fails (timeout on the first inference), and a verdict that fails
    (a planted kernel bug): the work folder, the instruction counts, QEMU's log, all gone."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    result = hilbench("run", HELLO, "--vectors", 2, "--timeout", "1e-6", env=env)
    assert_one_line_error(result, "no reply from the target", "vector 1 of 2")
    assert _leftovers(tmp) == []

    variants = tmp_path / "variants"
    (variants / "planted").mkdir(parents=True)
    source = (AN386.parents[1] / "firmware" / "kernels" / "ref" / "fully_connected.c").read_text()
    planted = source.replace("+ p->output_offset;", "+ p->output_offset + 1;").replace(
        "../hb_fixedpoint.h", "hb_fixedpoint.h")  # -I firmware/kernels is on the path
    assert planted != source
    (variants / "planted" / "fully_connected.c").write_text(planted)
    env["HILBENCH_KERNEL_PATH"] = str(variants)
    result = hilbench("run", HELLO, "--vectors", 2, "--kernels", "planted", env=env)
    assert result.returncode == 1, result.stderr
    assert _leftovers(tmp) == []
