"""A NumPy simulation of the arena: the host reference run through a plan's offsets.

Every tensor is read from and written to one byte array at the plan's offsets, so a plan
that lets a live tensor be overwritten gives a wrong result. An op whose output overlaps
an input it consumes is simulated in its kernel's declared access order
(codegen/overlap.py): output bytes that land on input bytes the kernel still reads later
replace them before the op computes, as on the chip. A patch stage runs patch by patch
through its working memory (codegen/patch_plan.py), copying windows in and tiles out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hilbench.codegen.arena import Arena
from hilbench.codegen.memory_plan import scratch_key
from hilbench.codegen.overlap import access_order
from hilbench.codegen.patch_plan import layer_params
from hilbench.model.graph import Graph
from hilbench.reference.executor import op_results


def _view(arena: np.ndarray, offset: int, tensor: Any) -> np.ndarray:
    raw = arena[offset:offset + tensor.nbytes]
    return raw.view(tensor.dtype).reshape(tensor.shape)


def simulate(graph: Graph, prepared: list[Any], layout: Arena,
             inputs: list[np.ndarray]) -> list[np.ndarray]:
    """One vector (each input without the vector axis) -> the model's outputs."""
    plan = layout.plan
    arena = np.zeros(plan.arena_size + 16, np.uint8)
    arena[:] = 0xA5  # garbage, as on a chip
    for t, value in zip(graph.inputs, inputs):
        _view(arena, plan.offset(t), graph.tensor(t))[...] = value
    patches = layout.patches
    for item in prepared:
        op = item.op
        if patches is not None and op.index in patches.ops:
            if op.index == patches.first:
                _patch_stage(graph, prepared, layout, arena)
            continue
        positions = item.kernel.data_inputs if item.kernel.data_inputs is not None \
            else range(len(op.inputs))
        args = [_value(graph, arena, plan, op.inputs[p]) for p in positions]
        results = op_results(item.kernel.run(item.params, [a[np.newaxis] for a in args]))
        clobbered = _clobber(graph, item, plan, arena, results[0][0])
        if clobbered is not None:  # the kernel read bytes its own output overwrote
            args = [_value(graph, clobbered, plan, op.inputs[p]) for p in positions]
            results = op_results(item.kernel.run(item.params, [a[np.newaxis] for a in args]))
        for index, result in zip(op.outputs, results):  # every output of SPLIT, UNPACK
            _view(arena, plan.offset(index), graph.tensor(index))[...] = result[0]
    return [_view(arena, plan.offset(t), graph.tensor(t)).copy() for t in graph.outputs]


def _value(graph: Graph, arena: np.ndarray, plan: Any, index: int) -> np.ndarray:
    tensor = graph.tensor(index)
    if tensor.is_constant:
        return tensor.data
    return _view(arena, plan.offset(index), tensor).copy()


def _clobber(graph: Graph, item: Any, plan: Any, arena: np.ndarray,
             result: np.ndarray) -> np.ndarray | None:
    """The arena as the op's late reads see it, if its output overwrote bytes it still
    reads (None when it did not)."""
    op = item.op
    out = graph.tensor(op.outputs[0])
    start = plan.offset(op.outputs[0])
    written = np.frombuffer(np.ascontiguousarray(result).tobytes(), np.uint8)
    seen = None
    for k, t in enumerate(op.inputs):
        if t < 0 or graph.tensor(t).is_constant:
            continue
        base = plan.offset(t)
        lo, hi = max(start, base), min(start + out.nbytes, base + graph.tensor(t).nbytes)
        if lo >= hi:
            continue
        order = access_order(graph, op, item.params, k)
        j = np.arange(lo - start, hi - start)
        i = j + start - base
        if order is None:
            late = np.ones(j.size, bool)  # undeclared: any read may come after a write
        elif order.reads_first:
            late = order.last_read[i] > order.written[j]
        else:
            late = order.last_read[i] >= order.written[j]
        if late.any():
            seen = arena.copy() if seen is None else seen
            seen[start + j[late]] = written[j[late]]
    return seen


def _patch_stage(graph: Graph, prepared: list[Any], layout: Arena, arena: np.ndarray) -> None:
    patches = layout.patches
    assert patches is not None
    plan = layout.plan
    base = plan.offset(scratch_key(patches.first))
    a, _, _ = layout.slots
    slots = [base, base + a]
    x, y = graph.tensor(patches.input), graph.tensor(patches.output)
    source = _view(arena, plan.offset(patches.input), x)
    for patch in patches.patches:
        first = patch.layers[0].inp
        value = source[:, first.y0:first.y1, first.x0:first.x1, :].copy()
        raw = arena[slots[0]:slots[0] + value.nbytes]
        raw[...] = value.reshape(-1).view(np.uint8)
        for i, layer in enumerate(patch.layers):
            item = prepared[layer.op]
            out_c = graph.tensor(graph.operators[layer.op].outputs[0]).shape[3]
            in_c = graph.tensor(graph.operators[layer.op].inputs[0]).shape[3]
            src = arena[slots[i % 2]:slots[i % 2] + layer.inp.h * layer.inp.w * in_c]
            value = item.kernel.run(layer_params(graph, layer, item.params),
                                    [src.view(np.int8).reshape(1, 1, layer.inp.h,
                                                               layer.inp.w, in_c)])[0]
            dst = slots[(i + 1) % 2]
            arena[dst:dst + value.nbytes] = value.reshape(-1).view(np.uint8)
            assert value.shape[-1] == out_c
        final = patch.layers[-1].out
        target = _view(arena, plan.offset(patches.output), y)
        target[:, final.y0:final.y1, final.x0:final.x1, :] = value
