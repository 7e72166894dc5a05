"""Patch-based execution of a CNN's first stage (MCUNetV2): the plan, on the host.

The first layers of a CNN hold the largest activations. Running them patch by patch cuts
the memory they need to one patch's activations: the stage's output is split into a grid
of tiles; each tile's receptive field is traced back through the stage, layer by layer
(a window grows by the kernel extent minus one and scales by the stride), so every patch
recomputes its halo (the overlap with its neighbours) instead of keeping it. The rest of
the network runs layer by layer.

At a tensor's border a patch takes the layer's own padding; inside it needs none, so each
patch layer gets its own top/left pad and input window, and the kernels run unchanged on
the patch (anything read beyond the patch's window is real padding).

The plan here is pure geometry: windows, pads, per-patch buffer sizes, MACs. The code
generator (codegen/c_model.py) emits it, the memory planner places its working memory,
and `run_patches()` executes it with the host reference kernels, which is how tests check
the geometry bit-exact before any firmware is built.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hilbench.codegen.overlap import AccessOrder
from hilbench.model.graph import Graph, Operator

PATCHABLE = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"})
GRIDS = (2, 3, 4, 6, 8)


@dataclass(frozen=True)
class Window:
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0


@dataclass(frozen=True)
class PatchLayer:
    op: int
    inp: Window  # region of the op's input tensor the patch reads
    out: Window  # region of the op's output the patch computes
    pad: tuple[int, int]  # top, left padding of the op on this patch


@dataclass(frozen=True)
class Patch:
    layers: tuple[PatchLayer, ...]


@dataclass
class PatchPlan:
    first: int  # first op of the stage
    last: int  # last op of the stage (its output is the stage's output)
    grid: tuple[int, int]
    patches: list[Patch]
    input: int  # tensor the stage reads
    output: int  # tensor the stage writes
    base_macs: int  # the stage's MACs layer by layer
    patch_macs: int  # the stage's MACs patch by patch (halos recomputed)
    channels: list[int]  # channels of the stage input, then of each op's output

    @property
    def extra_macs(self) -> int:
        return self.patch_macs - self.base_macs

    @property
    def ops(self) -> range:
        return range(self.first, self.last + 1)

    def buffer_sizes(self, patch: Patch) -> list[int]:
        """Bytes of the patch's buffers: its input copy, then each layer's output."""
        sizes = [patch.layers[0].inp.h * patch.layers[0].inp.w * self.channels[0]]
        sizes += [l.out.h * l.out.w * c for l, c in zip(patch.layers, self.channels[1:])]
        return sizes

    def slots(self) -> tuple[int, int]:
        """Two ping-pong slots: buffer k of every patch lives in slot k % 2."""
        a = b = 0
        for patch in self.patches:
            for k, size in enumerate(self.buffer_sizes(patch)):
                if k % 2 == 0:
                    a = max(a, size)
                else:
                    b = max(b, size)
        return _align(a), _align(b)

    def access_order(self, graph: Graph) -> AccessOrder:
        """Patch steps over the stage's input and output: each patch copies its input window
        out before it writes its output tile, so reads come first."""
        x, y = graph.tensor(self.input), graph.tensor(self.output)
        _, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        last = np.full((in_h, in_w), -1, np.int64)
        written = np.zeros((out_h, out_w), np.int64)
        for k, patch in enumerate(self.patches):
            first, final = patch.layers[0].inp, patch.layers[-1].out
            last[first.y0:first.y1, first.x0:first.x1] = k
            written[final.y0:final.y1, final.x0:final.x1] = k
        return AccessOrder(np.repeat(last.reshape(-1), in_c),
                           np.repeat(written.reshape(-1), out_c), reads_first=True)


def _align(value: int) -> int:
    return (value + 15) // 16 * 16


def _geometry(op: Operator, p: Any) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int],
                                              tuple[int, int]]:
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return tuple(p.filter.shape[1:3]), p.stride, p.dilation, p.pad  # type: ignore
    return p.filter, p.stride, (1, 1), p.pad


def _back(out: Window, in_hw: tuple[int, int], op: Operator, p: Any
          ) -> tuple[Window, tuple[int, int]]:
    """The input window an output window needs, clipped to the tensor, and the patch pad."""
    kernel, stride, dilation, pad = _geometry(op, p)
    starts = []
    ends = []
    for axis, (o0, o1) in enumerate(((out.y0, out.y1), (out.x0, out.x1))):
        start = o0 * stride[axis] - pad[axis]
        end = (o1 - 1) * stride[axis] - pad[axis] + (kernel[axis] - 1) * dilation[axis] + 1
        starts.append(start)
        ends.append(end)
    clipped = Window(max(starts[0], 0), min(ends[0], in_hw[0]),
                     max(starts[1], 0), min(ends[1], in_hw[1]))
    return clipped, (clipped.y0 - starts[0], clipped.x0 - starts[1])


def _op_macs(graph: Graph, op: Operator, p: Any, pixels: int) -> int:
    if op.opcode == "CONV_2D":
        _, k_h, k_w, in_c = p.filter.shape
        return pixels * graph.tensor(op.outputs[0]).shape[3] * k_h * k_w * in_c
    if op.opcode == "DEPTHWISE_CONV_2D":
        _, k_h, k_w, _ = p.filter.shape
        return pixels * graph.tensor(op.outputs[0]).shape[3] * k_h * k_w
    return 0


def stage_candidates(graph: Graph) -> list[int]:
    """Last ops a first stage may end at: a chain of windowed ops from op 0, each output
    read only by the next op, on one 4-D image."""
    consumers: dict[int, list[int]] = {}
    for op in graph.operators:
        for t in op.inputs:
            consumers.setdefault(t, []).append(op.index)
    ends = []
    previous = None
    for op in graph.operators:
        data = [t for t in op.inputs if t >= 0 and not graph.tensor(t).is_constant]
        if op.opcode not in PATCHABLE or len(data) != 1 or len(op.outputs) != 1:
            break
        x = graph.tensor(data[0])
        if len(x.shape) != 4 or x.shape[0] != 1 or x.dtype != np.int8:
            break
        if previous is not None and data[0] != previous:
            break
        out = op.outputs[0]
        ends.append(op.index)
        if out in graph.outputs or consumers.get(out, []) != [op.index + 1]:
            break
        previous = out
    return ends


def plan_patches(graph: Graph, params: dict[int, Any], last: int, grid: int) -> PatchPlan:
    """Ops 0..last patch by patch, the stage output cut into grid x grid tiles."""
    ops = graph.operators[:last + 1]
    y = graph.tensor(ops[-1].outputs[0])
    out_h, out_w = y.shape[1:3]
    rows = np.linspace(0, out_h, min(grid, out_h) + 1).round().astype(int)
    cols = np.linspace(0, out_w, min(grid, out_w) + 1).round().astype(int)
    patches = []
    patch_macs = 0
    for r in range(len(rows) - 1):
        for c in range(len(cols) - 1):
            window = Window(int(rows[r]), int(rows[r + 1]), int(cols[c]), int(cols[c + 1]))
            layers = []
            for op in reversed(ops):
                x = graph.tensor(op.inputs[0])
                inp, pad = _back(window, x.shape[1:3], op, params[op.index])
                layers.append(PatchLayer(op.index, inp, window, pad))
                patch_macs += _op_macs(graph, op, params[op.index], window.h * window.w)
                window = inp
            patches.append(Patch(tuple(reversed(layers))))
    base = sum(_op_macs(graph, op, params[op.index],
                        int(np.prod(graph.tensor(op.outputs[0]).shape[1:3]))) for op in ops)
    channels = [graph.tensor(ops[0].inputs[0]).shape[3]] + \
        [graph.tensor(op.outputs[0]).shape[3] for op in ops]
    return PatchPlan(0, last, (len(rows) - 1, len(cols) - 1), patches, ops[0].inputs[0],
                     ops[-1].outputs[0], base, patch_macs, channels)


def layer_params(graph: Graph, layer: PatchLayer, p: Any) -> Any:
    """The op's prepared parameters for one patch: its pad and output shape."""
    out = graph.tensor(graph.operators[layer.op].outputs[0])
    return replace(p, pad=layer.pad, output_shape=(1, layer.out.h, layer.out.w, out.shape[3]))


def run_patches(graph: Graph, plan: PatchPlan, prepared: list[Any],
                x: np.ndarray) -> np.ndarray:
    """The stage's output computed patch by patch with the host reference kernels.
    x: the stage input, (vectors,) + its shape."""
    y = graph.tensor(plan.output)
    result = np.zeros((x.shape[0],) + tuple(y.shape), np.int8)
    for patch in plan.patches:
        first = patch.layers[0].inp
        value = x[:, :, first.y0:first.y1, first.x0:first.x1, :]
        for layer in patch.layers:
            item = prepared[layer.op]
            value = item.kernel.run(layer_params(graph, layer, item.params), [value])
        final = patch.layers[-1].out
        result[:, :, final.y0:final.y1, final.x0:final.x1, :] = value
    return result
