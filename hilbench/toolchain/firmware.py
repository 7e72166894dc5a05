"""Build firmware for a model and a board with arm-none-eabi-gcc.

Two caches, both by content. The runtime (app, kernels, board support: everything but the
model) is compiled once per board, kernel variant, link, flags, compiler and source
content into <cache>/firmware/runtime/<board>-<variant>-<link>-<key>/. A model's firmware
compiles only the generated model.c and links it against that; its key hashes the model
source, the runtime key and the memory layout, so an unchanged model and board never
rebuild, and any change to either always does.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Mapping

from hilbench.board import Board
from hilbench.toolchain.elf_info import ElfSizes, elf_sizes
from hilbench.codegen.arena import RamLimit
from hilbench.codegen.c_model import GeneratedModel
from hilbench.drivers.registry import link_driver
from hilbench.errors import BuildError, ConfigError
from hilbench.paths import FIRMWARE_DIR, build_dir

CC = "arm-none-eabi-gcc"
AR = "arm-none-eabi-ar"
# Optimized variants live in firmware/kernels/<variant>/ and replace reference kernels of
# the same file name; HILBENCH_KERNEL_PATH (os.pathsep-separated) adds folders of variants.
KERNEL_PATH_VARIABLE = "HILBENCH_KERNEL_PATH"
COMMON_FLAGS = ("-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
                "-fdata-sections", "-fno-common")
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
# the application's fixed RAM besides arena and stack: frame buffers, counters (measured
# from builds: about 1.6 KiB), and its code size without model data (about 8 KiB)
RUNTIME_RAM_ESTIMATE = 2048
# the stack peak hilbench's firmware reaches, for a budget before running (measured peaks
# on the M4, every shared model: 520-572 B); the run then checks the measured figure
STACK_ESTIMATE = 1024
PROBE_LINK_RAM = 8192 + 3 * 1536  # ring buffers, and frame buffers for 2 KiB frames
RUNTIME_FLASH_ESTIMATE = 16384
# The protocol the firmware speaks on its link, by its application sources: hilbench's
# binary frames (firmware/app/), or MLPerf Tiny's DUT commands (firmware/mlperf/), whose
# per-build data (model id, output formats) a caller generates and passes as extra source.
# (both link firmware/dut/'s layer marks and link driver too: dut_link_sources)
PROTOCOL_SOURCES = {
    "hilbench": ("app/main.c", "dut/hb_dut_core.c", "dut/hb_dut.c", "dut/cobs.c",
                 "dut/crc32.c"),
    "mlperf": ("mlperf/mlperf_dut.c", "mlperf/mlperf_print.c", "mlperf/mlperf_timer.c"),
}
# Board sources a protocol swaps: MLPerf's m-lap-us needs a counter that every Cortex-M has
# and that QEMU models (its DWT reads 0), so its firmware times with SysTick on every board.
PROTOCOL_BOARD_SOURCES = {"mlperf": {"common/dwt_cycles.c": "common/systick_cycles.c"}}


@dataclass
class FirmwareBuild:
    elf: Path
    directory: Path
    build_id: str
    sizes: ElfSizes
    cached: bool
    debug_commands: bool


def firmware_cache() -> Path:
    """Where builds are cached unless a caller names a folder (hilbench.paths.build_dir)."""
    return build_dir() / "firmware"


@lru_cache(maxsize=1)
def compiler_version() -> str:
    if shutil.which(CC) is None:
        raise BuildError(f"{CC} not found: run 'make setup' (Debian: gcc-arm-none-eabi, "
                         f"libnewlib-arm-none-eabi)")
    result = subprocess.run([CC, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else "unknown"


def kernel_variant_dirs() -> dict[str, Path]:
    roots = [FIRMWARE_DIR / "kernels"]
    roots += [Path(p) for p in os.environ.get(KERNEL_PATH_VARIABLE, "").split(os.pathsep) if p]
    variants: dict[str, Path] = {}
    for root in roots:
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.is_dir() and any(folder.glob("*.c")):
                variants.setdefault(folder.name, folder)
    return variants


def kernel_sources(variant: str = "ref") -> list[Path]:
    """Reference kernels, each replaced by a same-named file of the variant if it has one,
    plus the variant's other files: specialized entry points (e.g. hb_conv2d_s8_dsp) that
    the code generator calls only for that variant (hilbench/codegen/specialize.py)."""
    variants = kernel_variant_dirs()
    if variant not in variants:
        raise ConfigError(f"unknown kernel variant {variant!r}; known: {', '.join(variants)}")
    reference = sorted((FIRMWARE_DIR / "kernels" / "ref").glob("*.c"))
    sources = []
    for ref in reference:
        optimized = variants[variant] / ref.name
        sources.append(optimized if optimized.exists() else ref)
    names = {ref.name for ref in reference}
    sources += sorted(s for s in variants[variant].glob("*.c") if s.name not in names)
    return sources + [FIRMWARE_DIR / "kernels" / "fixedpoint.c"]


def _runtime_ram(link: str) -> int:
    return RUNTIME_RAM_ESTIMATE + (PROBE_LINK_RAM if link == "probe" else 0)


def ram_limits(board: Board, ram_bytes: int | None = None,
               link: str = "serial") -> list[RamLimit]:
    """What `--memory auto` must fit: the board's RAM with its whole stack reserve (as
    check_fits counts it) and, when a budget sets one, ram_bytes (static RAM + the measured
    stack peak) with the stack estimated."""
    runtime = _runtime_ram(link)
    limits = [RamLimit(board.ram.size, board.stack_size + runtime, f"{board.name} RAM",
                       f"stack reserve {board.stack_size:,} + runtime {runtime:,}")]
    if ram_bytes is not None:
        limits.append(RamLimit(int(ram_bytes), STACK_ESTIMATE + runtime, "budget ram_bytes",
                               f"stack about {STACK_ESTIMATE:,} + runtime {runtime:,}"))
    return limits


def check_fits(board: Board, generated: GeneratedModel, link: str = "serial") -> None:
    """Refuse before building when the model cannot fit, saying by how much."""
    runtime = _runtime_ram(link)
    state = generated.state_bytes  # variable tensors, beside the arena
    ram_need = generated.plan.arena_size + state + board.stack_size + runtime
    if ram_need > board.ram.size:
        raise BuildError(
            f"model does not fit {board.name}: needs about {ram_need:,} B of RAM (arena "
            f"{generated.plan.arena_size:,}{f' + state {state:,}' if state else ''} + stack {board.stack_size:,} + runtime "
            f"{runtime:,}), the board has {board.ram.size:,}: over by "
            f"{ram_need - board.ram.size:,} B")
    flash_need = generated.constant_bytes + RUNTIME_FLASH_ESTIMATE
    if flash_need > board.flash.size:
        raise BuildError(
            f"model does not fit {board.name}: needs about {flash_need:,} B of flash (weights "
            f"and parameters {generated.constant_bytes:,} + runtime {RUNTIME_FLASH_ESTIMATE:,}),"
            f" the board has {board.flash.size:,}: over by {flash_need - board.flash.size:,} B")


def memory_script(board: Board) -> str:
    return (f"MEMORY\n{{\n  FLASH (rx) : ORIGIN = {board.flash.origin:#x}, LENGTH = "
            f"{board.flash.size:#x}\n  RAM (rwx) : ORIGIN = {board.ram.origin:#x}, LENGTH = "
            f"{board.ram.size:#x}\n}}\nSTACK_SIZE = {board.stack_size:#x};\n")


RUNTIME_ARCHIVE = "libhbruntime.a"
BUILD_ID_SOURCE = "build_id.c"  # written next to model.c: the build id INFO reports


@dataclass(frozen=True)
class RuntimeLibrary:
    """The firmware minus the model, compiled once per board, kernel variant, link, flags,
    compiler and source content. App and kernels are an archive (the linker takes what the
    model and main reach); board support, with the vector table and reset handler that
    only the linker script and ENTRY name, is linked as objects, so nothing of it can be
    dropped for being unreferenced and strong handlers always override the weak ones."""

    directory: Path
    archive: Path
    objects: tuple[Path, ...]
    key: str
    cached: bool


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOL_SOURCES:
        raise ConfigError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOL_SOURCES)}")
    return protocol


def _runtime_sources(board: Board, variant: str, link: str,
                     protocol: str = "hilbench") -> tuple[list[Path], list[Path]]:
    """(library sources, board sources)."""
    app = [FIRMWARE_DIR / n for n in PROTOCOL_SOURCES[check_protocol(protocol)]]
    app += dut_link_sources(link)
    board_dir = FIRMWARE_DIR / "boards"
    swap = PROTOCOL_BOARD_SOURCES.get(protocol, {})
    return app + kernel_sources(variant), [board_dir / swap.get(s, s) for s in board.build.sources]


def dut_link_sources(link: str = "serial") -> list[Path]:
    """What every protocol's firmware links from firmware/dut/: the layer marks and the
    link's device side."""
    return [FIRMWARE_DIR / "dut" / n for n in ("hb_dut_layers.c",
                                               link_driver(link).firmware_source)]


def dut_library_sources(link: str = "serial") -> list[Path]:
    """The DUT library (firmware/dut/): the protocol engine, both of its APIs, the
    profiling marks and the link's device side."""
    return [FIRMWARE_DIR / n for n in PROTOCOL_SOURCES["hilbench"]
            if n.startswith("dut/")] + dut_link_sources(link)


def _headers(variant: str, protocol: str = "hilbench") -> list[Path]:
    folders = ("include", "kernels", "app", "dut", "boards")
    folders += ("mlperf",) if protocol == "mlperf" else ()
    headers = sorted(h for folder in folders
                     for h in (FIRMWARE_DIR / folder).rglob("*.h"))
    extra = kernel_variant_dirs()[variant]
    if FIRMWARE_DIR not in extra.parents:  # a variant from HILBENCH_KERNEL_PATH
        headers += sorted(extra.glob("*.h"))
    return headers


def target_flags(board: Board, link: str = "serial", debug_commands: bool = False) -> list[str]:
    """Compiler flags for the board's core, its defines and the link's frame size: what
    every firmware source needs, without include folders."""
    flags = list(COMMON_FLAGS) + list(board.build.cflags)
    flags += [f"-D{k}={v}" for k, v in sorted(board.defines.items())]
    flags.append(f"-DHB_MAX_DATA={link_driver(link).max_data}")
    if debug_commands:
        flags.append("-DHB_DEBUG_COMMANDS")
    return flags


# where the DUT library's headers and the board API are; the runtime's own headers
# (kernels/ref too: a variant outside the tree includes the reference helpers by name)
DUT_INCLUDE_DIRS = ("include", "dut")
RUNTIME_INCLUDE_DIRS = ("kernels", "kernels/ref", "app")


def _flags(board: Board, link: str, debug_commands: bool,
           protocol: str = "hilbench") -> list[str]:
    folders = DUT_INCLUDE_DIRS + RUNTIME_INCLUDE_DIRS
    folders += ("mlperf",) if protocol == "mlperf" else ()
    return target_flags(board, link, debug_commands) + [
        f"-I{FIRMWARE_DIR / d}" for d in folders]


def _compile(flags: list[str], sources: list[Path], out_dir: Path, board: Board) -> list[Path]:
    """Objects of `sources` in out_dir, named after the sources (which must differ)."""
    names = [s.with_suffix(".o").name for s in sources]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise BuildError(f"firmware sources with the same file name cannot share an object "
                         f"folder: {', '.join(twice)}")
    out_dir.mkdir(parents=True)
    result = _tool([CC, *flags, "-c", *map(str, sources)], cwd=out_dir)
    if result.returncode != 0:
        raise BuildError(_first_error(result.stderr, board))
    return [out_dir / n for n in names]


def _tool(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a toolchain command in its own process group. When hilbench is interrupted
    (SIGINT, SIGTERM, SIGHUP) the whole group gets SIGTERM (gcc then deletes its temporary
    files) and SIGKILL after a grace period: no cc1 or as is left running as an orphan."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate()
    except BaseException:
        for signal_number, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, signal_number)
                process.wait(timeout=grace)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        if process.poll() is None:
            process.kill()
        process.wait()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive lock between processes (released when the process dies, too)."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_runtime(board: Board, variant: str = "ref", link: str = "serial",
                  debug_commands: bool = False, cache_dir: Path | None = None,
                  protocol: str = "hilbench") -> RuntimeLibrary:
    """The cached runtime library for this board and configuration, built if missing.
    Concurrent callers with the same key wait for one build and share it."""
    library_sources, board_sources = _runtime_sources(board, variant, link, protocol)
    flags = _flags(board, link, debug_commands, protocol)
    digest = _runtime_key(board, variant, link, debug_commands, protocol)
    name = f"{_safe(board.name)}-{_safe(variant)}-{link}{'-debug' if debug_commands else ''}" \
           f"{'' if protocol == 'hilbench' else '-' + protocol}-{digest[:16]}"
    root = (cache_dir or firmware_cache()) / "runtime"
    directory = root / name

    def found(cached: bool) -> RuntimeLibrary:
        objects = tuple(directory / "board" / p.with_suffix(".o").name for p in board_sources)
        return RuntimeLibrary(directory, directory / RUNTIME_ARCHIVE, objects, digest, cached)

    if directory.is_dir():
        return found(True)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{name}.lock"):
        if directory.is_dir():  # another process built it while this one waited
            return found(True)
        staging = Path(tempfile.mkdtemp(prefix=f"{name}.tmp-", dir=root))
        try:
            objects = _compile(flags, library_sources, staging / "lib", board)
            _compile(flags, board_sources, staging / "board", board)
            result = _tool([AR, "rcsD", str(staging / RUNTIME_ARCHIVE), *map(str, objects)])
            if result.returncode != 0:
                raise BuildError(f"{AR} failed: {result.stderr.strip()[:300]}")
            staging.rename(directory)  # atomic: others see all of it or nothing
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return found(False)


def _source_name(path: Path) -> str:
    """A source's name in cache keys: relative to the firmware folder when inside it."""
    try:
        return str(path.relative_to(FIRMWARE_DIR))
    except ValueError:
        return f"{path.parent.name}/{path.name}"


def build_firmware(generated: GeneratedModel, board: Board, model_name: str,
                   debug_commands: bool = False, variant: str = "ref",
                   cache_dir: Path | None = None, link: str = "serial",
                   protocol: str = "hilbench",
                   extra_sources: Mapping[str, str] | None = None) -> FirmwareBuild:
    """link: a link driver's name ("serial": the board's UART; "probe": RAM ring buffers
    for a debug probe); its firmware side is built in. protocol: what the firmware speaks
    on it (PROTOCOL_SOURCES); extra_sources: generated C files the protocol's application
    needs (file name -> text), compiled beside model.c.

    Compiles model.c and links it against the runtime library of build_runtime(), which is
    compiled only when the board, variant, link, flags, compiler or a source changed."""
    check_fits(board, generated, link)
    cache_dir = cache_dir or firmware_cache()
    extra = dict(sorted((extra_sources or {}).items()))
    runtime_key = _runtime_key(board, variant, link, debug_commands, protocol)
    linker_script = FIRMWARE_DIR / "boards" / board.build.linker_script
    key = hashlib.sha256()
    for part in [generated.source, runtime_key, memory_script(board),
                 linker_script.read_text(), " ".join(LINK_FLAGS),
                 *(f"{name}\0{text}" for name, text in extra.items())]:
        key.update(part.encode() + b"\0")
    build_id = key.hexdigest()[:12]
    directory = cache_dir / board.name / f"{_safe(model_name)}-{build_id}"
    elf = directory / "firmware.elf"
    if elf.exists():
        return FirmwareBuild(elf, directory, build_id, elf_sizes(elf), True, debug_commands)

    runtime = build_runtime(board, variant, link, debug_commands, cache_dir, protocol)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{directory.name}.tmp-", dir=directory.parent))
    try:
        (staging / "model.c").write_text(generated.source)
        (staging / BUILD_ID_SOURCE).write_text(
            f'/* Generated by hilbench. */\n#include <stdint.h>\n'
            f'const char hb_build_id[] = "{build_id}";\n')
        (staging / "memory.ld").write_text(memory_script(board))
        for name, text in extra.items():
            (staging / name).write_text(text)
        command = [CC, *_flags(board, link, debug_commands, protocol),
                   str(staging / "model.c"), str(staging / BUILD_ID_SOURCE),
                   *(str(staging / name) for name in extra),
                   *map(str, runtime.objects), str(runtime.archive),
                   *LINK_FLAGS, f"-L{staging}", f"-T{linker_script}",
                   f"-Wl,-Map={staging / 'firmware.map'}", "-o", str(staging / "firmware.elf")]
        result = _tool(command)
        if result.returncode != 0:
            raise BuildError(_first_error(result.stderr, board))
        try:
            staging.rename(directory)
        except OSError:  # the same build finished by another process first: use that one
            if not elf.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FirmwareBuild(elf, directory, build_id, elf_sizes(elf), False, debug_commands)


def _runtime_key(board: Board, variant: str, link: str, debug_commands: bool,
                 protocol: str = "hilbench") -> str:
    """The runtime library's identity: the compiler, the flags (board, link, debug), and
    the name and content of every runtime source and firmware header. Not the memory
    layout or linker script: those only matter when linking."""
    library_sources, board_sources = _runtime_sources(board, variant, link, protocol)
    key = hashlib.sha256()
    key.update(compiler_version().encode() + b"\0")
    key.update("\0".join(_flags(board, link, debug_commands, protocol)).encode())
    for role, paths in (("library", library_sources), ("board", board_sources),
                        ("header", _headers(variant, protocol))):
        for path in paths:
            key.update(f"{role}:{_source_name(path)}\0".encode())
            key.update(path.read_bytes())
    return key.hexdigest()


def _first_error(stderr: str, board: Board) -> str:
    for line in stderr.splitlines():
        if "overflowed by" in line:  # ld: region `RAM' overflowed by 1234 bytes
            return f"firmware does not fit {board.name}: {line.split(':')[-1].strip()}"
    for line in stderr.splitlines():
        if "error" in line:
            return f"firmware build failed: {line.strip()}"
    return f"firmware build failed: {stderr.strip()[:300]}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40] or "model"
