"""The instruction-counting TCG plugin (firmware/qemu_plugin/): building it with the host
compiler, the arguments it needs from the firmware ELF, and parsing what it writes.

Its C source and header ship with the package (hilbench.paths.FIRMWARE_DIR); the plugin is
built on first use into the build cache, named by a hash of the source, the header and the
compiler, so an upgraded hilbench or another compiler never loads a stale plugin."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from hilbench.toolchain.elf_info import elf_symbols
from hilbench.errors import BuildError, TargetError
from hilbench.paths import FIRMWARE_DIR, build_dir
from hilbench.timing.counts import InferenceCount, LayerCount

PLUGIN_SOURCE = FIRMWARE_DIR / "qemu_plugin" / "hb_insn_count.c"
PLUGIN_HEADER = PLUGIN_SOURCE.with_name("qemu_plugin_api.h")
PLUGIN_FLAGS = ("-std=c99", "-D_DEFAULT_SOURCE", "-O2", "-Wall", "-shared", "-fPIC",
                "-fvisibility=hidden")
CLASSES = ("alu", "load", "store", "mul", "mac", "div", "simd", "branch", "taken_branch",
           "multi_regs", "mve", "mve_load", "mve_store")


def plugin_path(cache: Path | None = None) -> Path:
    """Where the plugin for the shipped source is (or will be) in the build cache."""
    compiler = _host_compiler()
    key = hashlib.sha256(compiler.encode() + b"\0" + " ".join(PLUGIN_FLAGS).encode())
    for source in (PLUGIN_SOURCE, PLUGIN_HEADER):
        key.update(source.read_bytes())
    return (cache or build_dir()) / "plugins" / f"hb_insn_count-{key.hexdigest()[:16]}.so"


def _host_compiler() -> str:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise BuildError("a host C compiler (cc) is needed to build the QEMU plugin")
    return compiler


def ensure_plugin(cache: Path | None = None) -> Path:
    """The plugin, built into the cache on first use (make setup calls this too)."""
    plugin = plugin_path(cache)
    if plugin.exists():
        return plugin
    plugin.parent.mkdir(parents=True, exist_ok=True)
    # built beside and renamed over: a process loading the plugin meanwhile never sees
    # half a file, and two processes building at once both end with a whole one
    staging = plugin.with_name(f".{plugin.name}.{os.getpid()}")
    try:
        result = subprocess.run([_host_compiler(), *PLUGIN_FLAGS, "-o", str(staging),
                                 str(PLUGIN_SOURCE)], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise BuildError(f"QEMU plugin build failed: {result.stderr.strip()[:300]}")
        staging.replace(plugin)
    finally:
        staging.unlink(missing_ok=True)
    return plugin


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
