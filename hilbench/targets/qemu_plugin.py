"""The instruction-counting TCG plugin (firmware/qemu_plugin/): building it with the host
compiler, the arguments it needs from the firmware ELF, and parsing what it writes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hilbench.toolchain.elf_info import elf_symbols
from hilbench.errors import BuildError, TargetError
from hilbench.paths import BUILD_DIR, FIRMWARE_DIR
from hilbench.timing.counts import InferenceCount, LayerCount

PLUGIN_SOURCE = FIRMWARE_DIR / "qemu_plugin" / "hb_insn_count.c"
PLUGIN = BUILD_DIR / "plugins" / "hb_insn_count.so"
CLASSES = ("alu", "load", "store", "mul", "mac", "div", "simd", "branch", "taken_branch",
           "multi_regs")


def ensure_plugin() -> Path:
    """Build the plugin if it is missing or older than its source (make setup calls this too)."""
    sources = [PLUGIN_SOURCE, PLUGIN_SOURCE.with_name("qemu_plugin_api.h")]
    if PLUGIN.exists() and PLUGIN.stat().st_mtime >= max(s.stat().st_mtime for s in sources):
        return PLUGIN
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise BuildError("a host C compiler (cc) is needed to build the QEMU plugin")
    PLUGIN.parent.mkdir(parents=True, exist_ok=True)
    # built beside and renamed over: a process loading the plugin meanwhile never sees
    # half a file, and two processes building at once both end with a whole one
    staging = PLUGIN.with_name(f".{PLUGIN.name}.{os.getpid()}")
    try:
        result = subprocess.run([compiler, "-std=c99", "-D_DEFAULT_SOURCE", "-O2", "-Wall",
                                 "-shared", "-fPIC", "-fvisibility=hidden", "-o", str(staging),
                                 str(PLUGIN_SOURCE)], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise BuildError(f"QEMU plugin build failed: {result.stderr.strip()[:300]}")
        staging.replace(PLUGIN)
    finally:
        staging.unlink(missing_ok=True)
    return PLUGIN


def plugin_arguments(elf: Path, output: Path) -> str:
    wanted = ("hb_markers", "hb_profile_mark")
    symbols = elf_symbols(elf, wanted)
    for name in wanted:
        if name not in symbols:
            raise TargetError(f"{elf.name} has no symbol {name}: not a hilbench firmware")
    markers = symbols["hb_markers"][0]
    start, size = symbols["hb_profile_mark"]
    return (f"{ensure_plugin()},markers={markers:#x},overhead={start:#x}-{start + size:#x},"
            f"out={output}")


def parse_counts(path: Path) -> list[InferenceCount]:
    inferences = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[0] != "inference":
            continue
        total, overhead, layers = int(fields[1]), int(fields[3]), int(fields[5])
        numbers = [int(x) for x in fields[6:]]
        width = 1 + len(CLASSES)
        if len(numbers) != layers * width:
            raise TargetError(f"instruction counter wrote a malformed line: {line[:80]}")
        per_layer = [LayerCount(numbers[i * width], dict(zip(CLASSES, numbers[i * width + 1:
                                                                           (i + 1) * width])))
                     for i in range(layers)]
        inferences.append(InferenceCount(total, overhead, per_layer))
    return inferences
