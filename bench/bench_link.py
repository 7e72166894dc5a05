"""Link throughput on QEMU: the UART (serial over a socket) beside the debug-probe RAM link
(ring buffers through the GDB stub, directly and through pyOCD), measured in one run.
Target: the probe link at 1 MB/s or more. Usage: python bench/bench_link.py [--kib N]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hilbench.board import load_board
from hilbench.toolchain.firmware import build_firmware
from hilbench.codegen.c_model import generate_model
from hilbench.model import load_model
from hilbench.drivers.registry import link_driver
from hilbench.run.strategy import measure_link, open_target

TARGET_BYTES_PER_S = 1_000_000


def main() -> int:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, default=256, help="KiB echoed per link")
    parser.add_argument("--board", default="qemu-mps2-an386")
    args = parser.parse_args()
    board = load_board(args.board)
    model = repo / "hilbench" / "data" / "kws_ds_cnn_int8.tflite"
    generated = generate_model(load_model(model), model.read_bytes(), model.stem)
    rates = {}
    for name, link, via in (("serial", "serial", "direct"), ("probe", "probe", "direct"),
                            ("probe via pyOCD", "probe", "pyocd")):
        firmware = build_firmware(generated, board, model.stem, variant=board.build.kernels,
                                  link=link)
        with open_target(board, firmware.elf, link_driver(link), via, timeout=30) as (_, session):
            session.info()
            total = args.kib * 1024 if link == "probe" else min(args.kib, 32) * 1024
            rates[name] = (measure_link(session, total), total)
    table = Table(title=f"link throughput on {board.name} (echo round trip, both directions "
                        f"counted)", title_justify="left")
    for column in ("link", "bytes moved", "throughput", "vs serial"):
        table.add_column(column, justify="left" if column == "link" else "right")
    for link, (rate, total) in rates.items():
        table.add_row(link, f"{2 * total:,}", f"{rate / 1024:,.1f} KiB/s",
                      f"{rate / rates['serial'][0]:.1f}x")
    console = Console(width=110)
    console.print(table)
    met = rates["probe"][0] >= TARGET_BYTES_PER_S
    console.print(f"target {'met' if met else 'MISSED'}: probe link "
                  f"{rates['probe'][0] / 1e6:.2f} MB/s (goal >= 1 MB/s); through pyOCD's "
                  f"memory API, which halts QEMU around every access: "
                  f"{rates['probe via pyOCD'][0] / 1e6:.2f} MB/s")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
