"""The memory planner on random small graphs (chains, residual branches, concatenations):
no live buffers overlap except where a kernel declared it safe, and the host reference run
through the plan's offsets (a NumPy arena) is bit-exact. No QEMU here; the shared models
on QEMU are in test_memory_qemu.py."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from hilbench.codegen.arena import RamLimit, arena_candidates, choose_arena, choose_auto
from hilbench.codegen.arena_sim import simulate
from hilbench.codegen.c_model import generate_model
from hilbench.codegen.memory_plan import last_uses, lifetimes, lower_bound
from hilbench.codegen.overlap import op_overlaps, overlap_limit, window_order
from hilbench.errors import ConfigError
from hilbench.model import load_model
from hilbench.model.builder import GraphBuilder
from hilbench.reference.executor import Reference, prepare
from hilbench.reference.prepare_common import out_size
from hilbench.timing.figures import LayerProfile, Timing, merge_stage
from tests.support import SHARED_MODELS


def _conv(b, rng, x, shape, opcode, out_c, kernel, stride):
    n, h, w, c = shape
    if opcode == "CONV_2D":
        filt, axis = (out_c, kernel, kernel, c), 0
    else:
        filt, axis, out_c = (1, kernel, kernel, c), 3, c
    scales = 0.01 * rng.uniform(0.5, 2.0, out_c)
    f = b.constant(f"w{len(b.graph().tensors)}", rng.integers(-127, 128, filt, dtype=np.int8),
                   scale=scales, zero_point=0, axis=axis)
    bias = b.constant(f"b{len(b.graph().tensors)}",
                      rng.integers(-2000, 2000, out_c).astype(np.int32),
                      scale=np.float32(0.05) * scales.astype(np.float32), zero_point=0)
    oh = out_size("SAME", h, kernel, stride, 1)
    ow = out_size("SAME", w, kernel, stride, 1)
    y = b.tensor(f"t{len(b.graph().tensors)}", (n, oh, ow, out_c), scale=0.05,
                 zero_point=int(rng.integers(-5, 5)))
    options = dict(padding="SAME", stride_h=stride, stride_w=stride, dilation_h=1,
                   dilation_w=1, activation="RELU")
    if opcode == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = 1
    b.op(opcode, [x, f, bias], [y], **options)
    return y, (n, oh, ow, out_c)


def random_graph(seed: int):
    """A small CNN: a conv stem, then chains of conv/depthwise/relu/pool with residual
    ADDs and two-branch CONCATENATIONs, ending in a RESHAPE."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder()
    shape = (1, int(rng.integers(6, 13)), int(rng.integers(6, 13)), int(rng.integers(1, 4)))
    x = b.input("x", shape, scale=0.05, zero_point=0)
    x, shape = _conv(b, rng, x, shape, "CONV_2D", int(rng.integers(2, 9)), 3,
                     int(rng.integers(1, 3)))
    for _ in range(int(rng.integers(3, 8))):
        kind = rng.choice(["conv", "dw", "pw", "relu", "residual", "concat", "pool"])
        if kind == "conv":
            x, shape = _conv(b, rng, x, shape, "CONV_2D", int(rng.integers(2, 9)), 3,
                             int(rng.integers(1, 3)))
        elif kind == "dw":
            x, shape = _conv(b, rng, x, shape, "DEPTHWISE_CONV_2D", shape[3], 3,
                             int(rng.integers(1, 3)))
        elif kind == "pw":
            x, shape = _conv(b, rng, x, shape, "CONV_2D", int(rng.integers(2, 17)), 1, 1)
        elif kind == "relu":
            y = b.tensor(f"t{len(b.graph().tensors)}", shape, scale=0.04, zero_point=-3)
            b.op("RELU", [x], [y])
            x = y
        elif kind == "residual":
            branch, _ = _conv(b, rng, x, shape, "CONV_2D", shape[3], 3, 1)
            branch, _ = _conv(b, rng, branch, shape, "DEPTHWISE_CONV_2D", shape[3], 3, 1)
            y = b.tensor(f"t{len(b.graph().tensors)}", shape, scale=0.08, zero_point=1)
            b.op("ADD", [x, branch], [y], activation="NONE")
            x = y
        elif kind == "concat":
            left, ls = _conv(b, rng, x, shape, "CONV_2D", int(rng.integers(1, 6)), 1, 1)
            right, rs = _conv(b, rng, x, shape, "DEPTHWISE_CONV_2D", shape[3], 3, 1)
            shape = shape[:3] + (ls[3] + rs[3],)
            y = b.tensor(f"t{len(b.graph().tensors)}", shape, scale=0.05, zero_point=0)
            b.op("CONCATENATION", [left, right], [y], axis=3, activation="NONE")
            x = y
        elif kind == "pool" and min(shape[1:3]) >= 2:
            oh, ow = (shape[1] + 1) // 2, (shape[2] + 1) // 2
            q = b.tensors[x]  # TFLM's pooling keeps the input's scale and zero point
            y = b.tensor(f"t{len(b.graph().tensors)}", (1, oh, ow, shape[3]),
                         scale=float(q.scale), zero_point=q.zero_point)
            b.op("AVERAGE_POOL_2D", [x], [y], padding="SAME", stride_h=2, stride_w=2,
                 filter_h=2, filter_w=2, activation="NONE")
            x, shape = y, (1, oh, ow, shape[3])
    flat = b.tensor("flat", (1, int(np.prod(shape))), scale=0.05, zero_point=0)
    b.op("RESHAPE", [x, b.constant("shape", np.array([1, -1], np.int32))], [flat])
    b.output(flat)
    return b.graph()


def _check_layout(graph, layout) -> None:
    """Only an op's output and an input that op consumes may share bytes, and only as
    far as its kernel declared; check() asserts it, this states it independently."""
    layout.plan.check()
    producer = {op.outputs[0]: op for op in graph.operators}
    declared = {(o.output, o.input): o.limit for o in layout.plan.overlaps}
    for a, b in layout.plan.overlapping():
        pair = (a, b) if (a, b) in declared else (b, a)
        assert pair in declared, f"tensors {a} and {b} share bytes while both live"
        out, inp = pair
        if out >= 0 and layout.patches is None:
            assert inp in producer[out].inputs
        assert layout.plan.offset(out) - layout.plan.offset(inp) <= declared[pair]


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_plans_are_safe_and_bit_exact(seed):
    graph = random_graph(seed)
    prepared = prepare(graph)
    rng = np.random.default_rng(100 + seed)
    x = rng.integers(-128, 128, (2,) + graph.tensor(graph.inputs[0]).shape, dtype=np.int8)
    expected = Reference(graph).run([x]).outputs[0]
    bound = lower_bound(lifetimes(graph), len(graph.operators))
    sizes = {}
    for mode in ("plain", "inplace", "patch"):
        try:
            layout = choose_arena(graph, prepared, {}, mode)
        except ConfigError:  # no stage worth patching in this graph
            continue
        _check_layout(graph, layout)
        sizes[mode] = layout.plan.arena_size
        for v in range(2):
            actual = simulate(graph, prepared, layout, [x[v]])[0]
            assert np.array_equal(actual, expected[v]), f"{mode} plan, vector {v}"
    assert sizes["plain"] <= ((bound + 15) // 16 + 2) * 16 or sizes["plain"] <= bound * 1.25
    assert sizes["inplace"] <= sizes["plain"]
    assert sizes.get("patch", 0) <= sizes["inplace"]


def test_the_simulation_catches_an_unsafe_overlap():
    """Move an output onto its input further than the kernel allows: the simulated arena
    then gives the wrong answer (so the bit-exactness check above can fail)."""
    graph = random_graph(3)
    prepared = prepare(graph)
    layout = choose_arena(graph, prepared, {}, "plain")
    conv = next(op for op in graph.operators if op.opcode == "CONV_2D" and op.index > 0)
    out, inp = conv.outputs[0], conv.inputs[0]
    plan = layout.plan
    plan.buffers[out] = replace(plan.buffers[out], offset=plan.offset(inp))
    plan.arena_size = max(plan.arena_size, plan.offset(inp) + plan.buffers[out].size + 16)
    x = np.random.default_rng(0).integers(-128, 128, graph.tensor(graph.inputs[0]).shape,
                                          dtype=np.int8)
    expected = Reference(graph).run([x[np.newaxis]]).outputs[0][0]
    with pytest.raises(AssertionError):
        plan.check()
    assert not np.array_equal(simulate(graph, prepared, layout, [x])[0], expected)


def test_overlap_limit_of_a_3x3_depthwise():
    """Same-size 3x3 depthwise, pad 1, on 5x4x8: input pixel q is last read by output pixel
    q + 5 (row below, column right), and pixel p may be written while pixel p - 1 still
    reads (the pairs of the dsp/mve kernels), so the output starts 7 pixels below."""
    order = window_order((1, 5, 4, 8), (1, 5, 4, 8), (3, 3), (1, 1), (1, 1), (1, 1))
    assert overlap_limit(order) == -(4 + 3) * 8


def test_shared_models_reach_the_layer_by_layer_bound():
    for path in SHARED_MODELS.glob("*.tflite"):
        graph = load_model(path)
        prepared = prepare(graph)
        plain = choose_arena(graph, prepared, {}, "plain").plan
        bound = lower_bound(lifetimes(graph), len(graph.operators))
        assert plain.arena_size <= (bound + 15) // 16 * 16 + 128, path.name
        overlaps = op_overlaps(graph, prepared, last_uses(graph))
        assert choose_arena(graph, prepared, {}, "inplace").plan.arena_size <= \
            plain.arena_size, (path.name, overlaps)


# --- auto, the patch table and the patch stage's profile row ---------------------------

VWW = SHARED_MODELS / "vww_mobilenet_v1_025_int8.tflite"


def test_auto_takes_the_fewest_macs_that_fit_else_the_least_ram():
    graph = load_model(VWW)
    candidates = arena_candidates(graph, prepare(graph), {}, "ref")
    inplace = candidates[1]
    patched = candidates[2:]
    assert len(patched) > 2 and all(a.mode == "patch" for a in patched)
    smallest = min(patched, key=lambda a: a.plan.arena_size)

    assert choose_auto(candidates, []).mode == "inplace"  # nothing to fit: no extra MACs
    roomy = RamLimit(inplace.plan.arena_size + 3072, 3072, "budget ram_bytes")
    assert choose_auto(candidates, [roomy]).mode == "inplace"

    budget = RamLimit(inplace.plan.arena_size - 16, 0, "budget ram_bytes")
    chosen = choose_auto(candidates, [budget])
    fitting = [a for a in patched if a.plan.arena_size <= budget.bytes]
    assert chosen.patches is not None and chosen.plan.arena_size <= budget.bytes
    assert chosen.extra_macs == min(a.extra_macs for a in fitting)
    assert chosen.extra_macs < smallest.extra_macs  # not simply the smallest arena
    assert chosen.requested == "auto" and "the fewest MACs that fit budget ram_bytes" in \
        chosen.reason and "inplace would need" in chosen.reason

    tight = RamLimit(smallest.plan.arena_size - 16, 0, "budget ram_bytes")
    least = choose_auto(candidates, [tight])
    assert least.plan.arena_size == smallest.plan.arena_size
    assert "no plan fits budget ram_bytes" in least.reason


def test_patch_stage_is_one_loop_over_a_const_patch_table():
    """Straight-line calls per patch cost several KiB of flash: the generated C has each
    stage kernel called once, inside a loop over one table row per patch."""
    generated = generate_model(load_model(VWW), VWW.read_bytes(), VWW.stem, "dsp", "patch")
    patches = generated.arena.patches
    source = generated.source
    assert patches is not None
    rows = re.search(r"hb_patches\[(\d+)\] = \{\n(.*?)\n\};", source, re.S)
    assert rows and int(rows.group(1)) == len(patches.patches) == rows.group(2).count("\n") + 1
    assert source.count("hb_copy_window_s8(") == 2
    loop = source[source.index("for (k = 0;"):source.index("hb_profile_mark(0);")]
    assert loop.count("e->params[") == len(patches.ops)


def test_a_patch_stage_is_one_row_of_the_profile():
    layers = [LayerProfile(i, "CONV_2D", (1, 4, 4, 8), 100, 1000 if i == 0 else 3, 1500 - i,
                           0.2) for i in range(5)]
    timing = Timing(25_000_000, None, "estimated", None, 0, layers)
    merged = merge_stage(timing, 0, 2, 450, (1, 4, 4, 8)).layers
    assert [l.index for l in merged] == [0, 3, 4]
    assert merged[0].op == "patch stage ops 0..2" and merged[0].macs == 450
    assert merged[0].instructions == 1006 and merged[0].cycles == 1500 + 1499 + 1498
