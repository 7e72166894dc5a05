"""Build firmware for a model and a board with arm-none-eabi-gcc.

Builds are cached by content: the key hashes the generated model source, every firmware
source used, the flags and the compiler version, so an unchanged model and board never
rebuild, and any change to either always does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hilbench.board import Board
from hilbench.toolchain.elf_info import ElfSizes, elf_sizes
from hilbench.codegen.c_model import GeneratedModel
from hilbench.drivers.registry import link_driver
from hilbench.errors import BuildError, ConfigError
from hilbench.paths import BUILD_DIR, FIRMWARE_DIR

CC = "arm-none-eabi-gcc"
CACHE_DIR = BUILD_DIR / "firmware"
# Optimized variants live in firmware/kernels/<variant>/ and replace reference kernels of
# the same file name; HILBENCH_KERNEL_PATH (os.pathsep-separated) adds folders of variants.
KERNEL_PATH_VARIABLE = "HILBENCH_KERNEL_PATH"
COMMON_FLAGS = ("-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
                "-fdata-sections", "-fno-common")
# the application's fixed RAM besides arena and stack: frame buffers, counters (measured
# from builds: about 1.6 KiB), and its code size without model data (about 8 KiB)
RUNTIME_RAM_ESTIMATE = 2048
RUNTIME_FLASH_ESTIMATE = 16384


@dataclass
class FirmwareBuild:
    elf: Path
    directory: Path
    build_id: str
    sizes: ElfSizes
    cached: bool
    debug_commands: bool


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
    """Reference kernels, each replaced by a same-named file of the variant if it has one."""
    variants = kernel_variant_dirs()
    if variant not in variants:
        raise ConfigError(f"unknown kernel variant {variant!r}; known: {', '.join(variants)}")
    sources = []
    for ref in sorted((FIRMWARE_DIR / "kernels" / "ref").glob("*.c")):
        optimized = variants[variant] / ref.name
        sources.append(optimized if optimized.exists() else ref)
    return sources + [FIRMWARE_DIR / "kernels" / "fixedpoint.c"]


def check_fits(board: Board, generated: GeneratedModel, link: str = "serial") -> None:
    """Refuse before building when the model cannot fit, saying by how much."""
    runtime = RUNTIME_RAM_ESTIMATE + link_driver(link).ram_bytes
    ram_need = generated.plan.arena_size + board.stack_size + runtime
    if ram_need > board.ram.size:
        raise BuildError(
            f"model does not fit {board.name}: needs about {ram_need:,} B of RAM (arena "
            f"{generated.plan.arena_size:,} + stack {board.stack_size:,} + runtime "
            f"{runtime:,}), the board has {board.ram.size:,}: over by "
            f"{ram_need - board.ram.size:,} B")
    flash_need = generated.constant_bytes + RUNTIME_FLASH_ESTIMATE
    if flash_need > board.flash.size:
        raise BuildError(
            f"model does not fit {board.name}: needs about {flash_need:,} B of flash (weights "
            f"and parameters {generated.constant_bytes:,} + runtime {RUNTIME_FLASH_ESTIMATE:,}),"
            f" the board has {board.flash.size:,}: over by {flash_need - board.flash.size:,} B")


def _memory_script(board: Board) -> str:
    return (f"MEMORY\n{{\n  FLASH (rx) : ORIGIN = {board.flash.origin:#x}, LENGTH = "
            f"{board.flash.size:#x}\n  RAM (rwx) : ORIGIN = {board.ram.origin:#x}, LENGTH = "
            f"{board.ram.size:#x}\n}}\nSTACK_SIZE = {board.stack_size:#x};\n")


def build_firmware(generated: GeneratedModel, board: Board, model_name: str,
                   debug_commands: bool = False, variant: str = "ref",
                   cache_dir: Path = CACHE_DIR, link: str = "serial") -> FirmwareBuild:
    """link: a link driver's name ("serial": the board's UART; "probe": RAM ring buffers
    for a debug probe); its firmware side is built in."""
    link_source, max_data = link_driver(link).firmware_source, link_driver(link).max_data
    check_fits(board, generated, link)
    board_dir = FIRMWARE_DIR / "boards"
    sources = ([FIRMWARE_DIR / "app" / n
                for n in ("main.c", "cobs.c", "crc32.c", "profile.c", link_source)]
               + kernel_sources(variant) + [board_dir / s for s in board.build.sources])
    headers = sorted(h for folder in ("include", "kernels", "app", "boards")
                     for h in (FIRMWARE_DIR / folder).rglob("*.h"))
    headers.append(board_dir / board.build.linker_script)
    key_flags = f"variant={variant} link={link}"
    flags = list(COMMON_FLAGS) + list(board.build.cflags)
    flags += [f"-D{k}={v}" for k, v in sorted(board.defines.items())]
    flags.append(f"-DHB_MAX_DATA={max_data}")
    if debug_commands:
        flags.append("-DHB_DEBUG_COMMANDS")

    key = hashlib.sha256()
    for part in [generated.source, compiler_version(), " ".join(flags), _memory_script(board),
                 key_flags]:
        key.update(part.encode())
    for path in sources + headers:
        key.update(path.name.encode())
        key.update(path.read_bytes())
    build_id = key.hexdigest()[:12]
    directory = cache_dir / board.name / f"{_safe(model_name)}-{build_id}"
    elf = directory / "firmware.elf"
    if elf.exists():
        return FirmwareBuild(elf, directory, build_id, elf_sizes(elf), True, debug_commands)

    staging = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "model.c").write_text(generated.source)
    (staging / "memory.ld").write_text(_memory_script(board))
    command = [CC, *flags, f'-DHB_BUILD_ID="{build_id}"',
               f"-I{FIRMWARE_DIR / 'include'}", f"-I{FIRMWARE_DIR / 'kernels'}",
               f"-I{FIRMWARE_DIR / 'app'}",
               *map(str, sources), str(staging / "model.c"),
               "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
               "-Wl,--gc-sections", f"-L{staging}", f"-T{board_dir / board.build.linker_script}",
               f"-Wl,-Map={staging / 'firmware.map'}", "-o", str(staging / "firmware.elf")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(_first_error(result.stderr, board))
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return FirmwareBuild(elf, directory, build_id, elf_sizes(elf), False, debug_commands)


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
