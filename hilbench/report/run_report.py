"""A run's result and verdict rendered: a table for people and JSON for machines. Nothing
here decides anything; every figure comes from the typed RunResult, every check from
compare.verdict."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hilbench.compare.checks import Check
from hilbench.errors import ConfigError
from hilbench.compare.outputs import Comparison
from hilbench.run.records import PartialRun, RunResult


def _spread(spread: Any, digits: int = 0) -> dict[str, float] | None:
    if spread is None:
        return None
    return {k: round(getattr(spread, k), digits) if digits else int(round(getattr(spread, k)))
            for k in ("min", "median", "max")}


# The version of the JSON document (hilbench/schemas/run.schema.json): raised when a key
# is removed or changes meaning; a new key does not change it.
SCHEMA_VERSION = 1


def run_record(result: RunResult, profile: bool = False) -> dict[str, Any]:
    c = result.comparison
    t = result.timing
    source = {"estimated": t.cycles_estimated, "source": t.cycle_source}
    timing: dict[str, Any] = {
        "instructions": None if t.instructions is None else int(t.instructions.max),
        "instructions_per_inference": _spread(t.instructions),
        "cycles": None if t.cycles is None else {**_spread(t.cycles), **source},
        "latency_us": None if t.latency_us is None else {**_spread(t.latency_us, 3), **source},
        "timing_missing": t.missing,
        "profile_missing": t.layers_missing,
        "clock_hz": t.clock_hz,
        "measuring_overhead_instructions": t.overhead_instructions,
    }
    if profile:
        timing["layers"] = [{"index": l.index, "op": l.op, "macs": l.macs,
                             "instructions": l.instructions, "cycles": l.cycles}
                            for l in t.layers]
    return {
        "schema_version": SCHEMA_VERSION,
        "complete": True,
        "model": result.model,
        "board": result.board,
        "vectors": result.vectors,
        "seed": result.seed,
        "sequence_length": result.request.sequence_length,
        **_comparison_record(c),
        "first_divergence": _divergence_record(result),
        "data": result.data_source,
        "metrics": [{"output": k, **{key: _finite(value) for key, value in asdict(m).items()}}
                    for k, m in enumerate(result.metrics)],
        "failures_saved": None if result.failures_saved is None else str(result.failures_saved),
        "flash_bytes": result.build.sizes.flash,
        "ram_bytes": {"static": result.ram_static, "arena": result.arena_bytes,
                      "scratch": result.scratch_bytes,
                      "stack_peak": result.stack_peak, "total": result.ram_total},
        "arena_lower_bound": result.arena_lower_bound,
        **({"memory": _memory_record(result)} if result.memory is not None else {}),
        "link_bytes_per_s": round(result.link_bytes_per_s, 1),
        "link_resends": result.resends,
        "transport": result.link,
        "via": result.via,
        "driver": result.driver,
        "stack_peak_via_probe": result.probe_stack_peak,
        "load_method": result.load_method,
        "probe": result.probe,
        "vectors_per_s": round(result.vectors_per_s, 3),
        "build_id": result.build.build_id,
        "firmware": None if result.request.firmware is None else str(result.request.firmware),
        "build_cached": result.build.cached,
        **timing,
    }


def _memory_record(result: RunResult) -> dict[str, Any]:
    m = result.memory
    assert m is not None
    return {"requested": m.requested, "mode": m.mode, "arena": m.arena_bytes,
            "strategy": m.strategy, "plan": m.plan, "extra_macs": m.extra_macs,
            "patch_stage": None if m.patch_stage is None else list(m.patch_stage),
            "reason": m.reason}


def _comparison_record(c: Comparison) -> dict[str, Any]:
    return {
        "bit_exact": c.bit_exact,
        "mismatches": c.mismatches,
        "max_abs_diff": c.max_abs_diff,
        "first_mismatch": None if c.first is None else {
            "vector": c.first.vector, "output": c.first.output, "index": list(c.first.index),
            "expected": c.first.expected, "actual": c.first.actual,
            "sequence": c.first.sequence, "step": c.first.step},
        "mismatching_vectors": len(c.mismatching_vectors),
    }


def partial_record(partial: PartialRun, error: str) -> dict[str, Any]:
    """The document of a run that failed after some vectors: those vectors' verdict, and
    why the run ended ("complete": false; the schema's partial form)."""
    request = partial.request
    assert partial.comparison is not None, "a partial document needs a verified vector"
    return {
        "schema_version": SCHEMA_VERSION,
        "complete": False,
        "model": request.model_name,
        "board": request.board.name,
        "vectors": partial.vectors,
        "vectors_verified": partial.done,
        "seed": request.seed,
        "sequence_length": request.sequence_length,
        **_comparison_record(partial.comparison),
        "transport": request.link,
        "link_resends": partial.resends,
        "error": error,
    }


def write_partial_json(partial: PartialRun, path: Path, error: str) -> None:
    _write(path, json.dumps(partial_record(partial, error), indent=2) + "\n")


def _finite(value: float | None) -> float | None:
    """JSON has no infinity: an undefined ratio is null."""
    return None if value is None or not math.isfinite(value) else round(value, 6)


def _divergence_record(result: RunResult) -> dict[str, Any] | None:
    d = result.first_divergence
    if d is None:
        return None
    return {"vector": d.vector, "layer": d.index, "op": d.op, "output_shape": list(d.output_shape),
            "differing_values": d.differing, "values": d.values, "max_abs_diff": d.max_abs_diff,
            "first_index": list(d.first_index), "expected": d.expected, "actual": d.actual}


def run_json(result: RunResult, profile: bool = False) -> str:
    return json.dumps(run_record(result, profile), indent=2) + "\n"


def write_json(result: RunResult, path: Path, profile: bool = False) -> None:
    _write(path, run_json(result, profile))


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def _loaded(result: RunResult) -> str:
    text = result.load_method + (f" ({result.load_note})" if result.load_note else "")
    if result.probe is not None:
        attempts = result.probe["connect_attempts"]
        text += (f", probe {result.probe['unique_id']}, connected under reset in {attempts} "
                 f"attempt{'s' if attempts != 1 else ''}")
    return text


def print_run(console: Console, result: RunResult) -> None:
    record = run_record(result)
    c = result.comparison
    verdict = "[green]yes[/]" if c.bit_exact else "[red]NO[/]"
    table = Table(show_header=False, title="hilbench run", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("model", result.model), ("board", result.board), ("vectors", str(result.vectors)),
        *([("sequences", f"{result.vectors // result.request.sequence_length} of "
                         f"{result.request.sequence_length} steps (state reset at each start)")]
          if result.request.sequence_length > 1 else []),
        ("data", result.data_source),
        ("bit-exact", verdict),
        ("mismatching values", f"{c.mismatches} of {c.values}"),
        ("max |diff|", f"{c.max_abs_diff:g}"),
        ("flash", f"{record['flash_bytes']:,} B"),
        ("static RAM", f"{result.ram_static:,} B (data + bss)"),
        *([("firmware", f"{result.request.firmware} (yours: {result.identity})")]
          if result.request.firmware is not None else []),
        ("arena", (f"{result.arena_bytes:,} B (" if result.arena_bytes else "not reported (")
                  + ("as the firmware reports it; " if result.request.firmware else "")
                  + f"lower bound {result.arena_lower_bound:,} B)"),
        *([("memory", _memory_row(result))] if result.memory is not None else []),
        *([("kernel scratch", f"{result.scratch_bytes:,} B (outside the arena, in static RAM)")]
          if result.scratch_bytes else []),
        ("stack peak", f"{result.stack_peak:,} B"
                       + (f" (read through pyOCD: {result.probe_stack_peak:,} B)"
                          if result.probe_stack_peak is not None else "")),
        ("total RAM", f"{result.ram_total:,} B"),
        ("vectors/s", f"{result.vectors_per_s:.2f}"),
        ("link", f"{result.link_bytes_per_s / 1024:.1f} KiB/s over {result.link} (measured, "
                 f"echo round trip); {result.resends} requests resent"),
        *([("loaded", _loaded(result))] if result.load_method else []),
    ]
    t = result.timing
    if t.instructions is not None:
        rows.append(("instructions", f"{int(t.instructions.max):,} per inference (exact, "
                                     f"worst of {result.vectors}; "
                                     f"min {int(t.instructions.min):,})"))
    if t.cycles is None and t.missing:
        rows.append(("cycles", f"not available: {t.missing}"))
    if t.cycles is not None:
        label = t.cycle_source
        latency = t.latency_us
        rows.append(("cycles", f"{int(t.cycles.max):,} ({label}, {result.board} core)"))
        rows.append(("latency", f"{latency.max:,.1f} us at {t.clock_hz / 1e6:g} MHz ({label}; "
                                f"min {latency.min:,.1f}, median {latency.median:,.1f})"))
    if c.first is not None:
        f = c.first
        where = f"output {f.output}, " if len(result.metrics) > 1 else ""
        if f.sequence_length > 1:  # the state it had: which sequence, how many steps in
            where = f"sequence {f.sequence} step {f.step}, " + where
        rows.append(("first mismatch", f"vector {f.vector}, {where}index {list(f.index)}: "
                                       f"expected {f.expected:g}, got {f.actual:g}"))
    d = result.first_divergence
    if d is not None:
        shape = "x".join(map(str, d.output_shape))
        rows.append(("first divergence", f"[red]layer {d.index} {d.op}[/] ({shape}), vector "
                                         f"{d.vector}: {d.differing:,} of {d.values:,} values "
                                         f"differ, max |diff| {d.max_abs_diff:g}, first at "
                                         f"{list(d.first_index)}: expected {d.expected:g}, "
                                         f"got {d.actual:g}"))
    elif result.request.per_layer and result.request.firmware is not None:
        rows.append(("per layer", "not available: a firmware on the DUT library's "
                                  "hb_dut_invoke() runs whole inferences only"))
    elif result.request.per_layer:
        stage = result.memory.patch_stage if result.memory is not None else None
        rows.append(("per layer", "every layer's output equals the reference's" + (
            f" (ops {stage[0]}..{stage[1] - 1} run inside the patch stage and have no output "
            f"of their own: checked through op {stage[1]}'s)" if stage else "")))
    for k, m in enumerate(result.metrics):
        name = "metrics" if len(result.metrics) == 1 else f"metrics, output {k}"
        if not c.bit_exact:
            rows.append((name, f"L2r {m.l2r:.3g}, MAE {m.mae:.3g}, RMSE {m.rmse:.3g}, cosine "
                               f"{m.cosine:.6f}, top-1 agreement {100 * m.top1_agreement:.1f}%"))
        if m.accuracy is not None:
            rows.append(("accuracy" if len(result.metrics) == 1 else f"accuracy, output {k}",
                         f"{100 * m.accuracy:.2f}% on the target, "
                         f"{100 * m.reference_accuracy:.2f}% on the host reference"))
    if result.failures_saved is not None:
        replay = sorted(result.failures_saved.glob("inputs.np*"))
        rows.append(("failures saved", f"{len(c.mismatching_vectors)} vectors in "
                                       f"{result.failures_saved}"
                                       + (f" (replay: --data {replay[0]})" if replay else "")))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _memory_row(result: RunResult) -> str:
    m = result.memory
    assert m is not None
    if m.reason:  # auto: the plan, its extra MACs and why
        return m.reason
    return m.plan + (f", +{m.extra_macs:,} MACs recomputed in patch halos" if m.extra_macs
                     else "")


def print_profile(console: Console, result: RunResult) -> None:
    t = result.timing
    if not t.layers:
        console.print(f"no per-layer profile: "
                      f"{t.layers_missing or t.missing or 'no timing figures'}")
        return
    label = "est. cycles" if t.cycles_estimated else f"{t.cycle_source} cycles"
    where = f"estimated for {result.board}" if t.cycles_estimated else t.cycle_source
    table = Table(title=f"per-layer profile (slowest inference; cycles {where})",
                  title_justify="left")
    for column in ("#", "op", "output", "MACs", "instructions", label, "share", "cycles/MAC"):
        table.add_column(column, justify="left" if column in ("op", "output") else "right")
    for l in t.layers:
        per_mac = f"{l.cycles / l.macs:.1f}" if l.macs and l.cycles else ""
        table.add_row(str(l.index), l.op, "x".join(map(str, l.output_shape)), f"{l.macs:,}",
                      "" if l.instructions is None else f"{l.instructions:,}",
                      "" if l.cycles is None else f"{l.cycles:,}", f"{100 * l.share:.1f}%",
                      per_mac)
    console.print(table)
    if t.instructions is None and t.overhead_instructions is not None:
        console.print(f"{t.cycle_source} with the cycle counter; {t.overhead_instructions} "
                      f"cycles per profiling mark calibrated out")
    if t.instructions is not None and t.overhead_instructions is not None:
        layer_sum = sum(l.instructions or 0 for l in t.layers)
        console.print(f"layers add up to {layer_sum:,} of {int(t.instructions.max):,} "
                      f"instructions; measuring overhead {t.overhead_instructions:,}")


def print_verdict(console: Console, checks: list[Check]) -> None:
    table = Table(title="verdict", title_justify="left")
    for column in ("check", "result", "actual", "limit", "note"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.name, "[green]pass[/]" if check.passed else "[red]FAIL[/]",
                      check.actual, check.limit, check.detail)
    console.print(table)
