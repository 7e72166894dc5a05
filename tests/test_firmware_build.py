"""The runtime library cache: compiled once per board, variant, link and flags, shared by
every model build, rebuilt on any source change, and safe to build from two processes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import shutil
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from hilbench.board import load_board
from hilbench.codegen.c_model import generate_model
from hilbench.model import load_model
from hilbench.paths import FIRMWARE_DIR
from hilbench.toolchain import firmware
from hilbench.toolchain.firmware import build_firmware, build_runtime
from support import SHARED_MODELS

BOARD = load_board("qemu-mps2-an386")
HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
KWS = SHARED_MODELS / "kws_ds_cnn_int8.tflite"


def _generated(path: Path):
    return generate_model(load_model(path), path.read_bytes(), path.stem)


def _runtime_dirs(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "runtime").iterdir() if p.is_dir())


def test_models_share_one_runtime_build(tmp_path):
    hello = build_firmware(_generated(HELLO), BOARD, HELLO.stem, cache_dir=tmp_path)
    [runtime] = _runtime_dirs(tmp_path)
    archive = runtime / firmware.RUNTIME_ARCHIVE
    stamp = archive.stat().st_mtime_ns
    kws = build_firmware(_generated(KWS), BOARD, KWS.stem, cache_dir=tmp_path)
    assert not hello.cached and not kws.cached and hello.build_id != kws.build_id
    assert _runtime_dirs(tmp_path) == [runtime] and archive.stat().st_mtime_ns == stamp
    assert not list((tmp_path / "runtime").glob("*.tmp-*"))  # no staging left behind
    for build in (hello, kws):
        with open(build.elf, "rb") as f:
            elf = ELFFile(f)
            symbols = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab")
                       .iter_symbols()}
            assert elf.get_section_by_name(".text")["sh_addr"] == BOARD.flash.origin
        assert symbols["hb_vectors"] == BOARD.flash.origin  # the vector table came along
        assert "Reset_Handler" in symbols and "hb_report_fault" in symbols
        assert "strlen" not in symbols  # the build id's length is a constant


def test_debug_commands_link_and_variant_get_their_own_runtime(tmp_path):
    plain = build_runtime(BOARD, cache_dir=tmp_path)
    again = build_runtime(BOARD, cache_dir=tmp_path)
    debug = build_runtime(BOARD, debug_commands=True, cache_dir=tmp_path)
    assert not plain.cached and again.cached and again.directory == plain.directory
    assert debug.key != plain.key and not debug.cached
    keys = {firmware._runtime_key(BOARD, variant, link, False)
            for variant in ("ref", "armv6m") for link in ("serial", "probe")}
    assert len(keys) == 4 and plain.key in keys


def test_runtime_key_covers_sources_and_headers_of_a_variant(tmp_path, monkeypatch):
    variant = tmp_path / "kernels" / "mine"
    variant.mkdir(parents=True)
    shutil.copy(FIRMWARE_DIR / "kernels" / "ref" / "relu.c", variant / "relu.c")
    monkeypatch.setenv(firmware.KERNEL_PATH_VARIABLE, str(tmp_path / "kernels"))
    first = firmware._runtime_key(BOARD, "mine", "serial", False)
    with open(variant / "relu.c", "a") as f:
        f.write("\n/* changed */\n")
    second = firmware._runtime_key(BOARD, "mine", "serial", False)
    (variant / "mine.h").write_text("/* a header of the variant */\n")
    third = firmware._runtime_key(BOARD, "mine", "serial", False)
    assert len({first, second, third}) == 3


def test_memory_layout_changes_the_firmware_not_the_runtime(tmp_path):
    generated = _generated(HELLO)
    runtime_key = firmware._runtime_key(BOARD, "ref", "serial", False)
    smaller = dataclasses.replace(BOARD, memory=dataclasses.replace(
        BOARD.memory, stack_size=BOARD.stack_size // 2))
    assert firmware._runtime_key(smaller, "ref", "serial", False) == runtime_key
    one = build_firmware(generated, BOARD, HELLO.stem, cache_dir=tmp_path)
    two = build_firmware(generated, smaller, HELLO.stem, cache_dir=tmp_path)
    assert one.build_id != two.build_id and len(_runtime_dirs(tmp_path)) == 1


def _build_in_child(cache: str) -> tuple[str, bool]:
    runtime = build_runtime(load_board("qemu-mps2-an386"), cache_dir=Path(cache))
    return str(runtime.directory), runtime.cached


def test_concurrent_builders_share_one_runtime(tmp_path):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_build_in_child, [str(tmp_path)] * 2)
    directories = {d for d, _ in results}
    assert len(directories) == 1
    assert sorted(cached for _, cached in results) == [False, True]  # one built, one waited
    assert _runtime_dirs(tmp_path) == [Path(directories.pop())]
    assert not list((tmp_path / "runtime").glob("*.tmp-*"))


def test_a_compile_error_leaves_no_runtime_behind(tmp_path, monkeypatch):
    variant = tmp_path / "kernels" / "broken"
    variant.mkdir(parents=True)
    (variant / "relu.c").write_text("this is not C\n")
    monkeypatch.setenv(firmware.KERNEL_PATH_VARIABLE, str(tmp_path / "kernels"))
    from hilbench.errors import BuildError

    with pytest.raises(BuildError, match="firmware build failed"):
        build_runtime(BOARD, variant="broken", cache_dir=tmp_path / "cache")
    assert not _runtime_dirs(tmp_path / "cache")
    assert not list((tmp_path / "cache" / "runtime").glob("*.tmp-*"))
