"""`hilbench dut`'s table and JSON document, both made from the DutResult."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hilbench.dut.records import MLPERF_MIN_WINDOW_S, DutResult
from hilbench.errors import ConfigError

SCHEMA_VERSION = 1


def _timing_note(result: DutResult) -> str:
    clock = ("QEMU's virtual time (-icount: SysTick counts executed instructions, "
             "deterministic)" if result.virtual_time else "the DUT's own timer")
    if result.mlperf_windows:
        return f"{clock}; windows meet MLPerf's rules (5, each >= {MLPERF_MIN_WINDOW_S:g} s)"
    return (f"{clock}; SHORTER than MLPerf's windows ({len(result.windows)} windows, shortest "
            f"{result.shortest_window_s:.3f} s; MLPerf wants 5 of >= {MLPERF_MIN_WINDOW_S:g} s):"
            f" not a valid MLPerf score")


def dut_record(result: DutResult) -> dict[str, Any]:
    c = result.comparison
    latencies = [w.latency_us for w in result.windows]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "mlperf-dut",
        "model": result.request.model_name,
        "board": result.request.board.name if result.request.board else None,
        "port": result.request.port,
        "dut": {"name": result.dut_name, "profile": result.profile, "model_id": result.model_id},
        "vectors": len(result.windows),
        "data": result.data_source,
        "passed": result.passed,
        "outputs": {
            "values": c.values, "within_precision": c.within_precision,
            "max_abs_diff": c.max_abs_diff, "decimals": c.decimals, "tolerance": c.tolerance,
            "bit_exact": c.bit_exact, "top1_agreement": c.top1_agreement,
            "first_outside": None if c.first is None else {
                "vector": c.first.vector, "index": c.first.index,
                "expected": c.first.expected, "printed": c.first.printed},
        },
        "performance": {
            "inferences_per_window": result.windows[0].count,
            "warmup": result.windows[0].warmup,
            "throughput_per_s": {"median": _finite(result.median_throughput)},
            "latency_us": {"min": min(latencies), "median": result.median_latency_us,
                           "max": max(latencies)},
            "windows": [{"vector": w.vector, "elapsed_us": w.elapsed_us,
                         "throughput_per_s": _finite(w.throughput)} for w in result.windows],
            "shortest_window_s": result.shortest_window_s,
            "mlperf_windows": result.mlperf_windows,
            "virtual_time": result.virtual_time,
        },
        "flash_bytes": result.firmware.sizes.flash if result.firmware else None,
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def write_dut_json(result: DutResult, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dut_record(result), indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def print_dut(console: Console, result: DutResult) -> None:
    c = result.comparison
    table = Table(show_header=False, title="hilbench dut (MLPerf Tiny protocol)",
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    exact = {True: "yes", False: "no", None: "cannot tell at the printed precision"}
    verdict = "[green]yes[/]" if c.passed else "[red]NO[/]"
    w = result.windows[0]
    rows = [
        ("model", result.request.model_name),
        ("DUT", f"{result.dut_name} on {result.link} (profile {result.profile}, "
                f"model id {result.model_id})"),
        ("vectors", f"{len(result.windows)} ({result.data_source})"),
        ("agrees with reference", verdict),
        ("within precision", f"{c.within_precision} of {c.values} values within "
                             f"+/-{c.tolerance:.4g} (half a unit of the last of "
                             f"{c.decimals} decimals printed, +0.1 %); max |diff| "
                             f"{c.max_abs_diff:.4g}"),
        ("top-1 agreement", f"{100 * c.top1_agreement:.1f}%"),
        ("bit-exact (recovered q)", exact[c.bit_exact]),
        ("inferences", f"{w.count} timed per window after {w.warmup} warm-up"),
        ("latency", f"{result.median_latency_us:,.1f} us median per inference (min "
                    f"{min(x.latency_us for x in result.windows):,.1f}, max "
                    f"{max(x.latency_us for x in result.windows):,.1f})"),
        ("throughput", f"{result.median_throughput:,.3f} inferences/s (median over windows)"),
        ("timing", _timing_note(result)),
    ]
    if result.firmware is not None:
        rows.append(("flash", f"{result.firmware.sizes.flash:,} B ({result.firmware.elf})"))
    if c.first is not None:
        f = c.first
        rows.append(("first outside", f"vector {f.vector}, value {f.index}: expected "
                                      f"{f.expected:.6g}, printed {f.printed}"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
