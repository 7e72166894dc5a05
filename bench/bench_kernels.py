"""Kernel variants against the reference kernels, per shared model and core, on QEMU.

For every shared model and board: exact instructions per inference (QEMU plugin, worst of
the vectors), instructions/MAC, estimated cycles/MAC (hilbench/timing/cycle_model.py),
flash, total RAM, and the ratio to the `ref` build of the same model in the same run; then
the five slowest layers of the variant build. The variant is the board's default
(`build.kernels`: dsp on M4/M7/M33, armv6m on M0, ...), or --kernels.

Each row passes or fails the size limits of the optimized variants: flash at most 10 % and
total RAM (static + arena + scratch + stack) at most 5 % above the `ref` build. The exit
status is 1 when a row misses a limit or is not bit-exact.

Usage: python bench/bench_kernels.py [--boards B,..] [--models M,..] [--vectors N]
                                      [--kernels VARIANT] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hilbench.board import board_names, load_board
from hilbench.errors import BuildError
from hilbench.run import RunRequest, run

BOARDS = ("qemu-mps2-an386", "qemu-mps2-an500", "qemu-mps2-an505",  # M4, M7, M33
          "qemu-microbit", "qemu-mps3-an547")  # M0, M55: their variants when present
FLASH_LIMIT = 10  # percent the variant's flash may exceed ref's by
RAM_LIMIT = 5  # and its total RAM
MODELS = ("kws_ds_cnn_int8", "ic_resnet8_int8", "vww_mobilenet_v1_025_int8",
          "ad_autoencoder_int8", "tflm_hello_world_int8", "tflm_micro_speech_int8")


def _measure(path: Path, board: str, kernels: str, vectors: int) -> dict:
    result = run(RunRequest(path, load_board(board), vectors, seed=0, kernels=kernels))
    timing = result.timing
    macs = sum(layer.macs for layer in timing.layers) or 1
    instructions = timing.instructions.max
    cycles = timing.cycles.max
    return {
        "kernels": kernels, "bit_exact": result.comparison.bit_exact,
        "instructions": instructions, "macs": macs,
        "instructions_per_mac": instructions / macs, "cycles_per_mac": cycles / macs,
        "flash_bytes": result.build.sizes.flash, "ram_bytes": result.ram_total,
        "slowest_layers": [
            {"index": layer.index, "op": layer.op, "macs": layer.macs,
             "instructions": layer.instructions,
             "instructions_per_mac": layer.instructions / layer.macs if layer.macs else None}
            for layer in sorted(timing.layers, key=lambda l: -l.instructions)[:5]],
    }


def _limits(ref: dict, opt: dict) -> list[str]:
    """The size limits `opt` misses against `ref`, as short reasons (none: it passes)."""
    misses = []
    for key, limit, name in (("flash_bytes", FLASH_LIMIT, "flash"),
                             ("ram_bytes", RAM_LIMIT, "RAM")):
        if 100 * opt[key] > (100 + limit) * ref[key]:  # in integers: exactly +10 % passes
            misses.append(f"{name} {opt[key] / ref[key] - 1:+.1%} > +{limit} %")
    return misses


def main() -> int:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default=",".join(BOARDS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--vectors", type=int, default=2)
    parser.add_argument("--kernels", help="variant to compare with ref (default: the board's)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    models_dir = repo.parent / "shared" / "models"
    console = Console(width=max(Console().width, 150))
    known = set(board_names())
    records = []
    for board_name in args.boards.split(","):
        if board_name not in known:
            console.print(f"[yellow]{board_name}: no such board, skipped[/]")
            continue
        board = load_board(board_name)
        variant = args.kernels or board.build.kernels
        table = Table(title=f"{board_name} ({board.core}): {variant} against ref "
                            f"(instructions exact, cycles estimated)")
        for column in ("model", "instr/MAC", "ref instr/MAC", "speed-up", "est. cycles/MAC",
                       "flash", "vs ref", "RAM", "vs ref", "bit-exact", "size limits"):
            table.add_column(column, justify="left" if column == "model" else "right")
        slowest = []
        for stem in args.models.split(","):
            path = models_dir / f"{stem}.tflite"
            try:
                ref = _measure(path, board_name, "ref", args.vectors)
            except BuildError as exc:  # a model too big for the board (the M0) is skipped
                table.add_row(stem, *[""] * 9, f"skipped: {str(exc).split(': ', 1)[-1]}")
                continue
            opt = ref if variant == "ref" else _measure(path, board_name, variant, args.vectors)
            misses = _limits(ref, opt)
            records.append({"board": board_name, "core": board.core, "model": stem,
                            "ref": ref, variant: opt, "size_limit_misses": misses})
            table.add_row(
                stem, f"{opt['instructions_per_mac']:.2f}", f"{ref['instructions_per_mac']:.2f}",
                f"{ref['instructions'] / opt['instructions']:.2f}x",
                f"{opt['cycles_per_mac']:.2f}", f"{opt['flash_bytes']:,}",
                f"{opt['flash_bytes'] / ref['flash_bytes'] - 1:+.1%}", f"{opt['ram_bytes']:,}",
                f"{opt['ram_bytes'] / ref['ram_bytes'] - 1:+.1%}",
                "yes" if opt["bit_exact"] and ref["bit_exact"] else "[red]NO[/]",
                f"[red]FAIL: {'; '.join(misses)}[/]" if misses else "pass")
            layers = ", ".join(
                f"#{l['index']} {l['op']} {l['instructions']:,}"
                + (f" ({l['instructions_per_mac']:.2f}/MAC)" if l["instructions_per_mac"] else "")
                for l in opt["slowest_layers"])
            slowest.append(f"{stem}: {layers}")
        console.print(table)
        console.print(f"five slowest layers ({variant}):")
        for line in slowest:
            console.print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(records, indent=2))
    failed = 0
    for r in records:
        bit_exact = all(r[k]["bit_exact"] for k in r if isinstance(r[k], dict))
        problems = r["size_limit_misses"] + ([] if bit_exact else ["not bit-exact"])
        if problems:
            failed += 1
            console.print(f"[red]FAIL[/] {r['model']} on {r['board']}: {'; '.join(problems)}")
    console.print(f"{len(records) - failed} of {len(records)} rows bit-exact and within flash "
                  f"+{FLASH_LIMIT} % and RAM +{RAM_LIMIT} % of ref")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
