"""Every board, budget, baseline and command-line value is typed and checked: NaN,
infinities, negatives, wrong types and directories give one line and exit status 2 before
any work; board files cannot pass arbitrary flags to gcc nor reach files outside the
firmware tree; `baseline save` replaces its file atomically under a lock."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from hilbench import cli
from hilbench.compare.baseline import load_baselines, save_baseline
from support import REPO, SHARED_MODELS, assert_one_line_error, hilbench

HELLO = str(SHARED_MODELS / "tflm_hello_world_int8.tflite")
BOARD = (REPO / "boards" / "qemu-mps2-an386.toml").read_text()


def _one_line(capsys, argv: list[str], *fragments: str) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("hilbench: error: "), err
    for fragment in fragments:
        assert fragment in err, err


def _board(tmp_path: Path, old: str, new: str) -> str:
    assert old in BOARD
    path = tmp_path / "board.toml"
    path.write_text(BOARD.replace(old, new))
    return str(path)


@pytest.mark.parametrize("old,new,fragment", [
    ('sources = ["common/startup_cortex_m.c"', 'sources = [1, "common/startup_cortex_m.c"',
     "'build.sources[0]' must be a string"),
    ('linker_script = "common/cortex_m.ld"', 'linker_script = "../../../etc/hostname"',
     "does not exist"),
    ('"-mfloat-abi=soft"]', '"-mfloat-abi=soft", "-Wl,-plugin=/tmp/x.so"]',
     "compiler flag '-Wl,-plugin=/tmp/x.so' is not allowed"),
    ('"-mfloat-abi=soft"]', '"-mfloat-abi=soft", "-fplugin=/tmp/x.so"]', "not allowed"),
    ('"-mfloat-abi=soft"]', '"-mfloat-abi=soft", "-o", "/tmp/x"]', "compiler flag '-o'"),
    ("baud = 115200", "baud = -5", "positive baud rate"),
    ("clock_hz = 25_000_000", "clock_hz = nan", "'clock_hz' must be an integer"),
    ("clock_hz = 25_000_000", "clock_hz = -1", "clock_hz must be between"),
    ('machine = "mps2-an386"', 'machine = "mps2-an386 -plugin x"', "is not a QEMU name"),
])
def test_bad_board_values(tmp_path, capsys, old, new, fragment):
    _one_line(capsys, ["run", HELLO, "--board", _board(tmp_path, old, new)], fragment)


def test_board_wrapper_flag_is_refused_before_gcc_runs(tmp_path):
    marker = tmp_path / "ran"
    board = _board(tmp_path, '"-mfloat-abi=soft"]',
                   f'"-mfloat-abi=soft", "-wrapper", "sh,-c,touch {marker}"]')
    result = hilbench("run", HELLO, "--board", board, "--build-dir", tmp_path / "cache")
    assert_one_line_error(result, "compiler flag '-wrapper' is not allowed in a board file")
    assert not marker.exists()


@pytest.mark.parametrize("text,fragment", [
    ("budget = [1, 2]\n", "must be a [[budget]] table, not int"),
    ("[[budget]]\nlatency_us = nan\n", "latency_us must be a finite number >= 0, not nan"),
    ("[[budget]]\ncycles = inf\n", "cycles must be a finite number >= 0, not inf"),
    ("[[budget]]\nram_bytes = -1\n", "ram_bytes must be a finite number >= 0"),
    ("[[budget]]\nmodel = 5\ncycles = 1\n", "model must be a string"),
])
def test_bad_budgets(tmp_path, capsys, text, fragment):
    path = tmp_path / "budget.toml"
    path.write_text(text)
    _one_line(capsys, ["run", HELLO, "--budget", str(path)], fragment)


@pytest.mark.parametrize("document,fragment", [
    ({"baselines": 5}, "'baselines' must be an object"),
    ({"baselines": {"m@b": 7}}, "baseline 'm@b' must be an object, not int"),
    ({"baselines": {"m@b": {"instructions": -3}}}, "instructions must be an integer >= 0"),
    ({"baselines": {"m@b": {"cycles": 1.5}}}, "cycles must be an integer >= 0"),
    ({"baselines": {"m@b": {"layer_instructions": ["x"]}}}, "layer_instructions"),
])
def test_bad_baselines(tmp_path, capsys, document, fragment):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(document))
    _one_line(capsys, ["run", HELLO, "--baseline", str(path)], fragment)


@pytest.mark.parametrize("argv,fragment", [
    (["reference", HELLO, "--random", "2", "--seed", "-1"], "seed must not be negative"),
    (["reference", HELLO, "--random", str(10**12)], "can be generated"),
    (["run", HELLO, "--vectors", str(10**12)], "can be generated"),
    (["run", HELLO, "--seed", "-1"], "--seed must not be negative"),
    (["run", HELLO, "--timeout", "nan"], "--timeout must be a positive number"),
    (["run", HELLO, "--timeout", "inf"], "--timeout must be a positive number"),
    (["run", HELLO, "--tolerance", "nan"], "finite percentage"),
    (["run", HELLO, "--tolerance", "max_abs_diff=inf"], "finite number"),
    (["run", HELLO, "--baseline-tolerance", "-3"], "finite percentage"),
    (["run", HELLO, "--budget", "."], "is a directory"),
])
def test_bad_command_line_values(capsys, argv, fragment):
    _one_line(capsys, argv, fragment)


def test_build_dir_that_is_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HILBENCH_CACHE", raising=False)
    afile = tmp_path / "file"
    afile.write_text("x")
    try:
        _one_line(capsys, ["--build-dir", str(afile), "run", HELLO], "is not a directory")
        _one_line(capsys, ["baseline", "save", HELLO, "-o", str(tmp_path)], "is a directory")
    finally:  # main() sets the variable for the builds of its command. Not monkeypatch:
        # it would record the value main() set and put it back after the test, pointing
        # every later test of this worker at the file
        os.environ.pop("HILBENCH_CACHE", None)


def test_baseline_save_is_atomic_and_locked(tmp_path):
    path = tmp_path / "baseline.json"
    records = [{"model": f"m{i}", "board": "b", "vectors": 1, "seed": 0,
                "instructions": i, "flash_bytes": 1, "ram_bytes": 1} for i in range(40)]
    threads = [threading.Thread(target=save_baseline, args=(path, r)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = load_baselines(path)
    assert sorted(saved) == sorted(f"m{i}@b" for i in range(40))  # none lost to a race
    assert [p.name for p in tmp_path.iterdir() if p.name != "baseline.json.lock"] == \
        ["baseline.json"]  # no temporary file left
