"""A model's stored results on a board over time, as a table: one row per run, the figures
that regressions are judged on, and the checks that failed."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from hilbench.store.db import JobRow

STATUS_STYLE = {"pass": "green", "fail": "red", "skipped": "yellow", "error": "red"}


def _n(value: int | float | None) -> str:
    return "" if value is None else f"{value:,}"


def print_history(console: Console, rows: list[JobRow]) -> None:
    first = rows[0]
    table = Table(title=f"history: {first.model} on {first.board}", title_justify="left")
    for column in ("run", "when", "variant", "status", "instructions", "est. cycles",
                   "latency us", "RAM B", "flash B", "failed checks"):
        table.add_column(column, justify="right" if column not in (
            "when", "variant", "status", "failed checks") else "left")
    for row in rows:
        failed = "; ".join(f"{c['name']} {c['actual']}"
                           + (f" ({c['detail']})" if c["detail"] else "")
                           for c in row.failed_checks) or (row.message or "")
        style = STATUS_STYLE[row.status]
        table.add_row(str(row.matrix_run), time.strftime("%Y-%m-%d %H:%M:%S",
                                                         time.localtime(row.started)),
                      row.series, f"[{style}]{row.status}[/]", _n(row.instructions),
                      _n(row.cycles), _n(row.latency_us), _n(row.ram_bytes),
                      _n(row.flash_bytes), failed)
    console.print(table)
