"""Generate model.c: weights and precomputed parameters as const data in flash, the op
sequence, and the static memory plan.

Nothing read from the model file reaches the C source as text except through
`c_comment()`, which keeps a safe subset of characters: tensor and op names are only ever
comments, and identifiers are derived from indices. Numbers are formatted by Python.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from hilbench.codegen.c_header import (FLOAT_TYPES, INTEGER_RANGES, CField, CStruct,
                                       parse_header_cached)
from hilbench.codegen.arena import Arena, RamLimit, choose_arena, layer_graph
from hilbench.codegen.memory_plan import MemoryPlan, scratch_key
from hilbench.codegen.patch_plan import layer_params
from hilbench.codegen.requant_window import layer_records
from hilbench.codegen.specialize import Specialized, choose
from hilbench.codegen.state import StateLayout, state_layout, state_source
from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.paths import FIRMWARE_DIR
from hilbench.reference.executor import PreparedOp, prepare
from hilbench.reference.kernels.movement import element_strides
from hilbench.reference.kernels.int16 import is_wide
from hilbench.model.validate import (LSTM_BIASES, LSTM_CELL_STATE, LSTM_INPUT_WEIGHTS,
                                     LSTM_OUTPUT_STATE, LSTM_RECURRENT_WEIGHTS)
from hilbench.reference.kernels.lstm import GATES, SIGMOID_TABLE

KERNELS_HEADER = FIRMWARE_DIR / "include" / "hb_kernels.h"


@dataclass
class GeneratedModel:
    source: str
    plan: MemoryPlan
    model_hash: bytes  # first 8 bytes of the model file's SHA-256
    input_size: int
    output_size: int
    constant_bytes: int  # weights and parameter tables placed in flash
    arena: Arena | None = None  # the memory mode's plan, with the patch plan if any
    state_bytes: int = 0  # hb_state: variable tensors, static RAM outside the arena

    @property
    def unobservable_ops(self) -> frozenset[int]:
        """Ops whose whole output never exists (inside a patch stage, all but the last)."""
        patches = self.arena.patches if self.arena else None
        return frozenset(range(patches.first, patches.last)) if patches else frozenset()


@dataclass(frozen=True)
class _PatchCall:
    """One patch layer's kernel call, recorded for the patch table."""
    function: str
    c_type: str  # of its parameter struct
    params: str  # the struct's name
    operands: tuple[str, ...]  # slots and scratch: the same for every patch

    @property
    def signature(self) -> tuple[str, str, tuple[str, ...]]:
        return self.function, self.c_type, self.operands


_C_SIZES = {"int8_t": 1, "int32_t": 4, "int16_t": 2, "int64_t": 8,
            "uint16_t": 2}  # uint16_t: the LSTM's sigmoid table
_SAFE = re.compile(r"[^A-Za-z0-9_.:/ +-]")


def c_comment(text: str, limit: int = 60) -> str:
    """Model-supplied text made safe inside /* */: no '*', no newline, no quote, no '\\'."""
    cleaned = _SAFE.sub("?", text)[:limit]
    return cleaned.replace("*", "?")


def _int_list(values: Iterable[int], per_line: int = 24) -> str:
    items = [str(int(v)) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "\n  " + ",\n  ".join(lines) + "\n" if lines else "0"


def _float_literal(value: float) -> str:
    return f"{float(np.float32(value)).hex()}f"  # exact: hex floats are C99


class StructMismatch(RuntimeError):
    """An emitter and the C struct it fills disagree on the fields: a hilbench bug (the
    header changed without the code generator, or the reverse), never the model's fault."""


def kernel_structs() -> dict[str, CStruct]:
    """The parameter structs of firmware/include/hb_kernels.h, as the C compiler sees them."""
    return parse_header_cached(KERNELS_HEADER.read_text()).structs


_C_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _dims4(shape: tuple[int, ...], what: str, op: Operator) -> tuple[int, int, int, int]:
    if len(shape) > 4:
        raise UnsupportedOperatorError(op.opcode, op.index, f"{what} of rank {len(shape)} > 4")
    padded = (1,) * (4 - len(shape)) + tuple(shape)
    return padded  # type: ignore[return-value]


class _Emitter:
    def __init__(self, graph: Graph, ops: list[PreparedOp], plan: MemoryPlan,
                 structs: dict[str, CStruct] | None = None,
                 specialized: dict[int, Specialized] | None = None,
                 state: StateLayout | None = None) -> None:
        self.graph = graph
        self.specialized = specialized or {}
        self.ops = ops
        self.plan = plan
        self.structs = kernel_structs() if structs is None else structs
        self.current: Operator | None = None  # the op being emitted, for error messages
        self.data: list[str] = []  # const arrays and parameter structs
        self.body: list[str] = []  # statements of hb_model_invoke
        self.constant_bytes = 0
        self.emitted_constants: set[int] = set()
        # patch layers: tensors living in the patch's slots, its kernel scratch, no marks
        self.pointers: dict[int, str] = {}
        self.patch_scratch: str | None = None
        self.in_patch = False
        self.patch_calls: list[_PatchCall] = []  # kernel calls recorded inside a patch
        self.struct_types: dict[str, str] = {}  # emitted struct name -> its C type
        self._names: dict[tuple, str] = {}  # identical arrays and structs emitted once
        self._used: set[str] = set()
        self.state = state or StateLayout({}, 0)  # variable tensors: hb_state, not the arena

    def _unique(self, name: str, key: tuple) -> tuple[str, bool]:
        """The name for this content: an earlier identical item's, else a fresh one."""
        if key in self._names:
            return self._names[key], False
        base, n = name, 1
        while name in self._used:
            name, n = f"{base}_{n}", n + 1
        self._used.add(name)
        self._names[key] = name
        return name, True

    # --- operands ------------------------------------------------------------------------
    def array(self, name: str, c_type: str, values: np.ndarray, comment: str = "") -> str:
        values = np.asarray(values).reshape(-1)
        name, fresh = self._unique(name, ("array", c_type, values.astype(np.int64).tobytes()))
        if not fresh:
            return name
        note = f"  /* {c_comment(comment)} */" if comment else ""
        self.data.append(f"static const {c_type} {name}[{max(values.size, 1)}] "
                         f"__attribute__((aligned(16))) = {{{_int_list(values)}}};{note}")
        self.constant_bytes += values.size * _C_SIZES[c_type]
        return name

    def tensor(self, index: int) -> str:
        """C expression for a tensor's data: an arena slice or a const array."""
        if index in self.pointers:
            return self.pointers[index]
        t = self.graph.tensor(index)
        if t.is_constant:
            name = f"t{index}"
            if index not in self.emitted_constants:
                c_type = {np.int8: "int8_t", np.int32: "int32_t", np.int16: "int16_t",
                          np.int64: "int64_t"}.get(t.dtype.type)
                if c_type is None:
                    raise ModelError(f"constant tensor {index} of type {t.dtype.name} cannot be "
                                     f"placed in firmware")
                self.array(name, c_type, t.data, f"tensor {index}: {t.name}")
                self.emitted_constants.add(index)
            return name
        if t.is_variable:
            return self.state.pointer(index)
        return f"(hb_arena + {self.plan.offset(index)})"

    def struct(self, c_type: str, name: str, fields: dict[str, Any]) -> str:
        """A const struct with designated initializers, checked against the C declaration:
        exactly the declared fields, and every value fitting its C type."""
        declared = self.structs.get(c_type)
        if declared is None:
            raise StructMismatch(f"{c_type} is not declared in {KERNELS_HEADER.name}")
        self._check_field_names(declared, fields)
        lines = ",\n".join(
            f"    .{f.name} = {self._value(f'{c_type}.{f.name}', f, fields[f.name])}"
            for f in declared.fields)
        name, fresh = self._unique(name, ("struct", c_type, lines))
        if not fresh:
            return name
        self.data.append(f"static const {c_type} {name} = {{\n{lines}\n}};")
        self.struct_types[name] = c_type
        return name

    def _check_field_names(self, declared: CStruct, fields: dict[str, Any]) -> None:
        missing = [f for f in declared.field_names if f not in fields]
        extra = [f for f in fields if f not in declared.field_names]
        if missing or extra:
            where = f" (op {self.current.index} {self.current.opcode})" if self.current else ""
            raise StructMismatch(
                f"code generator and {KERNELS_HEADER.name} disagree on {declared.name}{where}: "
                f"fields declared in C but not emitted: {missing or 'none'}; emitted but not "
                f"declared in C: {extra or 'none'}")

    def _value(self, path: str, field: CField, value: Any) -> str:
        if field.length is not None:
            if not isinstance(value, (tuple, list)) or len(value) != field.length:
                got = len(value) if isinstance(value, (tuple, list)) else "a scalar"
                raise self._misfit(path, value, f"needs {field.length} values, got {got}")
            element = CField(field.name, field.c_type, field.pointer)
            return "{" + ", ".join(self._value(f"{path}[{i}]", element, v)
                                   for i, v in enumerate(value)) + "}"
        if field.pointer:
            if isinstance(value, str) and (value == "0" or _C_IDENTIFIER.fullmatch(value)):
                return value
            raise StructMismatch(f"{path} is a pointer: give the name of an emitted array or "
                                 f"\"0\", not {value!r}")
        if field.c_type in FLOAT_TYPES:
            if isinstance(value, str):
                return value  # a literal from _float_literal
            return _float_literal(float(value))
        if field.c_type in INTEGER_RANGES:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise StructMismatch(f"{path} is {field.c_type}; the emitter gave "
                                     f"{type(value).__name__} {value!r}")
            low, high = INTEGER_RANGES[field.c_type]
            if not low <= int(value) <= high:
                raise self._misfit(path, value, f"outside {field.c_type} [{low}, {high}]")
            return str(int(value))
        nested = self.structs.get(field.c_type)
        if nested is None:
            raise StructMismatch(f"{path}: no rule to emit C type {field.c_type}")
        if isinstance(value, dict):
            self._check_field_names(nested, value)
            items = [value[f.name] for f in nested.fields]
        elif isinstance(value, (tuple, list)) and len(value) == len(nested.fields):
            items = list(value)
        else:
            raise StructMismatch(f"{path} is {nested.name} with fields {nested.field_names}; "
                                 f"the emitter gave {value!r}")
        return "{" + ", ".join(f".{f.name} = {self._value(f'{path}.{f.name}', f, v)}"
                               for f, v in zip(nested.fields, items)) + "}"

    def _misfit(self, path: str, value: Any, reason: str) -> ModelError:
        op = self.current
        where = f"op {op.index} ({op.opcode})" if op is not None else "a parameter struct"
        return ModelError(f"{where}: parameter {path} = {value!r} {reason}; the firmware "
                          f"kernel cannot take this model")

    def kernel_call(self, op: Operator, function: str, params: str, operands: list[str]) -> None:
        """`function(&params, operands...)`: in a patch stage it is recorded, not emitted,
        so that emit_patches() can put the params in a table and the call in a loop."""
        if self.in_patch:
            self.patch_calls.append(_PatchCall(function, self.struct_types[params], params,
                                               tuple(operands)))
            return
        self.call(op, f"{function}({', '.join([f'&{params}', *operands])})")

    def call(self, op: Operator, statement: str) -> None:
        assert not self.in_patch, "patch layers go through kernel_call()"
        out = self.graph.tensor(op.outputs[0])
        self.body.append(f"  /* op {op.index}: {op.opcode} -> {c_comment(out.name)} */")
        self.body.append(f"  if ({statement} != HB_OK) return HB_ERROR;")
        self.body.append(f"  HB_DUT_LAYER_DONE({op.index});")
        self.body.append(f"  if (last == {op.index}u) return HB_OK;")

    # --- operators -----------------------------------------------------------------------
    def emit(self, prepared: PreparedOp) -> None:
        op, p = prepared.op, prepared.params
        suffix = "_s16" if is_wide(self.graph, op) else ""  # int16x8: its own kernels
        handler = getattr(self, f"_op_{op.opcode.lower()}{suffix}", None)
        if handler is None:
            raise UnsupportedOperatorError(op.opcode, op.index, "no firmware kernel")
        self.current = op
        special = self.specialized.get(op.index)
        if special is not None:
            self._specialized(op, special)
        else:
            handler(op, p)
        self.current = None

    def emit_patches(self, arena: Arena, prepared: list[PreparedOp]) -> None:
        """The first stage, patch by patch (codegen/patch_plan.py): each patch's input
        window is copied into slot 0, its layers ping-pong between the two slots, and its
        tile is copied into the stage output. Kernels are the variant's own, chosen per
        stage layer for every patch.

        The patches become one const table (per patch: its windows and each layer's
        parameter struct) and one loop over it, in patch order (the stage output may overlap
        the input the earlier patches consumed): straight-line calls per patch cost several
        KiB of code."""
        patches = arena.patches
        assert patches is not None and arena.patch_kernels is not None
        base = self.plan.offset(scratch_key(patches.first))
        a, b, _ = arena.slots
        slots = [f"(hb_arena + {base})", f"(hb_arena + {base + a})"]
        whole = self.graph
        x, y = whole.tensor(patches.input), whole.tensor(patches.output)
        in_row, out_row = x.shape[2] * x.shape[3], y.shape[2] * y.shape[3]
        source, target = self.tensor(patches.input), self.tensor(patches.output)
        self.patch_scratch = f"(void *)(hb_arena + {base + a + b})"
        self.in_patch = True
        calls: list[list[_PatchCall]] = []  # per patch, per layer
        for k, patch in enumerate(patches.patches):
            self.patch_calls = []
            for i, layer in enumerate(patch.layers):
                op = whole.operators[layer.op]
                self.graph = layer_graph(whole, layer.op, layer.inp, layer.out)
                self.pointers = {op.inputs[0]: slots[i % 2], op.outputs[0]: slots[(i + 1) % 2]}
                self.current = op
                special = arena.patch_kernels.get((k, i))
                if special is not None:
                    self._specialized(op, special)
                else:
                    handler = getattr(self, f"_op_{op.opcode.lower()}")
                    handler(op, layer_params(whole, layer, prepared[layer.op].params))
            assert len(self.patch_calls) == len(patch.layers)
            calls.append(self.patch_calls)
            self.graph, self.pointers, self.current = whole, {}, None
        self.in_patch, self.patch_scratch, self.patch_calls = False, None, []
        depth = len(patches.patches[0].layers) % 2
        self._patch_table(patches, calls, x.shape[2], x.shape[3], y.shape[2], y.shape[3])
        self.body += [
            f"  /* ops {patches.first}..{patches.last} patch by patch: "
            f"{patches.grid[0]}x{patches.grid[1]} patches, {patches.extra_macs} MACs "
            f"recomputed in halos */",
            f"  for (k = 0; k < {len(patches.patches)}u; ++k) {{",
            "    const hb_patch_entry *e = &hb_patches[k];",
            f"    hb_copy_window_s8(e->in_h, e->in_bytes, {source} + e->src, {in_row}, "
            f"{slots[0]}, e->in_bytes);",
            *self._patch_layer_calls(calls),
            f"    hb_copy_window_s8(e->out_h, e->out_bytes, {slots[depth]}, e->out_bytes, "
            f"{target} + e->dst, {out_row});",
            "  }"]
        for index in patches.ops:
            self.body.append(f"  hb_profile_mark({index});")
        self.body.append(f"  if (last <= {patches.last}u) return HB_OK;")

    def _patch_table(self, patches: Any, calls: list[list[_PatchCall]], in_w: int, in_c: int,
                     out_w: int, out_c: int) -> None:
        """hb_patch_entry and the const table hb_patches[]: one row per patch, in order."""
        rows = []
        for patch, layers in zip(patches.patches, calls):
            first, final = patch.layers[0].inp, patch.layers[-1].out
            rows.append({"in_h": first.h, "in_bytes": first.w * in_c,
                         "src": (first.y0 * in_w + first.x0) * in_c,
                         "out_h": final.h, "out_bytes": final.w * out_c,
                         "dst": (final.y0 * out_w + final.x0) * out_c,
                         "params": [c.params for c in layers]})
        count = len(calls[0])
        fields = [(name, "uint16_t" if max(r[name] for r in rows) <= 0xFFFF else "uint32_t")
                  for name in ("in_h", "in_bytes", "out_h", "out_bytes", "src", "dst")]
        self.data.append("typedef struct {\n"
                         f"  const void *params[{count}];  /* each layer's parameter struct */\n"
                         + "".join(f"  {c_type} {name};\n" for name, c_type in fields)
                         + "} hb_patch_entry;")
        entries = []
        for r in rows:
            items = ["{" + ", ".join(f"&{p}" for p in r["params"]) + "}"]
            items += [f"{r[name]}u" for name, _ in fields]
            entries.append("  {" + ", ".join(items) + "}")
        self.data.append(f"static const hb_patch_entry hb_patches[{len(rows)}] = {{\n"
                         + ",\n".join(entries) + "\n};")

    @staticmethod
    def _patch_layer_calls(calls: list[list[_PatchCall]]) -> list[str]:
        """Each stage layer's call, with its parameters from the patch's table row; every
        patch calls the same kernel for a layer (codegen/arena.py chooses it so)."""
        lines = []
        for i, call in enumerate(calls[0]):
            assert all(patch[i].signature == call.signature for patch in calls), \
                f"patch layer {i} calls differ between patches"
            lines.append(f"    if ({call.function}((const {call.c_type} *)e->params[{i}], "
                         f"{', '.join(call.operands)}) != HB_OK) return HB_ERROR;")
        return lines

    def _specialized(self, op: Operator, s: Specialized) -> None:
        """A layer bound to a variant's specialized kernel (codegen/specialize.py)."""
        fields = dict(s.fields)
        for field_name, (c_type, values) in s.arrays.items():
            fields[field_name] = self.array(f"op{op.index}_{field_name}", c_type, values)
        name = self.struct(s.struct, f"op{op.index}", fields)
        args = [*(self.tensor(i) for i in op.inputs
                  if i >= 0 and not self.graph.tensor(i).is_constant),
                self.tensor(op.outputs[0])]
        if s.scratch_bytes and self.patch_scratch is not None:
            args.append(self.patch_scratch)
        elif s.scratch_bytes:
            where, offset = self.plan.scratch_place(op.index)
            args.append(f"(void *)(hb_arena + {offset})" if where == "arena" else "hb_scratch")
        self.kernel_call(op, s.function, name, args)

    def _requant(self, op: Operator, p: Any, channels: int) -> tuple[str, str]:
        multiplier = np.broadcast_to(np.asarray(p.multiplier), (channels,))
        shift = np.broadcast_to(np.asarray(p.shift), (channels,))
        return (self.array(f"op{op.index}_multiplier", "int32_t", multiplier),
                self.array(f"op{op.index}_shift", "int32_t", shift))

    def _window_fields(self, op: Operator, p: Any, data: int = 0,
                       bias: int = 2) -> dict[str, Any]:
        """The fields every convolution-like parameter struct has (conv, depthwise and
        transpose conv, int8 and int16x8); `data`/`bias`: the op's input positions."""
        x, y = self.graph.tensor(op.inputs[data]), self.graph.tensor(op.outputs[0])
        multiplier, shift = self._requant(op, p, y.shape[3])
        return {"input": x.shape, "filter": tuple(p.filter.shape), "output": y.shape,
                "stride_h": p.stride[0], "stride_w": p.stride[1],
                "pad_h": p.pad[0], "pad_w": p.pad[1],
                "act_min": p.act_min, "act_max": p.act_max,
                "filter_data": self.tensor(op.inputs[1]),
                "bias": self.tensor(op.inputs[bias]) if p.bias is not None else "0",
                "multiplier": multiplier, "shift": shift}

    def _conv(self, op: Operator, p: Any, function: str) -> None:
        name = self.struct("hb_conv_params", f"op{op.index}", {
            **self._window_fields(op, p),
            "dilation_h": p.dilation[0], "dilation_w": p.dilation[1],
            "depth_multiplier": p.depth_multiplier,
            "input_offset": p.input_offset, "output_offset": p.output_offset})
        self.kernel_call(op, function, name, [self.tensor(op.inputs[0]),
                                              self.tensor(op.outputs[0])])

    def _op_conv_2d(self, op: Operator, p: Any) -> None:
        self._conv(op, p, "hb_conv2d_s8")

    def _op_depthwise_conv_2d(self, op: Operator, p: Any) -> None:
        self._conv(op, p, "hb_depthwise_conv2d_s8")

    def _op_fully_connected(self, op: Operator, p: Any) -> None:
        units, depth = p.weights.shape
        rows = self.graph.tensor(op.inputs[0]).size // depth
        multiplier, shift = self._requant(op, p, units)
        bias = self.tensor(op.inputs[2]) if p.bias is not None else "0"
        folded, requant, stride = "0", "0", 0
        if p.weights_offset == 0:
            sums = p.weights.astype(np.int64).sum(axis=1)
            base = p.bias.astype(np.int64) if p.bias is not None else np.zeros(units, np.int64)
            values = base + p.input_offset * sums
            if np.abs(values).max(initial=0) < 2**31:
                folded = self.array(f"op{op.index}_folded_bias", "int32_t",
                                    values.astype(np.int32))
                requant, stride = self._fc_requant_window(op, p, values)
        name = self.struct("hb_fc_params", f"op{op.index}", {
            "rows": rows, "depth": depth, "units": units,
            "input_offset": p.input_offset, "weights_offset": p.weights_offset,
            "output_offset": p.output_offset, "act_min": p.act_min, "act_max": p.act_max,
            "weights": self.tensor(op.inputs[1]), "bias": bias,
            "multiplier": multiplier, "shift": shift, "folded_bias": folded,
            "requant": requant, "requant_stride": stride})
        call = (f"hb_fully_connected_s8(&{name}, {self.tensor(op.inputs[0])}, "
                f"{self.tensor(op.outputs[0])})")
        if requant != "0" and rows == 1 and units * depth <= self._FC_UNROLLED_MACS:
            call = self._fc_unrolled(op, p, values, name, call)
        self.call(op, call)

    _FC_UNROLLED_MACS = 512  # larger layers call the kernel on every core

    def _fc_unrolled(self, op: Operator, p: Any, folded: np.ndarray, params: str,
                     kernel_call: str) -> str:
        """A small layer with a requantization record as straight-line C for Armv6-M: the
        weights become multiplications by constants and the record's values constants, so
        no loop, no weight load and no parameter load remain. Other cores call the kernel.
        The record is the one the op's struct carries (hb_requant_window_s8 is its C)."""
        w = p.weights.astype(np.int64)
        units, depth = w.shape
        found = self._fc_records(p, folded)
        assert found is not None
        records, stride = found
        function = f"op{op.index}_fc_unrolled"
        lines = ["#if defined(__ARM_ARCH_6M__)",
                 f"static hb_status {function}(const hb_fc_params *unused, const int8_t *in,"
                 f" int8_t *out) {{", "  (void)unused;  /* the kernel's parameters, kept"
                 " for other cores */"]
        lines += [f"  const int32_t x{d} = in[{d}];" for d in range(depth)]
        for u in range(units):
            terms = [f"{int(folded[u])}"] + [f"{int(w[u, d])} * x{d}" for d in range(depth)
                                               if w[u, d] != 0]
            record = records[u * stride:u * stride + 8]
            lines.append(f"  out[{u}] = hb_requant_window_s8({' + '.join(terms)}, "
                         f"{', '.join(str(int(v)) for v in record)});")
        lines += ["  return HB_OK;", "}", "#endif"]
        self.data.append("\n".join(lines))
        return (f"\n#if defined(__ARM_ARCH_6M__)\n  {function}(&{params}, "
                f"{self.tensor(op.inputs[0])}, "
                f"{self.tensor(op.outputs[0])})\n#else\n  {kernel_call}\n#endif\n  ")

    def _fc_requant_window(self, op: Operator, p: Any, folded: np.ndarray) -> tuple[str, int]:
        """Records for requantizing without a 64-bit product (codegen/requant_window.py),
        from each unit's accumulator range over all int8 inputs; ("0", 0) when the layer's
        parameters do not allow it."""
        found = self._fc_records(p, folded)
        if found is None:
            return "0", 0
        records, stride = found
        return self.array(f"op{op.index}_requant", "int32_t", records,
                          "lo hi mh ml ml_shift neg add total_shift"), stride

    def _fc_records(self, p: Any, folded: np.ndarray) -> tuple[np.ndarray, int] | None:
        w = p.weights.astype(np.int64)
        acc_max = folded + np.where(w > 0, 127 * w, -128 * w).sum(axis=1)
        acc_min = folded + np.where(w > 0, -128 * w, 127 * w).sum(axis=1)
        units = w.shape[0]
        return layer_records(np.broadcast_to(np.asarray(p.multiplier), (units,)),
                             np.broadcast_to(np.asarray(p.shift), (units,)), p.output_offset,
                             p.act_min, p.act_max, acc_min, acc_max)

    def _pool(self, op: Operator, p: Any, function: str) -> None:
        x, y = self.graph.tensor(op.inputs[0]), self.graph.tensor(op.outputs[0])
        name = self.struct("hb_pool_params", f"op{op.index}", {
            "input": x.shape, "output": y.shape, "filter_h": p.filter[0],
            "filter_w": p.filter[1], "stride_h": p.stride[0], "stride_w": p.stride[1],
            "pad_h": p.pad[0], "pad_w": p.pad[1], "act_min": p.act_min, "act_max": p.act_max})
        self.kernel_call(op, function, name, [self.tensor(op.inputs[0]),
                                              self.tensor(op.outputs[0])])

    def _op_average_pool_2d(self, op: Operator, p: Any) -> None:
        self._pool(op, p, "hb_avg_pool2d_s8")

    def _op_max_pool_2d(self, op: Operator, p: Any) -> None:
        self._pool(op, p, "hb_max_pool2d_s8")

    def _binary(self, op: Operator, p: Any, function: str, extra: dict[str, Any],
                pointer: Any = None) -> None:
        out_shape = self.graph.tensor(op.outputs[0]).shape
        rank = max(len(out_shape), 1)
        if rank > 6:
            raise UnsupportedOperatorError(op.opcode, op.index, "rank above 6")
        out_dims = (1,) * (rank - len(out_shape)) + tuple(out_shape)

        def strides(index: int) -> tuple[int, ...]:
            shape = self.graph.tensor(index).shape
            shape = (1,) * (rank - len(shape)) + tuple(shape)
            result, step = [], 1
            for dim, out_dim in reversed(list(zip(shape, out_dims))):
                result.append(0 if dim == 1 and out_dim != 1 else step)
                step *= dim
            return tuple(reversed(result))

        pad = (0,) * (6 - rank)
        fields = {"rank": rank, "out_dims": out_dims + pad,
                  "a_stride": strides(op.inputs[0]) + pad, "b_stride": strides(op.inputs[1]) + pad,
                  "a_offset": p.input1_offset, "b_offset": p.input2_offset,
                  "output_offset": p.output_offset, **extra,
                  "output_multiplier": p.output_multiplier, "output_shift": p.output_shift,
                  "act_min": p.act_min, "act_max": p.act_max}
        name = self.struct("hb_binary_params", f"op{op.index}", fields)
        if pointer is None:
            self.call(op, f"{function}(&{name}, {self.tensor(op.inputs[0])}, "
                          f"{self.tensor(op.inputs[1])}, {self.tensor(op.outputs[0])})")
        else:  # another element type: each operand through `pointer` (index, const)
            self.call(op, f"{function}(&{name}, {pointer(op.inputs[0])}, "
                          f"{pointer(op.inputs[1])}, {pointer(op.outputs[0], False)})")

    def _op_add(self, op: Operator, p: Any, function: str = "hb_add_s8",
                pointer: Any = None) -> None:
        self._binary(op, p, function, {
            "left_shift": p.left_shift, "a_multiplier": p.input1_multiplier,
            "a_shift": p.input1_shift, "b_multiplier": p.input2_multiplier,
            "b_shift": p.input2_shift}, pointer)

    def _op_mul(self, op: Operator, p: Any) -> None:
        # the ADD-only rescaling fields, unused by hb_mul_s8, are given explicitly
        self._binary(op, p, "hb_mul_s8", {
            "left_shift": 0, "a_multiplier": 0, "a_shift": 0, "b_multiplier": 0, "b_shift": 0})

    def _op_reshape(self, op: Operator, p: Any) -> None:
        size = self.graph.tensor(op.outputs[0]).size
        self.call(op, f"hb_copy_s8({size}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_reshape_s16(self, op: Operator, p: Any) -> None:
        self.call(op, f"hb_copy_s8({self.graph.tensor(op.outputs[0]).nbytes}, "
                      f"{self.tensor(op.inputs[0])}, {self.tensor(op.outputs[0])})")

    def _op_pad(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        dims = _dims4(x.shape, "input", op)
        lead = 4 - len(x.shape)
        before = (0,) * lead + tuple(a for a, _ in p.paddings)
        after = (0,) * lead + tuple(b for _, b in p.paddings)
        name = self.struct("hb_pad_params", f"op{op.index}", {
            "dims": dims, "before": before, "after": after, "value": p.value})
        self.call(op, f"hb_pad_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    _op_padv2 = _op_pad

    def _op_concatenation(self, op: Operator, p: Any) -> None:
        y = self.graph.tensor(op.outputs[0])
        outer = int(np.prod(y.shape[:p.axis], dtype=np.int64))
        inner = int(np.prod(y.shape[p.axis + 1:], dtype=np.int64))
        sizes = [self.graph.tensor(i).shape[p.axis] for i in op.inputs]
        sizes_name = self.array(f"op{op.index}_axis_sizes", "int32_t", np.array(sizes, np.int32))
        name = self.struct("hb_concat_params", f"op{op.index}", {
            "inputs": len(op.inputs), "outer": outer, "inner": inner,
            "axis_sizes": sizes_name})
        pointers = ", ".join(f"(const int8_t *){self.tensor(i)}" for i in op.inputs)
        self.body.append("  {")
        self.body.append(f"    const int8_t *const op{op.index}_inputs[] = {{{pointers}}};")
        self.call(op, f"hb_concat_s8(&{name}, op{op.index}_inputs, {self.tensor(op.outputs[0])})")
        self.body.append("  }")

    def _op_mean(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        dims = _dims4(x.shape, "input", op)
        lead = 4 - len(x.shape)
        reduce = tuple(1 if (d - lead) in p.axes else 0 for d in range(4))
        name = self.struct("hb_mean_params", f"op{op.index}", {
            "dims": dims, "reduce": reduce, "count": p.count,
            "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
            "multiplier": p.multiplier, "shift": p.shift})
        self.call(op, f"hb_mean_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_softmax(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        depth = x.shape[-1] if x.shape else 1
        name = self.struct("hb_softmax_params", f"op{op.index}", {
            "rows": x.size // depth, "depth": depth, "input_multiplier": p.input_multiplier,
            "input_left_shift": p.input_left_shift, "diff_min": p.diff_min})
        self.call(op, f"hb_softmax_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _sigmoid(self, op: Operator, p: Any, function: str) -> None:
        name = self.struct("hb_sigmoid_params", f"op{op.index}", {
            "size": self.graph.tensor(op.inputs[0]).size,
            "input_zero_point": p.input_zero_point, "input_multiplier": p.input_multiplier,
            "input_left_shift": p.input_left_shift, "input_range_radius": p.input_range_radius})
        self.call(op, f"{function}(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_logistic(self, op: Operator, p: Any) -> None:
        self._sigmoid(op, p, "hb_logistic_s8")

    def _op_tanh(self, op: Operator, p: Any) -> None:
        self._sigmoid(op, p, "hb_tanh_s8")

    def _op_hard_swish(self, op: Operator, p: Any) -> None:
        name = self.struct("hb_hard_swish_params", f"op{op.index}", {
            "size": self.graph.tensor(op.inputs[0]).size,
            "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
            "output_multiplier": p.output_multiplier_fixedpoint_int16,
            "reluish_multiplier": p.reluish_multiplier_fixedpoint_int16,
            "output_exponent": p.output_multiplier_exponent,
            "reluish_exponent": p.reluish_multiplier_exponent})
        self.call(op, f"hb_hard_swish_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_relu(self, op: Operator, p: Any) -> None:
        name = self.struct("hb_relu_params", f"op{op.index}", {
            "size": self.graph.tensor(op.inputs[0]).size,
            "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
            "multiplier": p.multiplier, "shift": p.shift, "act_min": p.act_min,
            "act_max": p.act_max})
        self.call(op, f"hb_relu_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_relu6(self, op: Operator, p: Any) -> None:
        name = self.struct("hb_relu6_params", f"op{op.index}", {
            "size": self.graph.tensor(op.inputs[0]).size, "zero": p.zero, "six": p.six})
        self.call(op, f"hb_relu6_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    @staticmethod
    def _quantize_fields(p: Any) -> dict[str, Any]:
        """QUANTIZE's fields shared by hb_quantize_params and hb_quantize_s16_params."""
        return {"scale": _float_literal(p.scale), "zero_point": p.zero_point,
                "input_zero_point": 0 if p.input_zero_point is None else p.input_zero_point,
                "multiplier": p.multiplier, "shift": p.shift}

    def _op_quantize(self, op: Operator, p: Any) -> None:
        name = self.struct("hb_quantize_params", f"op{op.index}", {
            "size": self.graph.tensor(op.inputs[0]).size,
            "from_float": int(p.input_zero_point is None), **self._quantize_fields(p)})
        self.call(op, f"hb_quantize_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_dequantize(self, op: Operator, p: Any, function: str = "hb_dequantize_s8",
                       source: str | None = None) -> None:
        name = self.struct("hb_dequantize_params", f"op{op.index}", {
            "size": self.graph.tensor(op.inputs[0]).size, "scale": _float_literal(p.scale),
            "zero_point": p.zero_point})
        self.call(op, f"{function}(&{name}, {source or self.tensor(op.inputs[0])}, "
                      f"(float *){self.tensor(op.outputs[0])})")

    # --- data movement and BATCH_MATMUL (reference/kernels/movement.py, matmul.py) --------
    def _strided(self, op: Operator, p: Any, function: str) -> None:
        rank = len(p.count)
        if rank > 6:
            raise UnsupportedOperatorError(op.opcode, op.index, "rank above 6")
        name = self.struct("hb_strided_params", f"op{op.index}", {
            "rank": rank, "elem_size": p.itemsize, "start": p.start,
            "count": p.count + (1,) * (6 - rank), "step": p.step + (0,) * (6 - rank)})
        self.call(op, f"{function}(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_transpose(self, op: Operator, p: Any) -> None:
        self._strided(op, p, "hb_transpose_s8")

    def _op_strided_slice(self, op: Operator, p: Any) -> None:
        self._strided(op, p, "hb_strided_slice_s8")

    def _pointer_block(self, op: Operator, role: str, tensors: list[int], const: bool,
                       statement: str) -> None:
        """`statement` with a local array `op<i>_<role>` of the tensors' pointers (the
        inputs of PACK, the outputs of SPLIT and UNPACK)."""
        qualifier = "const " if const else ""
        pointers = ", ".join(f"({qualifier}int8_t *){self.tensor(i)}" for i in tensors)
        self.body.append("  {")
        self.body.append(f"    {qualifier}int8_t *const op{op.index}_{role}[] = {{{pointers}}};")
        self.call(op, statement)
        self.body.append("  }")

    def _blocks(self, shape: tuple[int, ...], axis: int) -> tuple[int, int]:
        """(outer, inner): the products of the dims before and after `axis`."""
        return (int(np.prod(shape[:axis], dtype=np.int64)),
                int(np.prod(shape[axis + 1:], dtype=np.int64)))

    def _op_split(self, op: Operator, p: Any) -> None:
        source = op.inputs[1] if op.opcode == "SPLIT" else op.inputs[0]
        x = self.graph.tensor(source)
        outer, inner = self._blocks(x.shape, p.axis)
        sizes = self.array(f"op{op.index}_axis_sizes", "int32_t", np.array(p.sizes, np.int32))
        name = self.struct("hb_split_params", f"op{op.index}", {
            "outputs": len(op.outputs), "outer": outer, "inner": inner,
            "elem_size": x.dtype.itemsize, "axis_sizes": sizes})
        self._pointer_block(op, "outputs", op.outputs, False,
                            f"hb_split_s8(&{name}, {self.tensor(source)}, op{op.index}_outputs)")

    _op_split_v = _op_split

    def _op_pack(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        outer, inner = self._blocks(self.graph.tensor(op.outputs[0]).shape, p.axis)
        name = self.struct("hb_pack_params", f"op{op.index}", {
            "count": len(op.inputs), "outer": outer, "inner": inner,
            "elem_size": x.dtype.itemsize})
        self._pointer_block(op, "inputs", op.inputs, True,
                            f"hb_pack_s8(&{name}, op{op.index}_inputs, "
                            f"{self.tensor(op.outputs[0])})")

    def _op_unpack(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        outer, inner = self._blocks(x.shape, p.axis)
        name = self.struct("hb_pack_params", f"op{op.index}", {
            "count": len(op.outputs), "outer": outer, "inner": inner,
            "elem_size": x.dtype.itemsize})
        self._pointer_block(op, "outputs", op.outputs, False,
                            f"hb_unpack_s8(&{name}, {self.tensor(op.inputs[0])}, "
                            f"op{op.index}_outputs)")

    def _op_squeeze(self, op: Operator, p: Any) -> None:
        # a view: the planner may place the output on its input (codegen/overlap.py)
        size = self.graph.tensor(op.outputs[0]).nbytes
        self.call(op, f"hb_copy_s8({size}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_gather(self, op: Operator, p: Any) -> None:
        name = self.struct("hb_gather_params", f"op{op.index}", {
            "batch": p.batch, "outer": p.outer, "coords": p.coords, "axis_size": p.axis_size,
            "inner": p.inner, "elem_size": self.graph.tensor(op.inputs[0]).dtype.itemsize})
        self.call(op, f"hb_gather_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"(const int32_t *){self.tensor(op.inputs[1])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_batch_matmul(self, op: Operator, p: Any) -> None:
        rank = len(p.output_shape)
        if rank - 2 > 3:
            raise UnsupportedOperatorError(op.opcode, op.index, "more than 3 batch dims")
        a, b = element_strides(p.lhs_shape), element_strides(p.rhs_shape)
        lead = 3 - (rank - 2)
        batch = (1,) * lead + tuple(p.output_shape[:-2])
        lhs_batch = (0,) * lead + tuple(0 if d == 1 else s
                                        for d, s in zip(p.lhs_shape[:-2], a[:-2]))
        rhs_batch = (0,) * lead + tuple(0 if d == 1 else s
                                        for d, s in zip(p.rhs_shape[:-2], b[:-2]))
        row, lhs_depth = (a[-1], a[-2]) if p.adj_x else (a[-2], a[-1])
        col, rhs_depth = (b[-2], b[-1]) if p.adj_y else (b[-1], b[-2])
        name = self.struct("hb_batch_matmul_params", f"op{op.index}", {
            "batch": batch, "lhs_batch_step": lhs_batch, "rhs_batch_step": rhs_batch,
            "rows": p.rows, "cols": p.cols, "depth": p.depth,
            "lhs_row_step": row, "lhs_depth_step": lhs_depth,
            "rhs_depth_step": rhs_depth, "rhs_col_step": col,
            "lhs_offset": p.lhs_offset, "rhs_offset": p.rhs_offset,
            "output_offset": p.output_offset, "multiplier": p.multiplier, "shift": p.shift})
        self.call(op, f"hb_batch_matmul_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.inputs[1])}, {self.tensor(op.outputs[0])})")

    # --- issue #17: element-wise operators --------------------------------------------------
    def _op_sub(self, op: Operator, p: Any) -> None:
        self._binary(op, p, "hb_sub_s8", {
            "left_shift": p.left_shift, "a_multiplier": p.input1_multiplier,
            "a_shift": p.input1_shift, "b_multiplier": p.input2_multiplier,
            "b_shift": p.input2_shift})

    _NO_RESCALING = {"left_shift": 0, "a_multiplier": 0, "a_shift": 0, "b_multiplier": 0,
                     "b_shift": 0}

    def _op_maximum(self, op: Operator, p: Any) -> None:
        self._binary(op, p, "hb_maximum_s8", self._NO_RESCALING)

    def _op_minimum(self, op: Operator, p: Any) -> None:
        self._binary(op, p, "hb_minimum_s8", self._NO_RESCALING)

    def _op_prelu(self, op: Operator, p: Any) -> None:
        self._binary(op, p, "hb_prelu_s8", {
            "left_shift": 0, "a_multiplier": p.input1_multiplier, "a_shift": p.input1_shift,
            "b_multiplier": p.input2_multiplier, "b_shift": p.input2_shift})

    def _op_leaky_relu(self, op: Operator, p: Any) -> None:
        name = self.struct("hb_leaky_relu_params", f"op{op.index}", {
            "size": self.graph.tensor(op.inputs[0]).size,
            "input_zero_point": p.input_zero_point, "output_zero_point": p.output_zero_point,
            "identity_multiplier": p.identity_multiplier, "identity_shift": p.identity_shift,
            "alpha_multiplier": p.alpha_multiplier, "alpha_shift": p.alpha_shift,
            "alpha_negative": int(p.alpha_negative)})
        self.call(op, f"hb_leaky_relu_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_resize_nearest_neighbor(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        name = self.struct("hb_resize_nearest_params", f"op{op.index}", {
            "input": x.shape, "out_h": len(p.rows), "out_w": len(p.cols),
            "rows": self.array(f"op{op.index}_rows", "int32_t", p.rows),
            "cols": self.array(f"op{op.index}_cols", "int32_t", p.cols)})
        self.call(op, f"hb_resize_nearest_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")
    # --- int16 activations, int8 weights (int16x8) -----------------------------------------
    def _s16(self, index: int, const: bool = True) -> str:
        """A tensor as the int16 pointer the _s16 kernels take (arena slices are int8_t)."""
        return f"({'const ' if const else ''}int16_t *){self.tensor(index)}"

    def _conv_s16(self, op: Operator, p: Any, function: str) -> None:
        name = self.struct("hb_conv_s16_params", f"op{op.index}", {
            **self._window_fields(op, p),
            "dilation_h": p.dilation[0], "dilation_w": p.dilation[1],
            "depth_multiplier": p.depth_multiplier, "bias_64": int(p.wide_bias)})
        self.kernel_call(op, function, name, [self._s16(op.inputs[0]),
                                              self._s16(op.outputs[0], const=False)])

    def _op_conv_2d_s16(self, op: Operator, p: Any) -> None:
        self._conv_s16(op, p, "hb_conv2d_s16")

    def _op_depthwise_conv_2d_s16(self, op: Operator, p: Any) -> None:
        self._conv_s16(op, p, "hb_depthwise_conv2d_s16")

    def _op_fully_connected_s16(self, op: Operator, p: Any) -> None:
        units, depth = p.weights.shape
        multiplier, shift = self._requant(op, p, units)
        name = self.struct("hb_fc_s16_params", f"op{op.index}", {
            "rows": self.graph.tensor(op.inputs[0]).size // depth, "depth": depth,
            "units": units, "weights_offset": p.weights_offset,
            "act_min": p.act_min, "act_max": p.act_max, "bias_64": int(p.wide_bias),
            "weights": self.tensor(op.inputs[1]),
            "bias": self.tensor(op.inputs[2]) if p.bias is not None else "0",
            "multiplier": multiplier, "shift": shift})
        self.call(op, f"hb_fully_connected_s16(&{name}, {self._s16(op.inputs[0])}, "
                      f"{self._s16(op.outputs[0], const=False)})")

    def _op_add_s16(self, op: Operator, p: Any) -> None:
        self._op_add(op, p, "hb_add_s16", self._s16)

    def _op_softmax_s16(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        depth = x.shape[-1]
        name = self.struct("hb_softmax_s16_params", f"op{op.index}", {
            "rows": x.size // depth, "depth": depth, "input_multiplier": p.input_multiplier,
            "input_left_shift": p.input_left_shift,
            "exp_lut": self.array("softmax_s16_exp_lut", "int16_t", p.exp_lut,
                                  "exp on [-10, 0], TFLM gen_lut"),
            "one_over_one_plus_x_lut": self.array("softmax_s16_reciprocal_lut", "int16_t",
                                                  p.one_over_one_plus_x_lut,
                                                  "1/(1+x) on [0, 1], TFLM gen_lut")})
        self.call(op, f"hb_softmax_s16(&{name}, {self._s16(op.inputs[0])}, "
                      f"{self._s16(op.outputs[0], const=False)})")

    _QUANTIZE_INPUT_TYPES = {"float32": 0, "int8": 1, "int16": 2}

    def _op_quantize_s16(self, op: Operator, p: Any) -> None:
        x = self.graph.tensor(op.inputs[0])
        name = self.struct("hb_quantize_s16_params", f"op{op.index}", {
            "size": x.size, "input_type": self._QUANTIZE_INPUT_TYPES[x.dtype.name],
            "output_bits": 8 * np.dtype(p.output_type).itemsize, **self._quantize_fields(p)})
        self.call(op, f"hb_quantize_s16(&{name}, {self.tensor(op.inputs[0])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_dequantize_s16(self, op: Operator, p: Any) -> None:
        self._op_dequantize(op, p, "hb_dequantize_s16", self._s16(op.inputs[0]))

    def _transpose_conv_struct(self, op: Operator, p: Any) -> str:
        return self.struct("hb_transpose_conv_params", f"op{op.index}", {
            **self._window_fields(op, p, data=2, bias=3), "input_offset": p.input_offset,
            "output_offset": p.output_offset, "bias_64": int(p.wide)})

    def _op_transpose_conv(self, op: Operator, p: Any) -> None:
        name = self._transpose_conv_struct(op, p)
        self.call(op, f"hb_transpose_conv_s8(&{name}, {self.tensor(op.inputs[2])}, "
                      f"{self.tensor(op.outputs[0])})")

    def _op_transpose_conv_s16(self, op: Operator, p: Any) -> None:
        name = self._transpose_conv_struct(op, p)
        self.call(op, f"hb_transpose_conv_s16(&{name}, {self._s16(op.inputs[2])}, "
                      f"{self._s16(op.outputs[0], const=False)})")

    def _op_svdf(self, op: Operator, p: Any) -> None:
        name = self.struct("hb_svdf_params", f"op{op.index}", {
            "batch": p.batch, "input_size": p.input_size, "filters": p.filters,
            "memory": p.memory, "units": p.units, "rank": p.rank,
            "input_zero_point": p.input_zero_point, "state_zero_point": p.state_zero_point,
            "output_zero_point": p.output_zero_point,
            "feature_multiplier": p.feature_multiplier, "feature_shift": p.feature_shift,
            "output_multiplier": p.output_multiplier, "output_shift": p.output_shift,
            "weights_feature": self.tensor(op.inputs[1]),
            "weights_time": self.tensor(op.inputs[2]), "bias": self.tensor(op.inputs[3])})
        # the state through a non-const pointer: the kernel updates it in place
        self.call(op, f"hb_svdf_s8(&{name}, {self.tensor(op.inputs[0])}, "
                      f"(int16_t *){self.tensor(op.inputs[4])}, {self.tensor(op.outputs[0])})")

    def _op_unidirectional_sequence_lstm(self, op: Operator, p: Any) -> None:
        """hb_lstm_s8, or hb_lstm_s16 for int16x8 (one struct; its biases go to bias64)."""
        gates = []
        for name, wi, wr, bias in zip(GATES, LSTM_INPUT_WEIGHTS, LSTM_RECURRENT_WEIGHTS,
                                      LSTM_BIASES):
            g = p.gates[name]
            gates.append({
                "input_weights": self.tensor(op.inputs[wi]),
                "recurrent_weights": self.tensor(op.inputs[wr]),
                "bias": "0" if p.wide else self.tensor(op.inputs[bias]),
                "bias64": self.tensor(op.inputs[bias]) if p.wide else "0",
                "input_multiplier": g.input_requant.multiplier,
                "input_shift": g.input_requant.shift,
                "recurrent_multiplier": g.recurrent_requant.multiplier,
                "recurrent_shift": g.recurrent_requant.shift})
        table = self.array("hb_lstm_sigmoid_table", "uint16_t", SIGMOID_TABLE,
                           "sigmoid(i / 24) in 0.16, as TFLM's int16 LOGISTIC and TANH")
        name = self.struct("hb_lstm_params", f"op{op.index}", {
            "batch": p.batch, "time_steps": p.time_steps, "features": p.features,
            "units": p.units, "time_major": int(p.time_major),
            "input_offset": p.input_offset, "hidden_offset": p.hidden_offset,
            "hidden_zero_point": p.hidden_zero_point, "gates": gates,
            "forget_cell_multiplier": p.forget_cell.multiplier,
            "forget_cell_shift": p.forget_cell.shift,
            "input_cell_multiplier": p.input_cell.multiplier,
            "input_cell_shift": p.input_cell.shift,
            "hidden_multiplier": p.hidden.multiplier, "hidden_shift": p.hidden.shift,
            "cell_scale_power": p.cell_scale_power, "cell_clip": p.cell_clip,
            "sigmoid_table": table})
        act = "int16_t" if p.wide else "int8_t"
        x, h, c, y = (self.tensor(i) for i in (op.inputs[0], op.inputs[LSTM_OUTPUT_STATE],
                                               op.inputs[LSTM_CELL_STATE], op.outputs[0]))
        # the state through non-const pointers to its hb_state slices
        self.call(op, f"hb_lstm_{'s16' if p.wide else 's8'}(&{name}, (const {act} *){x}, "
                      f"({act} *){h}, (int16_t *){c}, ({act} *){y})")

    _op_unidirectional_sequence_lstm_s16 = _op_unidirectional_sequence_lstm  # by p.wide



def _span_function(signature: str, pointers: list[str], sizes: list[int]) -> list[str]:
    """A function mapping an offset in the concatenation of tensors (model order) to the
    byte there and the contiguous bytes from it: several inputs or outputs are one byte
    space for the protocol."""
    lines = [f"{signature} {{"]
    start = 0
    for pointer, size in zip(pointers, sizes):
        lines.append(f"  if (offset < {start + size}u) {{ *contiguous = {start + size}u - offset; "
                     f"return (uint8_t *){pointer} + (offset - {start}u); }}")
        start += size
    lines += ["  *contiguous = 0;", "  return 0;", "}"]
    return lines


def plan_model_memory(graph: Graph, ops: list[PreparedOp], kernels: str = "ref",
                      memory: str = "inplace", ram_limits: Sequence[RamLimit] = ()
                      ) -> tuple[dict[int, Specialized], Arena]:
    """The layers' specialized kernels for the variant and the arena they are planned in
    (their scratch included): what a build gets, and what `hilbench inspect` shows."""
    specialized = {o.op.index: s for o in ops
                   if (s := choose(graph, o.op, o.params, kernels)) is not None}
    arena = choose_arena(graph, ops, {i: s.scratch_bytes for i, s in specialized.items()},
                         memory, kernels, ram_limits)
    return specialized, arena


def generate_model(graph: Graph, model_bytes: bytes, name: str = "model",
                   kernels: str = "ref", memory: str = "inplace",
                   ram_limits: Sequence[RamLimit] = ()) -> GeneratedModel:
    """kernels: the kernel variant the firmware is built with; layers that one of its
    specialized kernels fits call that kernel (codegen/specialize.py), the rest the generic
    hb_<op>_s8. memory: the memory mode (codegen/arena.py: plain, inplace, patch, auto);
    ram_limits: what `auto` must fit."""
    if not graph.inputs or not graph.outputs:
        raise ModelError(f"the model has {len(graph.inputs)} inputs and {len(graph.outputs)} "
                         f"outputs; it needs at least one of each")
    ops = prepare(graph)
    specialized, arena = plan_model_memory(graph, ops, kernels, memory, ram_limits)
    plan = arena.plan
    emitter = _Emitter(graph, ops, plan, specialized=specialized, state=state_layout(graph))
    patches = arena.patches
    for prepared in ops:
        if patches is not None and prepared.op.index in patches.ops:
            if prepared.op.index == patches.first:
                emitter.emit_patches(arena, ops)
            continue
        emitter.emit(prepared)
    model_hash = hashlib.sha256(model_bytes).digest()[:8]
    input_sizes = [graph.tensor(i).nbytes for i in graph.inputs]
    output_sizes = [graph.tensor(i).nbytes for i in graph.outputs]
    hidden = set(range(patches.first, patches.last)) if patches else set()
    op_outputs = ["0" if op.index in hidden else emitter.tensor(op.outputs[0])
                  for op in graph.operators]
    op_sizes = [0 if op.index in hidden else graph.tensor(op.outputs[0]).nbytes
                for op in graph.operators]
    count = len(graph.operators)
    lines = [
        f"/* Generated by hilbench from {c_comment(name)}. Do not edit. */",
        "#include <stdint.h>",
        '#include "hb_kernels.h"',
        '#include "hb_model.h"',
        '#include "hb_dut_layers.h"',
        "",
        f"const uint8_t hb_model_hash[8] = {{{', '.join(str(b) for b in model_hash)}}};",
        f"const uint32_t hb_model_arena_size = {plan.arena_size}u;",
        f"const uint32_t hb_model_input_size = {sum(input_sizes)}u;",
        f"const uint32_t hb_model_output_size = {sum(output_sizes)}u;",
        f"const uint32_t hb_model_op_count = {count}u;",
        f"static int8_t hb_arena[{max(plan.arena_size, 16)}] __attribute__((aligned(16)));",
        *(["/* kernels' scratch that fits no gap of the arena, shared (one op at a time) */",
           f"static int8_t hb_scratch[{plan.scratch_region_size}] __attribute__((aligned(16)));"]
          if plan.scratch_region_size else []),
        *state_source(graph, emitter.state),
        f"uint32_t hb_layer_cycles[{count + 1}];",
        "",
        *emitter.data,
        "",
        *_span_function("uint8_t *hb_model_input_span(uint32_t offset, uint32_t *contiguous)",
                        [emitter.tensor(i) for i in graph.inputs], input_sizes),
        *_span_function("const uint8_t *hb_model_output_span(uint32_t offset, "
                        "uint32_t *contiguous)",
                        [emitter.tensor(i) for i in graph.outputs], output_sizes),
        "",
        f"static const uint8_t *const op_outputs[{max(count, 1)}] = "
        f"{{{', '.join(f'(const uint8_t *){t}' for t in op_outputs) or '0'}}};",
        f"static const uint32_t op_output_sizes[{max(count, 1)}] = "
        f"{{{', '.join(f'{n}u' for n in op_sizes) or '0'}}};",
        "const uint8_t *hb_model_op_output(uint32_t op, uint32_t *size) {",
        f"  if (op >= {count}u) {{ *size = 0; return 0; }}",
        "  *size = op_output_sizes[op];",
        "  return op_outputs[op];",
        "}",
        "",
        "hb_status hb_model_invoke_until(uint32_t last) {",
        *(["  uint32_t k;  /* the patch loop's index */"] if patches is not None else []),
        "  hb_profile_mark(HB_MARK_START);",
        *emitter.body,
        "  hb_profile_mark(HB_MARK_END);",
        "  return HB_OK;",
        "}",
        "",
        "hb_status hb_model_invoke(void) { return hb_model_invoke_until(0xFFFFFFFFu); }",
        "",
    ]
    return GeneratedModel("\n".join(lines), plan, model_hash, sum(input_sizes),
                          sum(output_sizes), emitter.constant_bytes, arena,
                          emitter.state.size)
