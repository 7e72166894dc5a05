"""A run ended from outside: SIGTERM (a CI job cancelled) and SIGHUP unwind like Ctrl-C,
with a message, exit status 128 + the signal, the vectors verified so far in a partial
JSON, and no QEMU, compiler or temporary file left; QEMU killed mid-run ends the run with
one line naming QEMU's fate, the vector and the last exchange. Real QEMU, real gcc, the
CLI in a subprocess as CI runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import SHARED_MODELS

HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
KWS = SHARED_MODELS / "kws_ds_cnn_int8.tflite"  # ~0.1 s of QEMU per vector


def _children(pid: int) -> dict[int, str]:
    """pid -> name of the live processes whose parent is `pid`."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = dict(line.split(":\t", 1) for line in
                          (proc / "status").read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == pid and \
                fields.get("State", "").strip()[:1] != "Z":
            found[int(proc.name)] = fields.get("Name", "").strip()
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def _start(tmp_path: Path, *args: object, cache: Path | None = None) -> subprocess.Popen:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    if cache is not None:
        env["HILBENCH_CACHE"] = str(cache)
    return subprocess.Popen([sys.executable, "-m", "hilbench", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)


def _wait_for_child(process: subprocess.Popen, name: str, seconds: float = 90) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [pid for pid, n in _children(process.pid).items() if n.startswith(name)]
        if found:
            return found[0]
        if process.poll() is not None:
            pytest.fail(f"hilbench ended before starting {name}: {process.stderr.read()}")
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"no {name} started within {seconds} s")


def _wait_for_cpu(pid: int, seconds: float, limit: float = 90) -> None:
    """Until process `pid` has used `seconds` of CPU: QEMU only computes once the link is
    up and vectors stream, so this is 'mid-run' on a loaded machine too."""
    ticks = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            pytest.fail("QEMU ended early")
        if (int(fields[11]) + int(fields[12])) / ticks >= seconds:
            return
        time.sleep(0.05)
    pytest.fail(f"QEMU used less than {seconds} s of CPU in {limit} s")


def _finish(process: subprocess.Popen) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, stderr


@pytest.mark.hil
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_signal_mid_run_writes_a_partial_json_and_leaves_nothing(tmp_path, name):
    out = tmp_path / "run.json"
    process = _start(tmp_path, "run", KWS, "--vectors", 300, "--json", out)
    qemu = _wait_for_child(process, "qemu-system-arm")
    _wait_for_cpu(qemu, 3.0)  # some vectors verified
    process.send_signal(getattr(signal, name))
    status, stderr = _finish(process)
    number = getattr(signal, name).value
    assert status == 128 + number, stderr
    assert stderr.strip().splitlines() == [stderr.strip()], stderr
    assert stderr.startswith(f"hilbench: interrupted by {name}; the ")
    assert "(\"complete\": false)" in stderr
    record = json.loads(out.read_text())
    assert record["complete"] is False and record["bit_exact"] is True
    assert 0 < record["vectors_verified"] < 300 == record["vectors"]
    assert f"vectors verified are in {out}" in stderr
    assert str(record["vectors_verified"]) in stderr
    assert not _alive(qemu)
    assert list((tmp_path / "tmp").iterdir()) == []  # no hilbench-run-* folder


@pytest.mark.hil
def test_qemu_killed_mid_run_names_its_fate_and_the_vector(tmp_path):
    out = tmp_path / "run.json"
    process = _start(tmp_path, "run", KWS, "--vectors", 300, "--json", out)
    qemu = _wait_for_child(process, "qemu-system-arm")
    _wait_for_cpu(qemu, 3.0)
    os.kill(qemu, signal.SIGKILL)
    status, stderr = _finish(process)
    assert status == 2, stderr
    line = stderr.strip()
    assert "\n" not in line and line.startswith("hilbench: error: ")
    assert "QEMU killed by signal 9" in line, line
    assert "vector " in line and " of 300" in line and "last exchange: " in line, line
    record = json.loads(out.read_text())
    assert record["complete"] is False and record["vectors_verified"] > 0, record
    assert record["error"][:80] in line, (record["error"], line)


@pytest.mark.hil
def test_sigterm_during_the_build_leaves_no_compiler(tmp_path):
    # a fresh cache: the runtime library is compiled, which takes seconds
    process = _start(tmp_path, "run", HELLO, "--vectors", 1, cache=tmp_path / "cache")
    gcc = _wait_for_child(process, "arm-none-eabi-g")
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    status, stderr = _finish(process)
    assert status == 128 + signal.SIGTERM.value, stderr
    assert stderr.strip() == "hilbench: interrupted by SIGTERM"
    assert not _alive(gcc)
    # nothing of the compiler's group is left: no cc1, as or collect2 in its session
    deadline = time.monotonic() + 10  # a cc1 killed in the middle of a write may take a moment
    while True:
        left = [(p / "status").read_text().splitlines()[:3] for p in Path("/proc").iterdir()
                if p.name.isdigit() and _session_of(p) == gcc and _alive(int(p.name))]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == []
    assert list((tmp_path / "tmp").iterdir()) == []  # gcc removed its temporary files


def _session_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None
