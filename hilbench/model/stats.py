"""Static figures of a model: per-op MACs and weight bytes, and the activation-memory lower
bound that no memory planner can beat."""

from __future__ import annotations

from dataclasses import dataclass

from hilbench.model.graph import Graph
from hilbench.model.validate import op_macs


@dataclass
class OpStats:
    index: int
    opcode: str
    input_shapes: list[tuple[int, ...]]  # data inputs only (constants excluded)
    output_shape: tuple[int, ...]
    output_quantization: str
    macs: int
    weight_bytes: int  # constant operands: filters, biases, shape tensors
    live_bytes: int  # data inputs + outputs, all live while this op runs


@dataclass
class ModelStats:
    ops: list[OpStats]
    total_macs: int
    weight_bytes: int  # every constant buffer once
    activation_lower_bound: int  # max over ops of live_bytes
    peak_op: int | None


def model_stats(graph: Graph) -> ModelStats:
    ops = []
    for op in graph.operators:
        operands = [graph.tensor(i) for i in op.inputs if i >= 0]
        # state lives outside the arena (codegen/state.py): not an activation
        data_inputs = [t for t in operands if not t.is_constant and not t.is_variable]
        constants = [t for t in operands if t.is_constant]
        outputs = graph.op_outputs(op)
        out = outputs[0] if outputs else None
        try:
            macs = op_macs(graph, op)
        except (IndexError, ValueError):  # malformed op: shown, not counted
            macs = 0
        ops.append(OpStats(
            index=op.index, opcode=op.opcode,
            input_shapes=[t.shape for t in data_inputs],
            output_shape=out.shape if out else (),
            output_quantization=(out.quantization.describe() if out and out.quantization
                                 else (out.dtype.name if out else "")),
            macs=macs,
            weight_bytes=sum(t.nbytes for t in constants),
            live_bytes=sum(t.nbytes for t in data_inputs) + sum(t.nbytes for t in outputs)))
    peak = max(ops, key=lambda s: s.live_bytes, default=None)
    weights = sum(t.nbytes for t in graph.tensors if t.is_constant)
    return ModelStats(ops, sum(s.macs for s in ops), weights,
                      peak.live_bytes if peak else 0, peak.index if peak else None)


def format_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def human_bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    return f"{count:,} B ({count / 1024:.1f} KiB)"

