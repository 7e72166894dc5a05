"""The board farm's parts that need no labgrid process: addresses, the exporter's YAML,
flash failures reported as such, and one-line CLI errors."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from hilbench.errors import ConfigError, FlashError
from support import SHARED_MODELS, assert_one_line_error, hilbench

import hilbench.farm as _grpc_fork_safe  # noqa: E402,F401 - imported before labgrid

pytest.importorskip("labgrid")


def test_coordinator_address():
    from hilbench.farm.client import coordinator_address

    assert coordinator_address("labgrid:10.0.0.5:3000") == "10.0.0.5:3000"
    assert coordinator_address("labgrid:coord") == "coord:20408"
    with pytest.raises(ConfigError, match="only farm kind is labgrid"):
        coordinator_address("lava:coord")
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        coordinator_address("labgrid:coord:port")


def test_exporter_yaml_names_each_place_and_its_probe():
    from hilbench.board import load_board
    from hilbench.farm.qemu_exporter import exporter_config

    place = SimpleNamespace(name="q-1", tty_path="/dev/pts/7", unique_id="qemu:127.0.0.1:41",
                            board=load_board("qemu-mps2-an386"))
    text = exporter_config([place])
    assert "q-1:\n  RawSerialPort:\n    port: /dev/pts/7\n" in text
    assert "unique_id: 'qemu:127.0.0.1:41'" in text and "board: qemu-mps2-an386" in text


def test_a_flash_failure_is_a_flash_error_with_pyocds_reason(monkeypatch):
    from labgrid import Target
    from labgrid.factory import target_factory

    import hilbench.farm.labgrid_pyocd as labgrid_pyocd

    target = Target("bench-1")
    target_factory.make_resource(target, "HilbenchPyocdProbe", "probe",
                                 {"unique_id": "0669FF01", "target_type": "stm32f401retx"})
    driver = target_factory.make_driver(target, "HilbenchPyocdDriver", None, {})
    target.activate(driver)
    monkeypatch.setattr(labgrid_pyocd, "_pyocd_session", lambda *a: SimpleNamespace(
        close=lambda: None))

    class Programmer:  # pyOCD's FileProgrammer, failing as a locked chip does
        def __init__(self, session):
            pass

        def program(self, path):
            raise RuntimeError("flash algo failed: sector 0 erase error (0x1)")

    monkeypatch.setattr("pyocd.flash.file_programmer.FileProgrammer", Programmer)
    with pytest.raises(FlashError, match=r"flashing fw\.elf through probe 0669FF01 failed: "
                                         r"pyOCD: RuntimeError: flash algo failed: sector 0"):
        driver.load("fw.elf")
    target.deactivate_all_drivers()


def test_cli_farm_errors_are_one_line():
    model = SHARED_MODELS / "tflm_hello_world_int8.tflite"
    assert_one_line_error(hilbench("run", model, "--farm", "lava"), "unknown farm 'lava'")
    assert_one_line_error(hilbench("run", model, "--farm", "labgrid:127.0.0.1:1"),
                          "cannot connect to the labgrid coordinator 127.0.0.1:1")
    plan = Path(__file__).parent / "fixtures" / "no-such-plan.toml"
    assert hilbench("matrix", plan, "--farm", "labgrid:127.0.0.1:1").returncode == 2
