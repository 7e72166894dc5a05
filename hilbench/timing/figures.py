"""The timing figures of a run, each labelled by where it comes from:

- exact: instructions counted by an instruction counter (QEMU's plugin);
- estimated: cycles from those counts through the per-core cycle model;
- measured: a real core's cycle counter;
- virtual: an emulator's clock (QEMU -icount) behind the firmware's counter.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from collections.abc import Sequence

from hilbench.model.graph import Graph
from hilbench.model.stats import model_stats
from hilbench.timing.counts import InferenceCount
from hilbench.timing.cycle_model import estimate_cycles


@dataclass(frozen=True)
class Spread:
    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(min(values), statistics.median(values), max(values))

    def scaled(self, factor: float) -> Spread:
        return Spread(self.min * factor, self.median * factor, self.max * factor)


@dataclass(frozen=True)
class LayerProfile:
    index: int
    op: str
    output_shape: tuple[int, ...]
    macs: int
    instructions: int | None  # exact, of the slowest inference
    cycles: int | None  # estimated, measured or virtual: Timing.cycle_source
    share: float  # of the inference's cycles


@dataclass(frozen=True)
class Timing:
    clock_hz: int
    cycles: Spread | None
    cycle_source: str | None  # "estimated", "measured", "virtual", or None when missing
    instructions: Spread | None  # exact per-inference counts
    overhead_instructions: int | None
    layers: list[LayerProfile]
    missing: str | None = None  # why there are no cycle figures, when there are none
    layers_missing: str | None = None  # why there is no per-layer profile beside them

    @property
    def cycles_estimated(self) -> bool:
        return self.cycle_source == "estimated"

    @property
    def latency_us(self) -> Spread | None:
        return None if self.cycles is None else self.cycles.scaled(1e6 / self.clock_hz)


def timing_from_counts(core: str, clock_hz: int, graph: Graph,
                       counts: list[InferenceCount], layers_missing: str | None = None) -> Timing:
    """Exact instructions; cycles estimated per core from their classes. With
    `layers_missing` (the counts' layers are not the model's ops), whole inferences only."""
    macs = model_stats(graph).ops
    estimates = [sum(estimate_cycles(core, layer.classes) for layer in c.layers) + c.overhead
                 for c in counts]
    slowest = max(range(len(counts)), key=lambda i: estimates[i])
    if layers_missing is not None:
        return Timing(clock_hz, Spread.of(estimates), "estimated",
                      Spread.of([c.total for c in counts]), counts[slowest].overhead, [],
                      layers_missing=layers_missing)
    layer_cycles = [estimate_cycles(core, layer.classes) for layer in counts[slowest].layers]
    total = sum(layer_cycles) or 1
    layers = [LayerProfile(op.index, op.opcode, graph.tensor(op.outputs[0]).shape,
                           macs[op.index].macs, counts[slowest].layers[op.index].instructions,
                           layer_cycles[op.index], layer_cycles[op.index] / total)
              for op in graph.operators]
    return Timing(clock_hz, Spread.of(estimates), "estimated",
                  Spread.of([c.total for c in counts]), counts[slowest].overhead, layers)


def timing_from_cycle_counter(clock_hz: int, graph: Graph, source: str, cycles: list[int],
                              stamps: list[list[int]], mark_cost: int,
                              layers_missing: str | None = None) -> Timing:
    """The firmware's own counter: per-inference cycles and per-layer timestamps, with the
    cost of each profiling mark (measured by the firmware at start-up) calibrated out.
    With `layers_missing` (no layer stamps), whole inferences only."""
    macs = model_stats(graph).ops
    marks = 2 if layers_missing is not None else len(graph.operators) + 2
    totals = [max(0, c - marks * mark_cost) for c in cycles]
    if layers_missing is not None:
        return Timing(clock_hz, Spread.of(totals), source, None, mark_cost, [],
                      layers_missing=layers_missing)
    slowest = max(range(len(totals)), key=lambda i: totals[i])
    row = stamps[slowest]
    deltas = [max(0, ((row[i + 1] - row[i]) & 0xFFFFFFFF) - mark_cost)
              for i in range(len(graph.operators))]
    total = sum(deltas) or 1
    layers = [LayerProfile(op.index, op.opcode, graph.tensor(op.outputs[0]).shape,
                           macs[op.index].macs, None, deltas[op.index], deltas[op.index] / total)
              for op in graph.operators]
    return Timing(clock_hz, Spread.of(totals), source, None, mark_cost, layers)


def merge_stage(timing: Timing, first: int, last: int, macs: int,
                output_shape: tuple[int, ...]) -> Timing:
    """Ops first..last as one row: a patch stage runs them interleaved, patch by patch, and
    the firmware marks them only at the stage's end, so their own figures do not exist.
    macs: what the stage executes (halos recomputed)."""
    inside = [l for l in timing.layers if first <= l.index <= last]
    if len(inside) < 2:
        return timing

    def total(values: list[int | None]) -> int | None:
        return None if any(v is None for v in values) else sum(v for v in values if v)

    row = LayerProfile(first, f"patch stage ops {first}..{last}", output_shape, macs,
                       total([l.instructions for l in inside]),
                       total([l.cycles for l in inside]), sum(l.share for l in inside))
    layers = [l for l in timing.layers if l.index < first] + [row] + \
        [l for l in timing.layers if l.index > last]
    return replace(timing, layers=layers)


def no_timing(clock_hz: int, reason: str) -> Timing:
    return Timing(clock_hz, None, None, None, None, [], missing=reason)
