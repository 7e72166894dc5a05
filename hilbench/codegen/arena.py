"""The arena for a memory mode: which plan a build gets.

- `plain`: tensors never share bytes while both are live (TFLM's rule), placed by the best
  of the planner's strategies, which reaches the layer-by-layer lower bound on chains;
- `inplace` (the default): kernels' declared overlaps (codegen/overlap.py) too, so views and
  element-wise ops run in place and a layer's output may slide over the input it consumes;
- `patch`: `inplace` plus the first CNN stage run patch by patch (codegen/patch_plan.py),
  the split point and grid chosen for the smallest arena (then the fewest extra MACs);
- `auto`: the plan with the fewest MACs among these (every patch split and grid) that
  fits the RAM limits given (a budget's ram_bytes, the board's RAM), else the smallest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hilbench.codegen.memory_plan import (Buffer, MemoryPlan, last_uses, lifetimes,
                                          plan_buffers, scratch_key)
from hilbench.codegen.overlap import Overlap, op_overlaps, overlap_limit
from hilbench.codegen.patch_plan import (GRIDS, PatchPlan, layer_params, plan_patches,
                                         stage_candidates)
from hilbench.codegen.specialize import Specialized, choose
from hilbench.errors import ConfigError
from hilbench.model.graph import Graph

MODES = ("plain", "inplace", "patch", "auto")
DEFAULT_MODE = "inplace"


@dataclass(frozen=True)
class RamLimit:
    """RAM a build must fit for `auto`: the arena, the kernels' scratch region and an
    overhead (the runtime's own statics, the stack) that the plan does not change."""
    bytes: int
    overhead: int
    source: str  # what sets it, e.g. "budget ram_bytes" or "board RAM"
    overhead_text: str = "runtime and stack"  # what the overhead is, for the reason

    def need(self, plan: MemoryPlan) -> int:
        return plan.arena_size + plan.scratch_region_size + self.overhead


@dataclass
class Arena:
    plan: MemoryPlan
    mode: str  # the plan built: plain, inplace or patch
    patches: PatchPlan | None = None
    # (patch index, layer index) -> the variant's specialized kernel for that patch layer
    patch_kernels: dict[tuple[int, int], Specialized] | None = None
    slots: tuple[int, int, int] = (0, 0, 0)  # patch working memory: two slots, scratch
    requested: str = ""  # the mode asked for, when it differs (auto)
    reason: str = ""  # why auto chose this plan

    @property
    def extra_macs(self) -> int:
        return self.patches.extra_macs if self.patches is not None else 0

    def describe(self) -> str:
        """The plan in a few words: "inplace", "patch (ops 0..3, 8x8 patches)"."""
        p = self.patches
        return self.mode if p is None else \
            f"{self.mode} (ops {p.first}..{p.last}, {p.grid[0]}x{p.grid[1]} patches)"

    def choice(self) -> MemoryChoice:
        return MemoryChoice(self.requested or self.mode, self.mode, self.plan.arena_size,
                            self.plan.strategy, self.describe(), self.extra_macs,
                            None if self.patches is None else (self.patches.first,
                                                               self.patches.last),
                            self.reason)


@dataclass(frozen=True)
class MemoryChoice:
    """What a build's memory mode came to: the record a run result and its JSON carry."""
    requested: str  # plain, inplace, patch or auto
    mode: str  # the plan built (auto picks one of the others)
    arena_bytes: int
    strategy: str  # the planner's placement that won
    plan: str  # Arena.describe()
    extra_macs: int  # recomputed in patch halos
    patch_stage: tuple[int, int] | None  # first and last op run patch by patch
    reason: str  # auto's choice and why; empty otherwise


def layer_graph(graph: Graph, op_index: int, inp: Any, out: Any) -> Graph:
    """The graph as one patch layer sees it: its input and output cut to the windows."""
    op = graph.operators[op_index]
    tensors = list(graph.tensors)
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    tensors[x.index] = replace(x, shape=(1, inp.h, inp.w, x.shape[3]))
    tensors[y.index] = replace(y, shape=(1, out.h, out.w, y.shape[3]))
    return replace(graph, tensors=tensors)


def _patch_kernels(graph: Graph, patches: PatchPlan, params: dict[int, Any],
                   variant: str) -> dict[tuple[int, int], Specialized]:
    """A stage layer takes the variant's specialized kernel only if it fits every patch
    (else the generic kernel in all of them): the firmware loops over the patches with one
    call per layer (codegen/c_model.py)."""
    found: dict[tuple[int, int], Specialized] = {}
    for i in range(len(patches.patches[0].layers)):
        chosen = {}
        for k, patch in enumerate(patches.patches):
            layer = patch.layers[i]
            view = layer_graph(graph, layer.op, layer.inp, layer.out)
            chosen[k] = choose(view, graph.operators[layer.op],
                               layer_params(graph, layer, params[layer.op]), variant)
        kinds = {None if s is None else (s.function, s.struct) for s in chosen.values()}
        if len(kinds) == 1 and None not in kinds:
            found.update({(k, i): s for k, s in chosen.items() if s is not None})
    return found


def _patched(graph: Graph, patches: PatchPlan, params: dict[int, Any], variant: str,
             scratch: dict[int, int], overlaps: list[Overlap]) -> Arena:
    kernels = _patch_kernels(graph, patches, params, variant)
    a, b = patches.slots()
    kernel_scratch = max((s.scratch_bytes for s in kernels.values()), default=0)
    kernel_scratch = (kernel_scratch + 15) // 16 * 16
    inner = {graph.operators[i].outputs[0] for i in range(patches.first, patches.last)}
    buffers = []
    for buffer in lifetimes(graph):
        if buffer.tensor in inner:
            continue
        if buffer.tensor == patches.input:
            buffer = replace(buffer, last=max(buffer.last, patches.last))
        if buffer.tensor == patches.output:
            buffer = replace(buffer, first=patches.first)
        buffers.append(buffer)
    buffers.append(Buffer(scratch_key(patches.first), a + b + kernel_scratch,
                          patches.first, patches.last))
    kept = [o for o in overlaps if o.op not in patches.ops]
    limit = overlap_limit(patches.access_order(graph))
    kept.append(Overlap(patches.last, patches.output, patches.input, limit))
    outside = {op: size for op, size in scratch.items() if op not in patches.ops}
    plan = plan_buffers(buffers, len(graph.operators), outside, kept)
    return Arena(plan, "patch", patches, kernels, (a, b, kernel_scratch))


def _patch_candidates(graph: Graph, prepared: list[Any], scratch: dict[int, int],
                      variant: str, overlaps: list[Overlap]) -> list[Arena]:
    """Every first stage worth trying (split point x grid), each as a planned arena."""
    params = {item.op.index: item.params for item in prepared}
    found = []
    for last in _split_points(graph):
        for grid in GRIDS:
            patches = plan_patches(graph, params, last, grid)
            if len(patches.patches) >= 2:
                found.append(_patched(graph, patches, params, variant, scratch, overlaps))
    return found


def arena_candidates(graph: Graph, prepared: list[Any], scratch: dict[int, int],
                     variant: str = "ref", patches: bool = True) -> list[Arena]:
    """The plain plan, the inplace plan, then (with `patches`) every patch plan smaller
    than the inplace one: what `auto` chooses from."""
    plain = Arena(plan_buffers(lifetimes(graph), len(graph.operators), scratch), "plain")
    overlaps = op_overlaps(graph, prepared, last_uses(graph))
    inplace = Arena(plan_buffers(lifetimes(graph), len(graph.operators), scratch, overlaps),
                    "inplace")
    if not patches:
        return [plain, inplace]
    return [plain, inplace] + [
        a for a in _patch_candidates(graph, prepared, scratch, variant, overlaps)
        if a.plan.arena_size < inplace.plan.arena_size]


def choose_arena(graph: Graph, prepared: list[Any], scratch: dict[int, int], mode: str,
                 variant: str = "ref", limits: Sequence[RamLimit] = ()) -> Arena:
    """scratch: op -> bytes of its kernel's scratch (layer by layer). limits: what `auto`
    must fit (a budget's ram_bytes, the board's RAM)."""
    if mode not in MODES:
        raise ConfigError(f"unknown memory mode {mode!r}; modes are {', '.join(MODES)}")
    candidates = arena_candidates(graph, prepared, scratch, variant,
                                  patches=mode in ("patch", "auto"))
    plain, inplace, *patched = candidates
    if mode == "plain":
        return plain
    if mode == "inplace":
        return inplace
    if mode == "auto":
        return choose_auto(candidates, limits)
    if not patched:
        raise ConfigError("--memory patch: no first stage of this model runs patch by patch "
                          "in less memory (it needs a chain of CONV_2D/DEPTHWISE_CONV_2D/"
                          "pool ops from the input)")
    return min(patched, key=lambda a: (a.plan.arena_size, a.extra_macs))


def choose_auto(candidates: list[Arena], limits: Sequence[RamLimit]) -> Arena:
    """The plan with the fewest MACs (then the least RAM) that meets every limit; when none
    does, the one with the least RAM. The choice and why are in `reason`."""
    def ram(a: Arena) -> int:
        return a.plan.arena_size + a.plan.scratch_region_size

    def tightest(a: Arena) -> RamLimit | None:  # the limit with the least room left
        return min(limits, key=lambda limit: limit.bytes - limit.need(a.plan), default=None)

    def needs(a: Arena, limit: RamLimit) -> str:
        return (f"{limit.need(a.plan):,} B = arena {a.plan.arena_size:,} + scratch "
                f"{a.plan.scratch_region_size:,} + {limit.overhead_text}")

    fitting = [a for a in candidates
               if all(limit.need(a.plan) <= limit.bytes for limit in limits)]
    if fitting:
        chosen = min(fitting, key=lambda a: (a.extra_macs, ram(a)))
        bound = tightest(chosen)
        why = ("the fewest MACs (no RAM limit given)" if bound is None else
               f"the fewest MACs that fit {bound.source} {bound.bytes:,} B (it needs "
               f"{needs(chosen, bound)})")
        lighter = [a for a in candidates if a.extra_macs < chosen.extra_macs]
        if lighter:
            best = min(lighter, key=ram)
            over = next(limit for limit in limits if limit.need(best.plan) > limit.bytes)
            why += f"; {best.describe()} would need {over.need(best.plan):,} B"
    else:
        chosen = min(candidates, key=lambda a: (ram(a), a.extra_macs))
        bound = tightest(chosen)
        assert bound is not None
        why = (f"no plan fits {bound.source} {bound.bytes:,} B; this one needs the least "
               f"({needs(chosen, bound)})")
    extra = f", +{chosen.extra_macs:,} MACs" if chosen.extra_macs else ""
    return replace(chosen, requested="auto",
                   reason=f"auto chose {chosen.describe()}{extra}: {why}")


def _split_points(graph: Graph) -> list[int]:
    """Stage ends worth trying: after each downsampling op of the first chain (where the
    activations shrink), as far as the first four of them."""
    ends = stage_candidates(graph)
    picked = []
    for index in ends:
        op = graph.operators[index]
        stride = (op.options.get("stride_h", 1), op.options.get("stride_w", 1))
        if max(stride) > 1:
            picked.append(index)
    return picked[:4] or ends[:1]
