"""Static memory plan: every activation tensor gets an offset in one arena.

Greedy, as TFLM's GreedyMemoryPlanner: buffers are placed largest first, each at the lowest
aligned offset where it overlaps no already-placed buffer whose lifetime (first op that
writes it .. last op that reads it) intersects its own. Constants stay in flash and are not
planned. A kernel's scratch memory (e.g. an im2col buffer), live during its op only and
keyed by `scratch_key(op)`, is placed after the tensors: in the arena where a gap free
during its op is large enough (it then costs no RAM), else at offset 0 of one scratch
region that every such op shares (they never run at the same time), so scratch never
grows the arena beyond the tensors' plan. The plan never allocates at run time; `check()`
verifies it has no overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def check(self) -> None:
        placed = list(self.buffers.values())
        for i, a in enumerate(placed):
            assert a.offset % ALIGNMENT == 0 and a.offset + a.size <= self.arena_size
            for b in placed[i + 1:]:
                if a.lives_with(b):
                    assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, \
                        f"tensors {a.tensor} and {b.tensor} overlap"


def scratch_key(op: int) -> int:
    """The buffer key of op's scratch memory: negative, so never a tensor index."""
    return -1 - op


def _align(value: int) -> int:
    return (value + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


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


def _lowest_offset(buffer: Buffer, placed: list[Buffer]) -> int:
    """The lowest aligned offset where buffer overlaps nothing placed that lives with it."""
    conflicts = sorted((p for p in placed if p.lives_with(buffer)), key=lambda p: p.offset)
    offset = 0
    for other in conflicts:
        if offset + buffer.size <= other.offset:
            break  # fits in the gap before this one
        offset = max(offset, _align(other.offset + other.size))
    return offset


def plan_memory(graph: Graph, scratch: dict[int, int] | None = None) -> MemoryPlan:
    """scratch: op index -> bytes that op's kernel needs while it runs."""
    pending = sorted(lifetimes(graph), key=lambda b: (-b.size, b.first, b.tensor))
    placed: list[Buffer] = []
    for buffer in pending:
        offset = _lowest_offset(buffer, placed)
        placed.append(Buffer(buffer.tensor, buffer.size, buffer.first, buffer.last, offset))
    arena = _align(max((b.offset + b.size for b in placed), default=0))
    region: dict[int, int] = {}
    for op, size in sorted((scratch or {}).items(), key=lambda item: (-item[1], item[0])):
        if size <= 0:
            continue
        buffer = Buffer(scratch_key(op), size, op, op)
        offset = _lowest_offset(buffer, placed)
        if offset + size <= arena:
            placed.append(Buffer(buffer.tensor, size, op, op, offset))
        else:
            region[op] = size
    plan = MemoryPlan({b.tensor: b for b in placed}, arena, region)
    plan.check()
    return plan
