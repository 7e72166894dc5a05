"""Human-readable tables. Each function takes the rich Console it writes to, so tests can
render into a buffer."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from hilbench.board import Board
from hilbench.model.graph import Graph
from hilbench.model.stats import ModelStats, format_shape, human_bytes


def print_inspect(console: Console, name: str, graph: Graph, stats: ModelStats,
                  unsupported: list[str]) -> None:
    table = Table(title=f"{name}: {len(graph.operators)} ops", title_justify="left")
    right = ("#", "MACs", "weights", "live act.")
    for column in ("#", "op", "input", "output", "output quantization", "MACs", "weights",
                   "live act."):
        table.add_column(column, justify="right" if column in right else "left")
    for s in stats.ops:
        marker = " *" if s.index == stats.peak_op else ""
        table.add_row(str(s.index), s.opcode,
                      ", ".join(format_shape(x) for x in s.input_shapes),
                      format_shape(s.output_shape), s.output_quantization,
                      f"{s.macs:,}", f"{s.weight_bytes:,}", f"{s.live_bytes:,}{marker}")
    console.print(table)
    for t in graph.input_tensors:
        console.print(f"input  {t.name!r}: {format_shape(t.shape)} {t.dtype.name}"
                      + (f", {t.quantization.describe()}" if t.quantization else ""))
    for t in graph.output_tensors:
        console.print(f"output {t.name!r}: {format_shape(t.shape)} {t.dtype.name}"
                      + (f", {t.quantization.describe()}" if t.quantization else ""))
    console.print(f"MACs per inference: {stats.total_macs:,}")
    console.print(f"weights (constant data): {human_bytes(stats.weight_bytes)}")
    console.print(f"activation memory lower bound: {human_bytes(stats.activation_lower_bound)}"
                  f" (op {stats.peak_op}, marked *: inputs + outputs live at once)")
    state = graph.variable_tensors
    if state:
        console.print(f"state (variable tensors, kept between inferences, outside the arena): "
                      f"{human_bytes(sum(t.nbytes for t in state))} in {len(state)} tensor(s); "
                      f"run sequences with --sequence-length")
    for line in unsupported:
        console.print(f"[yellow]not runnable by hilbench:[/] {line}")


def print_memory_profile(console: Console, graph: Graph, plain: Any, chosen: Any,
                         planned_for: str = "") -> None:
    """Live arena bytes per op for the layer-by-layer (plain) plan and the chosen one,
    their peaks, and the patch plan with the MACs its halos recompute. planned_for: the
    board and kernel variant whose scratch the plans include."""
    count = len(graph.operators)
    before = plain.plan.live_bytes(count)
    after = chosen.plan.live_bytes(count)
    peak_before = max(range(count), key=lambda i: before[i])
    peak_after = max(range(count), key=lambda i: after[i])
    where = f" ({planned_for})" if planned_for else ""
    table = Table(title=f"memory profile: plain vs {chosen.mode}{where}", title_justify="left")
    for column in ("#", "op", "live, plain", f"live, {chosen.mode}"):
        table.add_column(column, justify="left" if column == "op" else "right")
    patches = chosen.patches
    for op in graph.operators:
        note = " (patch)" if patches is not None and op.index in patches.ops else ""
        table.add_row(str(op.index), op.opcode + note,
                      f"{before[op.index]:,}{' *' if op.index == peak_before else ''}",
                      f"{after[op.index]:,}{' *' if op.index == peak_after else ''}")
    console.print(table)
    console.print(f"arena: plain {plain.plan.arena_size:,} B ({plain.plan.strategy}), "
                  f"{chosen.mode} {chosen.plan.arena_size:,} B ({chosen.plan.strategy}); "
                  f"peak op {peak_after} (marked *)"
                  + (f"; kernel scratch outside the arena {chosen.plan.scratch_region_size:,} B"
                     if chosen.plan.scratch_region_size else ""))
    if chosen.reason:
        console.print(chosen.reason)
    if patches is not None:
        console.print(f"patch plan: ops {patches.first}..{patches.last} in "
                      f"{patches.grid[0]}x{patches.grid[1]} patches, working memory "
                      f"{sum(chosen.slots):,} B; extra compute {patches.extra_macs:,} MACs "
                      f"(+{patches.extra_macs / max(patches.base_macs, 1):.0%} of the stage's "
                      f"{patches.base_macs:,})")


def print_reference_summary(console: Console, model: str, vectors: int, seconds: float,
                            outputs: list[tuple[str, tuple[int, ...]]],
                            written: list[str]) -> None:
    table = Table(show_header=False, title="host reference (bit-exact with TFLM)",
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("model", model)
    table.add_row("vectors", str(vectors))
    for name, shape in outputs:
        table.add_row("output", f"{name} {format_shape(shape)}")
    per_vector = seconds / max(vectors, 1)
    table.add_row("time", f"{seconds * 1e3:.1f} ms ({per_vector * 1e6:.0f} us per vector)")
    for path in written:
        table.add_row("wrote", path)
    console.print(table)


def print_boards(console: Console, boards: list[Board], default: str) -> None:
    table = Table(title="boards", title_justify="left")
    for column in ("name", "core", "clock", "flash", "RAM", "cycle counter", "machine or part",
                   "drivers"):
        table.add_column(column, justify="right" if column in ("clock", "flash", "RAM") else "left")
    for b in boards:
        part = f"QEMU {b.qemu.machine}" if b.qemu else (b.probe.target if b.probe else "")
        name = f"{b.name} (default)" if b.name == default else b.name
        table.add_row(name, b.core, f"{b.clock_hz / 1e6:g} MHz", f"{b.flash.size // 1024:,} KiB",
                      f"{b.ram.size // 1024:,} KiB", b.cycle_counter.kind, part,
                      ", ".join(b.drivers))
    console.print(table)


def print_quantization(console: Console, reports: list, output: str) -> None:
    table = Table(title="quantization cost (float vs dequantized int8)", title_justify="left")
    table.add_column("layer")
    for report in reports:
        table.add_column(f"SNR dB ({report.dataset})", justify="right")
        table.add_column(f"cosine ({report.dataset})", justify="right")
    for i, cost in enumerate(reports[0].layers):
        row = [cost.name]
        for report in reports:
            layer = report.layers[i]
            row += [f"{layer.snr_db:.1f}", f"{layer.cosine:.4f}"]
        table.add_row(*row)
    console.print(table)
    for report in reports:
        console.print(f"top-1 agreement with the float model on {report.dataset} "
                      f"({report.vectors} vectors): {100 * report.top1_agreement:.1f}%")
    console.print(f"wrote {output}")
