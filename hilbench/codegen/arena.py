"""The arena for a memory mode: which plan a build gets.

- `plain`: tensors never share bytes while both are live (TFLM's rule), placed by the best
  of the planner's strategies, which reaches the layer-by-layer lower bound on chains;
- `inplace` (the default): kernels' declared overlaps (codegen/overlap.py) too, so views and
  element-wise ops run in place and a layer's output may slide over the input it consumes;
- `patch`: `inplace` plus the first CNN stage run patch by patch (codegen/patch_plan.py),
  the split point and grid chosen for the smallest arena (then the fewest extra MACs).
"""

from __future__ import annotations

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

MODES = ("plain", "inplace", "patch")


@dataclass
class Arena:
    plan: MemoryPlan
    mode: str
    patches: PatchPlan | None = None
    # (patch index, layer index) -> the variant's specialized kernel for that patch layer
    patch_kernels: dict[tuple[int, int], Specialized] | None = None
    slots: tuple[int, int, int] = (0, 0, 0)  # patch working memory: two slots, scratch


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
    found = {}
    for k, patch in enumerate(patches.patches):
        for i, layer in enumerate(patch.layers):
            view = layer_graph(graph, layer.op, layer.inp, layer.out)
            special = choose(view, graph.operators[layer.op],
                             layer_params(graph, layer, params[layer.op]), variant)
            if special is not None:
                found[k, i] = special
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


def choose_arena(graph: Graph, prepared: list[Any], scratch: dict[int, int], mode: str,
                 variant: str = "ref") -> Arena:
    """scratch: op -> bytes of its kernel's scratch (layer by layer)."""
    if mode not in MODES:
        raise ConfigError(f"unknown memory mode {mode!r}; modes are {', '.join(MODES)}")
    if mode == "plain":
        return Arena(plan_buffers(lifetimes(graph), len(graph.operators), scratch), mode)
    overlaps = op_overlaps(graph, prepared, last_uses(graph))
    inplace = Arena(plan_buffers(lifetimes(graph), len(graph.operators), scratch, overlaps),
                    "inplace")
    if mode == "inplace":
        return inplace
    params = {item.op.index: item.params for item in prepared}
    best = inplace
    for last in _split_points(graph):
        for grid in GRIDS:
            patches = plan_patches(graph, params, last, grid)
            if len(patches.patches) < 2:
                continue
            found = _patched(graph, patches, params, variant, scratch, overlaps)
            if best.patches is None and found.plan.arena_size < best.plan.arena_size or \
                    best.patches is not None and (
                        found.plan.arena_size, found.patches.extra_macs) < (  # type: ignore
                        best.plan.arena_size, best.patches.extra_macs):
                best = found
    if best.patches is None:
        raise ConfigError("--memory patch: no first stage of this model runs patch by patch "
                          "in less memory (it needs a chain of CONV_2D/DEPTHWISE_CONV_2D/"
                          "pool ops from the input)")
    return best


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
