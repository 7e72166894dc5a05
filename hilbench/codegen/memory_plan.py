"""Static memory plan: every activation tensor gets an offset in one arena.

The plan is the best of a few greedy placements (a tiny search, every candidate checked):

- TFLM's GreedyMemoryPlanner: largest buffer first, each at the lowest aligned offset
  where it overlaps no placed buffer whose lifetime (first op that writes it .. last op
  that reads it) intersects its own;
- in execution order, lowest offset first;
- in execution order, "ping-pong": a buffer goes to the end of the arena opposite its
  producer's input, under a ceiling equal to the layer-by-layer lower bound (the largest
  sum of live bytes at any op), which is how a chain of layers reaches that bound;
- in execution order, each buffer as high as it fits under an unbounded ceiling, then the
  whole plan shifted down: with overlaps, each output slides just below its input.

Overlaps (codegen/overlap.py) relax the one rule: an op's output may overlap an input it
consumes when the kernel's access order makes it safe, i.e. when offset(output) -
offset(input) <= the declared limit. RESHAPE and element-wise ops so run in place.

Constants stay in flash and are not planned. Buffers with a range of ops (a patch stage's
working memory) are planned like tensors. A kernel's scratch memory (e.g. an im2col
buffer), live during its op only and keyed by `scratch_key(op)`, is placed after the
tensors: in a gap free during its op (it then costs no RAM), else at offset 0 of one
scratch region that every such op shares, so scratch never grows the arena beyond the
tensors' plan. The plan never allocates at run time; `check()` verifies it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from hilbench.codegen.overlap import Overlap
from hilbench.model.graph import Graph

ALIGNMENT = 16


@dataclass(frozen=True)
class Buffer:
    tensor: int
    size: int
    first: int  # first op index during which it is live (graph inputs: 0)
    last: int  # last op index during which it is live (graph outputs: the final op)
    offset: int = -1

    def lives_with(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class MemoryPlan:
    buffers: dict[int, Buffer]  # tensor index (or scratch_key(op)) -> buffer in the arena
    arena_size: int
    # op -> size of its scratch in the shared scratch region (offset 0 there)
    region: dict[int, int] = field(default_factory=dict)
    overlaps: list[Overlap] = field(default_factory=list)  # the overlaps that were allowed
    strategy: str = "greedy-by-size"

    def offset(self, tensor: int) -> int:
        return self.buffers[tensor].offset

    def scratch_place(self, op: int) -> tuple[str, int]:
        """Where op's scratch is: ("arena", offset) or ("region", 0)."""
        if op in self.region:
            return "region", 0
        return "arena", self.buffers[scratch_key(op)].offset

    @property
    def scratch_region_size(self) -> int:
        """RAM that scratch adds beyond the arena: the largest buffer that fitted no gap."""
        return _align(max(self.region.values(), default=0))

    @property
    def scratch_bytes(self) -> int:
        """The largest scratch buffer of any op, in the arena or the region."""
        return max([b.size for k, b in self.buffers.items() if k < 0] +
                   list(self.region.values()), default=0)

    def overlapping(self) -> list[tuple[int, int]]:
        """Pairs of live buffers sharing bytes (declared overlaps included)."""
        placed = list(self.buffers.values())
        pairs = []
        for i, a in enumerate(placed):
            for b in placed[i + 1:]:
                if a.lives_with(b) and a.offset < b.offset + b.size \
                        and b.offset < a.offset + a.size:
                    pairs.append((a.tensor, b.tensor))
        return pairs

    def check(self) -> None:
        allowed = _allowed(self.overlaps)
        for a in self.buffers.values():
            assert a.offset % ALIGNMENT == 0 and a.offset + a.size <= self.arena_size
        for t, u in self.overlapping():
            a, b = self.buffers[t], self.buffers[u]
            ok = ((t, u) in allowed and a.offset - b.offset <= allowed[t, u]) or \
                 ((u, t) in allowed and b.offset - a.offset <= allowed[u, t])
            assert ok, f"tensors {t} and {u} overlap"

    def live_bytes(self, op_count: int) -> list[int]:
        """Per op: the bytes of arena live during it (overlapping bytes counted once)."""
        result = []
        for op in range(op_count):
            spans = sorted((b.offset, b.offset + b.size) for b in self.buffers.values()
                           if b.first <= op <= b.last)
            total, end = 0, 0
            for lo, hi in spans:
                total += max(0, hi - max(lo, end))
                end = max(end, hi)
            result.append(total)
        return result


def scratch_key(op: int) -> int:
    """The buffer key of op's scratch memory: negative, so never a tensor index."""
    return -1 - op


def _align(value: int) -> int:
    return (value + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _align_down(value: int) -> int:
    return value // ALIGNMENT * ALIGNMENT


def lifetimes(graph: Graph) -> list[Buffer]:
    last_op = max(len(graph.operators) - 1, 0)
    first: dict[int, int] = {t: 0 for t in graph.inputs}
    last: dict[int, int] = {t: 0 for t in graph.inputs}
    for op in graph.operators:
        for t in op.outputs:
            first.setdefault(t, op.index)
            last[t] = max(last.get(t, op.index), op.index)
        for t in op.inputs:
            if t >= 0 and not graph.tensor(t).is_constant:
                last[t] = max(last.get(t, op.index), op.index)
    for t in graph.outputs:
        last[t] = last_op
    return [Buffer(t, graph.tensor(t).nbytes, first[t], last[t]) for t in first]


def last_uses(graph: Graph) -> dict[int, int]:
    """Tensor -> the last op reading it; graph outputs are read after the last op."""
    uses = {b.tensor: b.last for b in lifetimes(graph)}
    for t in graph.outputs:
        uses[t] = len(graph.operators)
    return uses


def lower_bound(buffers: Iterable[Buffer], op_count: int) -> int:
    """The layer-by-layer bound: the largest sum of live bytes at any op, with no overlap."""
    items = list(buffers)
    return max((sum(b.size for b in items if b.first <= op <= b.last)
                for op in range(max(op_count, 1))), default=0)


def _allowed(overlaps: Iterable[Overlap]) -> dict[tuple[int, int], int]:
    return {(o.output, o.input): o.limit for o in overlaps}


def _forbidden(buffer: Buffer, placed: list[Buffer],
               allowed: dict[tuple[int, int], int]) -> list[tuple[int, int]]:
    """Open intervals (lo, hi) of offsets where buffer would overlap a placed buffer it lives
    with, less the overlaps a kernel allows."""
    spans = []
    for p in placed:
        if not p.lives_with(buffer):
            continue
        lo, hi = p.offset - buffer.size, p.offset + p.size
        limit = allowed.get((buffer.tensor, p.tensor))
        if limit is not None:  # buffer is the output: it may sit at most `limit` above p
            lo = max(lo, p.offset + limit)
        limit = allowed.get((p.tensor, buffer.tensor))
        if limit is not None:  # buffer is the consumed input: at least `limit` below p
            hi = min(hi, p.offset - limit)
        if lo < hi - 1:
            spans.append((lo, hi))
    return spans


def _lowest(buffer: Buffer, spans: list[tuple[int, int]], floor: int = 0) -> int:
    offset = _align(floor)
    moved = True
    while moved:
        moved = False
        for lo, hi in spans:
            if lo < offset < hi:
                offset, moved = _align(hi), True
    return offset


def _highest(buffer: Buffer, spans: list[tuple[int, int]], ceiling: int) -> int | None:
    offset = _align_down(ceiling - buffer.size)
    moved = True
    while moved and offset >= 0:
        moved = False
        for lo, hi in spans:
            if lo < offset < hi:
                offset, moved = _align_down(lo), True
    return offset if offset >= 0 else None


Placer = Callable[[list[Buffer], dict[tuple[int, int], int], int], list[Buffer]]


def _greedy(order: Callable[[Buffer], tuple]) -> Placer:
    def place(buffers: list[Buffer], allowed: dict[tuple[int, int], int],
              bound: int) -> list[Buffer]:
        placed: list[Buffer] = []
        for b in sorted(buffers, key=order):
            placed.append(replace(b, offset=_lowest(b, _forbidden(b, placed, allowed))))
        return placed
    return place


def _ping_pong(buffers: list[Buffer], allowed: dict[tuple[int, int], int],
               bound: int) -> list[Buffer]:
    """Execution order; a buffer is placed at the end of the arena away from the largest
    buffer it lives with, under the ceiling `bound` when it fits there."""
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (b.first, -b.size, b.tensor)):
        spans = _forbidden(b, placed, allowed)
        company = [p for p in placed if p.lives_with(b)]
        anchor = max(company, key=lambda p: (p.size, p.first), default=None)
        low_side = anchor is not None and anchor.offset + anchor.size / 2 > bound / 2
        high = _highest(b, spans, bound)
        low = _lowest(b, spans)
        if low_side or high is None:
            offset = low if low + b.size <= bound or high is None else high
        else:
            offset = high
        placed.append(replace(b, offset=offset))
    return placed


def _sliding(buffers: list[Buffer], allowed: dict[tuple[int, int], int],
             bound: int) -> list[Buffer]:
    """Execution order, each buffer as high as it fits under a ceiling far above: an output
    that may overlap its input slides just below it. Shifted down to offset 0 after."""
    ceiling = _align(sum(b.size for b in buffers) + ALIGNMENT)
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (b.first, -b.size, b.tensor)):
        offset = _highest(b, _forbidden(b, placed, allowed), ceiling)
        placed.append(replace(b, offset=offset if offset is not None else 0))
    base = min((b.offset for b in placed), default=0)
    return [replace(b, offset=b.offset - base) for b in placed]


STRATEGIES: dict[str, Placer] = {
    "greedy-by-size": _greedy(lambda b: (-b.size, b.first, b.tensor)),
    "execution-order": _greedy(lambda b: (b.first, -b.size, b.tensor)),
    "ping-pong": _ping_pong,
    "sliding": _sliding,
}


def _valid(placed: list[Buffer], allowed: dict[tuple[int, int], int]) -> bool:
    for i, a in enumerate(placed):
        if a.offset < 0 or a.offset % ALIGNMENT:
            return False
        for b in placed[:i]:
            if a.lives_with(b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                ok = ((a.tensor, b.tensor) in allowed and
                      a.offset - b.offset <= allowed[a.tensor, b.tensor]) or \
                     ((b.tensor, a.tensor) in allowed and
                      b.offset - a.offset <= allowed[b.tensor, a.tensor])
                if not ok:
                    return False
    return True


def place_buffers(buffers: list[Buffer], op_count: int, overlaps: Iterable[Overlap] = (),
                  strategies: Iterable[str] | None = None) -> tuple[list[Buffer], str]:
    """The smallest valid placement of the strategies (ties: the first listed)."""
    allowed = _allowed(overlaps)
    bound = _align(lower_bound(buffers, op_count))
    best: tuple[int, list[Buffer], str] | None = None
    for name in strategies or STRATEGIES:
        placed = STRATEGIES[name](buffers, allowed, bound)
        if not _valid(placed, allowed):
            continue
        arena = _align(max((b.offset + b.size for b in placed), default=0))
        if best is None or arena < best[0]:
            best = (arena, placed, name)
    assert best is not None, "greedy-by-size always yields a valid plan"
    return best[1], best[2]


def plan_buffers(buffers: list[Buffer], op_count: int, scratch: dict[int, int] | None = None,
                 overlaps: Iterable[Overlap] = (),
                 strategies: Iterable[str] | None = None) -> MemoryPlan:
    """Place tensors (and ranged working buffers), then per-op scratch."""
    used = [o for o in overlaps]
    placed, strategy = place_buffers(buffers, op_count, used, strategies)
    arena = _align(max((b.offset + b.size for b in placed), default=0))
    region: dict[int, int] = {}
    for op, size in sorted((scratch or {}).items(), key=lambda item: (-item[1], item[0])):
        if size <= 0:
            continue
        buffer = Buffer(scratch_key(op), size, op, op)
        offset = _lowest(buffer, _forbidden(buffer, placed, {}))
        if offset + size <= arena:
            placed.append(replace(buffer, offset=offset))
        else:
            region[op] = size
    plan = MemoryPlan({b.tensor: b for b in placed}, arena, region, used, strategy)
    plan.check()
    return plan


def plan_memory(graph: Graph, scratch: dict[int, int] | None = None,
                overlaps: Iterable[Overlap] = (),
                strategies: Iterable[str] | None = None) -> MemoryPlan:
    """scratch: op index -> bytes that op's kernel needs while it runs. overlaps: the
    output/input pairs kernels allow to share bytes (none: the plain plan)."""
    return plan_buffers(lifetimes(graph), len(graph.operators), scratch, overlaps, strategies)
