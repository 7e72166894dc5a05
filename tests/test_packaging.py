"""hilbench as users get it: a wheel installed into a fresh virtual environment, far from
this checkout, and what `make demo` installs.

The wheel test installs the wheel's dependencies from the package index into a new venv
(about 15 s here) rather than borrowing this environment's site-packages: a borrowed
site-packages would also carry this checkout's editable install, and the point is that
every file hilbench uses (board files, firmware sources, the QEMU plugin's source) comes
out of the wheel."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hilbench import paths
from support import REPO

CORE_ONLY_FORBIDDEN = {"torch", "onnxruntime", "tflite-micro", "onnx", "pytest", "jsonschema"}


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, (f"{' '.join(command)} exited {result.returncode}:\n"
                                    f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", paths.CACHE_VARIABLE)}
    return {**env, **extra}


def test_checkout_paths_are_the_repository_folders():
    assert paths.IN_CHECKOUT
    assert paths.BOARDS_DIR == REPO / "boards" and paths.FIRMWARE_DIR == REPO / "firmware"


def test_build_cache_is_outside_the_checkout_and_overridable(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.CACHE_VARIABLE, raising=False)
    assert not paths.build_dir().is_relative_to(REPO)
    monkeypatch.setenv(paths.CACHE_VARIABLE, str(tmp_path / "c"))
    assert paths.build_dir() == tmp_path / "c"
    assert paths.BUILD_DIR == tmp_path / "c"  # the old name reads the same setting


def test_build_dir_option_sets_the_cache_for_the_run(tmp_path, monkeypatch):
    from hilbench import cli

    monkeypatch.delenv(paths.CACHE_VARIABLE, raising=False)
    seen = []

    def boards(args, console):
        seen.append(paths.build_dir())
        return 0

    monkeypatch.setattr(cli, "cmd_boards", boards)
    assert cli.main(["--build-dir", str(tmp_path / "x"), "boards"]) == 0
    assert seen == [tmp_path / "x"]
    monkeypatch.delenv(paths.CACHE_VARIABLE)  # main() set it for the rest of the process


def test_make_demo_installs_the_core_package_only():
    makefile = (REPO / "Makefile").read_text()
    core = re.search(r"^INSTALL_CORE\s*:=\s*(.+)$", makefile, re.M).group(1).strip()
    assert "[" not in core, f"make demo installs extras: {core}"
    demo = re.search(r"^demo:\s*(.*)$", makefile, re.M).group(1).split()
    assert demo == ["setup"], f"demo depends on {demo}, not only on setup (core install)"
    setup = re.search(r"^setup:\s*(.*)$", makefile, re.M).group(1).split()
    assert "test-deps" not in setup and "$(TEST_STAMP)" not in setup


def test_core_install_resolves_no_extra(tmp_path):
    """What `pip install .` (make demo) would install into an empty environment."""
    report = tmp_path / "report.json"
    _run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
          "--report", str(report), str(REPO)], cwd=tmp_path, env=_clean_env(), timeout=300)
    names = {item["metadata"]["name"].lower().replace("_", "-")
             for item in json.loads(report.read_text())["install"]}
    assert "hilbench" in names and "platformdirs" in names
    assert not names & CORE_ONLY_FORBIDDEN, f"the core package pulls in {names & CORE_ONLY_FORBIDDEN}"


@pytest.mark.hil
def test_wheel_in_a_fresh_venv_runs_bit_exact(tmp_path):
    wheels, venv, cwd, cache = (tmp_path / d for d in ("wheels", "venv", "cwd", "cache"))
    cwd.mkdir()
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
          str(REPO)], cwd=cwd, env=_clean_env())
    wheel = next(wheels.glob("hilbench-*.whl"))
    _run([sys.executable, "-m", "venv", str(venv)], cwd=cwd, env=_clean_env())
    python, command = venv / "bin" / "python", venv / "bin" / "hilbench"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=cwd, env=_clean_env())
    env = _clean_env(**{paths.CACHE_VARIABLE: str(cache)})

    where = _run([str(python), "-c", "import hilbench, hilbench.paths as p; "
                  "print(hilbench.__file__); print(p.IN_CHECKOUT); print(p.FIRMWARE_DIR)"],
                 cwd=cwd, env=env).stdout.split()
    assert Path(where[0]).is_relative_to(venv), where
    assert where[1] == "False" and Path(where[2]).is_relative_to(venv), where
    # run-time imports need no extra: the quantizer's onnx stays out of `hilbench run`
    _run([str(python), "-c", "import sys, hilbench.cli, hilbench.run, hilbench.api; "
          "bad = {'onnx', 'onnxruntime', 'torch', 'tflite_micro'} & set(sys.modules); "
          "assert not bad, bad"], cwd=cwd, env=env)

    boards = _run([str(command), "boards"], cwd=cwd, env=env).stdout
    assert "qemu-mps2-an386" in boards and "nucleo-l4r5zi" in boards

    _run([str(command), "run", "--board", "qemu-mps2-an386", "--vectors", "2",
          "--json", "run.json"], cwd=cwd, env=env)
    record = json.loads((cwd / "run.json").read_text())
    assert record["bit_exact"] is True and record["mismatches"] == 0
    assert record["instructions"] > 0  # the plugin was built from the shipped source
    assert list((cache / "plugins").glob("hb_insn_count-*.so"))
    assert (cache / "firmware" / "qemu-mps2-an386").is_dir()
