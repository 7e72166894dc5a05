"""Any number of `hilbench run` processes at once: QEMU's UART and GDB sockets are made by
hilbench and inherited by QEMU (no port is free between choosing and listening), and the
firmware cache builds in private folders under a per-key lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hilbench.model.tflite_writer import write_tflite
from hilbench.paths import build_dir
from hilbench.targets.qemu import listening_socket
from support import SHARED_MODELS

from cases import conv_model

BOARD = "qemu-mps2-an386"


def _start(model: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hilbench", "run", str(model), "--board",
                             BOARD, "--vectors", "2", "--json", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, out + err


def _new_model(path: Path) -> Path:
    """A model no cache has seen: fresh random weights every time."""
    write_tflite(conv_model(np.random.default_rng(), in_shape=(1, 9, 9, 4), out_c=8), path)
    return path


def test_listening_socket_is_listening_before_anyone_connects():
    listener = listening_socket()
    try:
        import socket

        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # accepted into the backlog: nothing else can have taken this port
    finally:
        listener.close()


@pytest.mark.hil
def test_four_runs_of_one_never_built_model_and_four_of_different_models(tmp_path):
    model = _new_model(tmp_path / "fresh.tflite")
    same = [_start(model, tmp_path / f"same{i}.json") for i in range(4)]
    _finish(same)
    records = [json.loads((tmp_path / f"same{i}.json").read_text()) for i in range(4)]
    assert all(r["bit_exact"] for r in records)
    assert len({r["build_id"] for r in records}) == 1
    assert len({r["instructions"] for r in records}) == 1  # exact counts: same everywhere

    # the cache holds one whole firmware for it, no private build folders left over
    folder = build_dir() / "firmware" / BOARD
    built = sorted(folder.glob(f"fresh-{records[0]['build_id']}*"))
    assert [p.name for p in built] == [f"fresh-{records[0]['build_id']}"]
    assert list(built[0].glob("*.elf"))
    again = _start(model, tmp_path / "again.json")
    _finish([again])
    record = json.loads((tmp_path / "again.json").read_text())
    assert record["build_cached"] and record["bit_exact"]
    assert record["instructions"] == records[0]["instructions"]

    others = [SHARED_MODELS / "tflm_hello_world_int8.tflite",
              SHARED_MODELS / "tflm_micro_speech_int8.tflite",
              SHARED_MODELS / "ad_autoencoder_int8.tflite",
              _new_model(tmp_path / "fresh2.tflite")]
    different = [_start(m, tmp_path / f"diff{i}.json", "--transport",
                        "probe" if i % 2 else "serial")  # the GDB stub's socket too
                 for i, m in enumerate(others)]
    _finish(different)
    for i, m in enumerate(others):
        r = json.loads((tmp_path / f"diff{i}.json").read_text())
        assert r["bit_exact"] and r["model"] == m.stem, r
    assert os.path.isdir(folder)
