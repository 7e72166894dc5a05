"""The verdict of `hilbench run`, as a table for people and JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hilbench.errors import ConfigError
from hilbench.runner import RunResult


def run_record(result: RunResult) -> dict[str, Any]:
    c = result.comparison
    return {
        "model": result.model,
        "board": result.board,
        "vectors": result.vectors,
        "bit_exact": c.bit_exact,
        "mismatches": c.mismatches,
        "max_abs_diff": c.max_abs_diff,
        "first_mismatch": None if c.first is None else {
            "vector": c.first.vector, "index": list(c.first.index),
            "expected": c.first.expected, "actual": c.first.actual},
        "flash_bytes": result.build.sizes.flash,
        "ram_bytes": {"static": result.ram_static, "arena": result.arena_bytes,
                      "stack_peak": result.stack_peak, "total": result.ram_total},
        "arena_lower_bound": result.arena_lower_bound,
        "link_bytes_per_s": round(result.link_bytes_per_s, 1),
        "vectors_per_s": round(result.vectors_per_s, 3),
        "build_id": result.build.build_id,
        "build_cached": result.build.cached,
    }


def write_json(result: RunResult, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run_record(result), indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def print_run(console: Console, result: RunResult) -> None:
    record = run_record(result)
    c = result.comparison
    verdict = "[green]yes[/]" if c.bit_exact else "[red]NO[/]"
    table = Table(show_header=False, title="hilbench run", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("model", result.model), ("board", result.board), ("vectors", str(result.vectors)),
        ("bit-exact", verdict),
        ("mismatching values", f"{c.mismatches} of {c.values}"),
        ("max |diff|", f"{c.max_abs_diff:g}"),
        ("flash", f"{record['flash_bytes']:,} B"),
        ("static RAM", f"{result.ram_static:,} B (data + bss)"),
        ("arena", f"{result.arena_bytes:,} B (lower bound {result.arena_lower_bound:,} B)"),
        ("stack peak", f"{result.stack_peak:,} B"),
        ("total RAM", f"{result.ram_total:,} B"),
        ("vectors/s", f"{result.vectors_per_s:.2f}"),
        ("link", f"{result.link_bytes_per_s / 1024:.1f} KiB/s (measured, echo round trip)"),
    ]
    if c.first is not None:
        f = c.first
        rows.append(("first mismatch", f"vector {f.vector}, index {list(f.index)}: expected "
                                       f"{f.expected:g}, got {f.actual:g}"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
