"""A user's own firmware under a run (`hilbench run MODEL --firmware ELF`): checked before
it is loaded (an Arm ELF built on the DUT library, for this board's memory), and checked
once it answers (the model it says it runs is the model given)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from hilbench.board import Board
from hilbench.errors import ConfigError
from hilbench.protocol.session import DeviceInfo
from hilbench.toolchain.elf_info import elf_sizes, elf_symbols
from hilbench.toolchain.firmware import FirmwareBuild

# the DUT library's entry point and what QEMU's instruction counter looks up
LIBRARY_SYMBOLS = ("hb_dut_poll", "hb_markers", "hb_profile_mark")
STACK_SYMBOLS = ("__stack_bottom", "__stack_top")  # the board support's linker script
LAYER_HOOKS_HELP = "HB_DUT_LAYER_DONE() in firmware/dut/hb_dut_layers.h"


def user_firmware(elf: Path, board: Board) -> FirmwareBuild:
    """The user's ELF as a build record, or a ConfigError in one line saying why it
    cannot run on `board`."""
    try:
        with open(elf, "rb") as handle:
            image = ELFFile(handle)
            machine = image["e_machine"]
            segments = [(s["p_paddr"], s["p_memsz"]) for s in image.iter_segments()
                        if s["p_type"] == "PT_LOAD" and s["p_memsz"]]
    except FileNotFoundError:
        raise ConfigError(f"--firmware {elf}: no such file") from None
    except (OSError, ELFError) as exc:
        raise ConfigError(f"--firmware {elf}: not an ELF file ({exc})") from None
    if machine != "EM_ARM":
        raise ConfigError(f"--firmware {elf}: an ELF for {machine}, not for an Arm core")
    symbols = elf_symbols(elf, LIBRARY_SYMBOLS + STACK_SYMBOLS)
    missing = [s for s in LIBRARY_SYMBOLS + STACK_SYMBOLS if s not in symbols]
    if missing:
        raise ConfigError(f"--firmware {elf}: not built on hilbench's DUT library and board "
                          f"support (no {', '.join(missing)}; see firmware/dut/hb_dut.h)")
    # the stack (NOLOAD, so in no segment) must be in RAM too: the start-up code paints it
    stack = symbols["__stack_bottom"][0], symbols["__stack_top"][0] - symbols["__stack_bottom"][0]
    regions = (board.flash, board.ram)
    for address, size in segments + [stack]:
        if not any(r.origin <= address and address + size <= r.origin + r.size
                   for r in regions):
            raise ConfigError(
                f"--firmware {elf}: {size:,} B at {address:#010x} lie outside {board.name}'s "
                f"flash and RAM: built for another board? ('hilbench dut-lib --board "
                f"{board.name}')")
    build_id = hashlib.sha256(elf.read_bytes()).hexdigest()[:12]
    return FirmwareBuild(elf, elf.parent, build_id, elf_sizes(elf), True, False)


def check_identity(info: DeviceInfo, elf: Path, model: Path, model_hash: bytes,
                   input_size: int, output_size: int) -> str:
    """Compare what the firmware reports with the model; a ConfigError (exit 2) on any
    difference. Returns how the model was recognised, for the report."""
    sizes = f"input {info.input_size:,} B, output {info.output_size:,} B"
    wanted = f"input {input_size:,} B, output {output_size:,} B"
    declared = any(info.model_hash)
    if declared and info.model_hash != model_hash:
        raise ConfigError(
            f"{elf.name} runs another model: it reports SHA-256 {info.model_hash.hex()}... "
            f"({sizes}), {model.name} is {model_hash.hex()}... ({wanted})")
    if (info.input_size, info.output_size) != (input_size, output_size):
        raise ConfigError(f"{elf.name} runs another model: it reports {sizes}, {model.name} "
                          f"has {wanted}")
    if declared:
        return f"model SHA-256 {model_hash.hex()}... and sizes match"
    return "sizes match (the firmware declares no model hash)"


def layers_missing(info: DeviceInfo, marked: int | None, operators: int) -> str | None:
    """Why a user firmware's run has no per-layer table, or None when it has one: the
    firmware must mark exactly the model's ops. `marked`: layers the counter saw."""
    if info.op_count == 0:
        return f"the firmware marks no layers ({LAYER_HOOKS_HELP})"
    if info.op_count != operators:
        return (f"the firmware marks {info.op_count} layers, the model has {operators} ops "
                f"({LAYER_HOOKS_HELP})")
    if marked is not None and marked != operators:
        return (f"the firmware declares {operators} layers but {marked} were marked in an "
                f"inference ({LAYER_HOOKS_HELP})")
    return None
