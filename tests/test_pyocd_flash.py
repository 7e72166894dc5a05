"""The real-board path through pyOCD (issue #19), run against QEMU micro:bits: pyOCD's own
nRF51 flash algorithm programs the emulated flash controller, standing QEMU machines are
probes with unique IDs (found by pyOCD's plugin, chosen exactly by ID, each with its own
serial port), and flash and connect failures are named as such."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hilbench.board import load_board
from hilbench.errors import ProbeError
from hilbench.paths import build_dir
from hilbench.toolchain.elf_info import load_image
from support import REPO, SHARED_MODELS, assert_one_line_error, hilbench

HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
TOUCH = REPO / "examples" / "touch_classifier" / "touch_mlp_int8.tflite"


def _board_file(folder: Path, name: str, unique_id: str | None, flash_size: int = 0x40000,
                drivers: str = '["pyocd"]') -> Path:
    """The micro:bit's board file as a board on a probe: pyOCD target nrf51, no QEMU."""
    text = (REPO / "boards" / "qemu-microbit.toml").read_text()
    text = text.split("[qemu]")[0].split("[probe]")[0]
    text = text.replace('name = "qemu-microbit"', f'name = "{name}"')
    text = text.replace("size = 0x4_0000", f"size = {flash_size:#x}")
    text = "\n".join(f"drivers = {drivers}" if line.startswith("drivers") else line
                     for line in text.splitlines())
    text += '\n[probe]\ntarget = "nrf51"\n'
    if unique_id:
        text += f'unique_id = "{unique_id}"\n'
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def _elf(record: dict) -> Path:
    """The firmware the run built, from the cache, by its build ID."""
    found = list(build_dir().glob(f"firmware/*/{record['model']}-{record['build_id']}/"
                                  f"firmware.elf"))
    assert found, record["build_id"]
    return found[0]


def _flash_of(unique_id: str, image: list[tuple[int, bytes]]) -> list[bytes]:
    """Read the image's address ranges back from a probe's target, through pyOCD."""
    from hilbench.targets.pyocd_target import open_session, select_probe

    session, _ = open_session(select_probe(unique_id, "the read-back"), "nrf51", {})
    try:
        return [bytes(session.target.read_memory_block8(a, len(d))) for a, d in image]
    finally:
        session.close()


@pytest.fixture
def probes(tmp_path, monkeypatch):
    """Two QEMU micro:bits attached as probes "MB-1" and "MB-12" (one ID is a prefix of
    the other: pyOCD's own unique-ID filter matches substrings)."""
    from hilbench.targets.qemu_probes import REGISTRY_VARIABLE, AttachedQemu

    monkeypatch.setenv(REGISTRY_VARIABLE, str(tmp_path / "probes"))
    board = load_board("qemu-microbit")
    with AttachedQemu(board, "MB-1", tmp_path) as one, AttachedQemu(board, "MB-12", tmp_path) \
            as twelve:
        yield {"MB-1": one.entry, "MB-12": twelve.entry}


def _run(board: Path | str, model: Path, json_path: Path, *extra: object,
         env: dict[str, str] | None = None):
    return hilbench("run", model, "--board", board, "--vectors", 3, "--json", json_path,
                    *extra, env=env)


@pytest.mark.hil
def test_each_probe_by_unique_id_gets_its_own_image_and_serial_port(probes, tmp_path):
    env = {"HILBENCH_QEMU_PROBES": str(tmp_path / "probes")}
    listing = hilbench("probes", env=env)
    assert listing.returncode == 0, listing.stderr
    for unique_id, entry in probes.items():
        assert f"{unique_id}  target: nrf51  serial port: {entry.serial}" in listing.stdout

    records = {}
    for unique_id, model in (("MB-12", HELLO), ("MB-1", TOUCH)):
        board = _board_file(tmp_path, unique_id.lower(), unique_id)
        result = _run(board, model, tmp_path / f"{unique_id}.json", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads((tmp_path / f"{unique_id}.json").read_text())
        # bit-exact over the probe's serial port: the flashed machine answered on it
        assert record["bit_exact"] and record["driver"] == "pyocd"
        assert record["load_method"] == "pyocd-flash"
        assert record["probe"] == {"unique_id": unique_id, "target": "nrf51",
                                   "serial_port": probes[unique_id].serial,
                                   "connect_attempts": 1}
        records[unique_id] = record

    # per instance, read from the target through pyOCD: each flash holds its own image
    for unique_id, record in records.items():
        image = load_image(_elf(record))
        assert _flash_of(unique_id, image) == [data for _, data in image]
    assert load_image(_elf(records["MB-1"])) != load_image(_elf(records["MB-12"]))

    no_id = _board_file(tmp_path, "microbit-any", None)
    assert_one_line_error(_run(no_id, HELLO, tmp_path / "any.json", env=env),
                          "2 debug probes attached and no unique_id for microbit-any",
                          "MB-1 (", "MB-12 (")


@pytest.mark.hil
def test_qemu_microbit_via_pyocd_is_programmed_by_the_flash_algorithm(tmp_path):
    result = _run("qemu-microbit", HELLO, tmp_path / "r.json", "--via", "pyocd",
                  env={"HILBENCH_QEMU_PROBE_CONNECT_FAILURES": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["bit_exact"] and record["driver"] == "pyocd-qemu"
    assert record["load_method"] == "pyocd-flash" and record["probe"]["target"] == "nrf51"
    # the emulated power-up failure cost one attempt, and the run says so
    assert record["probe"]["connect_attempts"] == 2
    assert "pyocd-flash" in result.stdout and "in 2 attempts" in result.stdout


@pytest.mark.hil
def test_image_larger_than_flash_is_a_flash_failure_at_the_end_of_flash(tmp_path):
    """A board file claiming 512 KB on a 256 KB nRF51: the build fits, flashing cannot."""
    board = _board_file(tmp_path, "microbit-512k", None, flash_size=0x80000,
                        drivers='["pyocd-qemu"]')
    text = board.read_text() + '\n[qemu]\nmachine = "microbit"\n'
    board.write_text(text)
    result = _run(board, SHARED_MODELS / "ad_autoencoder_int8.tflite", tmp_path / "r.json")
    assert_one_line_error(result, "flash programming failed on microbit-512k",
                          "at 0x00040000", "does not fit", "0x00000000-0x0003ffff")


@pytest.mark.hil
def test_verify_mismatch_is_a_flash_failure_naming_the_address(tmp_path):
    result = _run("qemu-microbit", HELLO, tmp_path / "r.json", "--via", "pyocd",
                  env={"HILBENCH_QEMU_PROBE_BAD_CELL": "0x1234"})
    assert_one_line_error(result, "flash verify failed on qemu-microbit", "at 0x00001234")


@pytest.mark.hil
def test_connect_under_reset_gives_up_after_its_attempts(tmp_path):
    result = _run("qemu-microbit", HELLO, tmp_path / "r.json", "--via", "pyocd",
                  env={"HILBENCH_QEMU_PROBE_CONNECT_FAILURES": "3"})
    assert_one_line_error(result, "could not connect under reset", "in 3 attempts")


class _Probe:
    def __init__(self, unique_id: str) -> None:
        self.unique_id = unique_id
        self.description = "fake"
        self.serial_port = f"/dev/tty-{unique_id}"
        self.target_type = "nrf51"


def test_select_probe_matches_the_whole_unique_id(monkeypatch):
    """Unit: "0671" must not pick "06710" (pyOCD's own filter is a substring match)."""
    from hilbench.targets import pyocd_target

    attached = [_Probe("06710"), _Probe("0671")]
    monkeypatch.setattr(pyocd_target, "list_probes",
                        lambda: [pyocd_target._probe_info(p) for p in attached])
    assert pyocd_target.select_probe("0671", "b").serial_port == "/dev/tty-0671"
    with pytest.raises(ProbeError, match="no unique_id for b: 06710 .*; 0671 "):
        pyocd_target.select_probe(None, "b")
    with pytest.raises(ProbeError, match="no debug probe with unique ID 067 for b; attached"):
        pyocd_target.select_probe("067", "b")
