"""The board catalogue: descriptions validated on load, and every QEMU machine running a
shared model bit-exact (issue #5, QEMU part)."""

from __future__ import annotations

import pytest

from hilbench.board import board_names, load_board
from hilbench.errors import ConfigError
from hilbench.run import RunRequest, run
from support import SHARED_MODELS, assert_one_line_error, hilbench

QEMU_BOARDS = {"qemu-microbit": "cortex-m0", "qemu-mps2-an385": "cortex-m3",
               "qemu-mps2-an386": "cortex-m4", "qemu-mps2-an500": "cortex-m7",
               "qemu-mps2-an505": "cortex-m33", "qemu-mps3-an547": "cortex-m55"}


def test_catalogue_lists_the_qemu_boards():
    assert set(QEMU_BOARDS) <= set(board_names())
    result = hilbench("boards")
    assert result.returncode == 0
    for name in QEMU_BOARDS:
        assert name in result.stdout
    assert "qemu-mps2-an386 (default)" in result.stdout


@pytest.mark.hil
@pytest.mark.parametrize("name", QEMU_BOARDS)
def test_model_bit_exact_on_every_qemu_board(name):
    board = load_board(name)
    assert board.core == QEMU_BOARDS[name]
    model = "tflm_hello_world_int8" if board.ram.size < 64 * 1024 else "kws_ds_cnn_int8"
    result = run(RunRequest(SHARED_MODELS / f"{model}.tflite", board, 4, seed=4))
    assert result.comparison.bit_exact
    assert result.timing.instructions is not None and result.timing.cycles_estimated


def test_model_too_large_for_the_cortex_m0_is_refused():
    # planned as TFLM would (no tensor shares bytes); the default inplace plan fits it
    result = hilbench("run", SHARED_MODELS / "kws_ds_cnn_int8.tflite", "--board", "qemu-microbit",
                      "--memory", "plain")
    assert_one_line_error(result, "model does not fit qemu-microbit", "over by 3,712 B")


@pytest.mark.parametrize("edit,fragment", [
    (("core = \"cortex-m4\"", "core = \"cortex-m99\""), "unknown core 'cortex-m99'"),
    (("clock_hz = 25_000_000", "clock_hz = \"fast\""), "'clock_hz' must be an integer"),
    (("stack_size = 16384", "stack_size = 16"), "stack_size must be at least 1024"),
    (('"common/board_init.c"', '"common/missing.c"'), "firmware/boards/common/missing.c"),
    (("machine = \"mps2-an386\"\n", ""), "missing 'qemu.machine'"),
    (("ram = { origin = 0x2000_0000, size = 0x40_0000 }\n", ""), "missing 'memory.ram'"),
    (("linker_script = \"common/cortex_m.ld\"\n", ""), "missing 'build.linker_script'"),
    (("clock_hz = 25_000_000\n", ""), "missing 'clock_hz'"),
    (("baud = 115200", "baud = \"fast\""), "'uart.baud' must be an integer"),
    (("[qemu]", "colour = \"blue\"\n[qemu]"), "unknown key 'build.colour'"),
    (("cflags = [\"-mcpu", "cflags = [1, \"-mcpu"), "'build.cflags[0]' must be a string"),
    (('"common/board_init.c"', '"../../../etc/hostname"'), "does not exist"),
    (("kind = \"dwt\"", "kind = \"rdtsc\""), "unknown cycle_counter.kind 'rdtsc'"),
])
def test_board_file_errors_name_the_file_and_key(tmp_path, edit, fragment):
    """One line naming the file and the key, from the library and from the CLI."""
    text = load_board("qemu-mps2-an386").path.read_text()
    assert edit[0] in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(edit[0], edit[1]))
    with pytest.raises(ConfigError) as error:
        load_board(str(path))
    assert str(error.value).startswith("broken.toml: ") and fragment in str(error.value)
    result = hilbench("run", SHARED_MODELS / "tflm_hello_world_int8.tflite", "--board", path,
                      "--vectors", 1)
    assert_one_line_error(result, "broken.toml", fragment)


def test_board_sections_are_typed():
    board = load_board("qemu-microbit")
    assert board.qemu.machine == "microbit" and board.qemu.cpu is None
    assert board.cycle_counter.kind == "systick"
    assert board.defines["HB_UART_BASE"] == "0x40002000u"  # from uart.base
    assert load_board("nucleo-l4r5zi").probe.target == "stm32l4r5zitx"


REAL_BOARDS = {"nucleo-l4r5zi": "cortex-m4", "nucleo-f401re": "cortex-m4",
               "nucleo-h743zi2": "cortex-m7", "nrf52840dk": "cortex-m4",
               "rpi-pico": "cortex-m0plus"}


@pytest.mark.hil
@pytest.mark.parametrize("name", REAL_BOARDS)
def test_real_board_firmware_builds(name, tmp_path):
    """Not run here (no board attached), but built: the ELF exists and fits the board."""
    from elftools.elf.elffile import ELFFile

    from hilbench.toolchain.firmware import build_firmware
    from hilbench.codegen.c_model import generate_model
    from hilbench.model import load_model

    board = load_board(name)
    assert board.core == REAL_BOARDS[name] and not board.is_qemu
    assert board.probe.target
    model = SHARED_MODELS / "kws_ds_cnn_int8.tflite"
    generated = generate_model(load_model(model), model.read_bytes(), model.stem)
    firmware = build_firmware(generated, board, model.stem, variant=board.build.kernels,
                              cache_dir=tmp_path)
    sizes = firmware.sizes
    assert 0 < sizes.flash <= board.flash.size
    assert generated.plan.arena_size <= sizes.static_ram <= board.ram.size - board.stack_size
    with open(firmware.elf, "rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_ARM"
        vectors = elf.get_section_by_name(".text")["sh_addr"]
    assert vectors == board.flash.origin  # the vector table opens the flash image


@pytest.mark.hil  # the command checks for arm-none-eabi-gcc first
def test_real_board_without_a_probe_says_so_in_one_line():
    result = hilbench("run", "--board", "nucleo-l4r5zi", "--vectors", 2)
    assert_one_line_error(result, "no debug probe attached for nucleo-l4r5zi",
                          "pyOCD target stm32l4r5zitx")


def test_probe_listing_without_probes():
    result = hilbench("probes")
    assert result.returncode == 0 and "no debug probes attached" in result.stdout
