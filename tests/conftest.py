"""Suite-wide guards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def qemu_children() -> list[int]:
    """qemu-system-arm processes whose parent is this test process."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        # the kernel truncates names to 15 characters: exactly "qemu-system-arm"
        if fields.get("Name", "").strip() == "qemu-system-arm" and \
                int(fields.get("PPid", "0").strip()) == os.getpid():
            found.append(int(proc.name))
    return found


@pytest.fixture(autouse=True)
def no_qemu_left_behind():
    """Every test must stop the emulators it started, whatever happened in it."""
    yield
    left = qemu_children()
    assert not left, f"QEMU processes left running: {left}"


@pytest.fixture
def small_layers_specialize(monkeypatch):
    """Specialized kernels for layers of any size (hilbench/codegen/specialize.py MIN_MACS
    keeps small layers on the generic kernels), for tests of those kernels on small shapes."""
    from hilbench.codegen import specialize
    monkeypatch.setattr(specialize, "MIN_MACS", 0)
