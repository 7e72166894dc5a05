"""The host-firmware contracts, each checked against its C source so that a change on one
side without the other fails here (no compiler, no emulator):

(a) protocol constants: firmware/dut/hb_protocol.h vs hilbench/protocol/frames.py
(b) reply byte layouts: HB_<REPLY>_OFF_<FIELD> in hb_protocol.h vs the structs in frames.py,
    and the DUT library's engine (hb_dut_core.c) writing replies through those constants only
(c) instruction classes: the QEMU plugin's enum vs CLASSES vs the cycle model's costs
(d) kernel parameter structs: firmware/include/hb_kernels.h vs the code generator's emitters
    (checked by the generator itself on every struct; here on every operator family)
"""

from __future__ import annotations

import re

import pytest

from hilbench.codegen import c_model
from hilbench.codegen.c_header import (
    CField,
    HeaderParseError,
    parse_defines,
    parse_enums,
    parse_header,
    parse_structs,
    strip_comments,
)
from hilbench.codegen.specialize import VARIANT_KERNELS
from hilbench.codegen.c_model import StructMismatch, _Emitter, generate_model
from hilbench.errors import ModelError
from hilbench.model import load_model
from hilbench.paths import FIRMWARE_DIR
from hilbench.protocol import frames
from hilbench.targets.qemu_plugin import CLASSES
from hilbench.timing.cycle_model import CLASS_COSTS
import cases
import cases_movement
import cases_elementwise
import cases_int16
import cases_state
import cases_lstm
from support import shared_models

PROTOCOL_H = FIRMWARE_DIR / "dut" / "hb_protocol.h"
ENGINE_C = FIRMWARE_DIR / "dut" / "hb_dut_core.c"
PLUGIN_C = FIRMWARE_DIR / "qemu_plugin" / "hb_insn_count.c"


# --- (a) protocol constants --------------------------------------------------------------
def test_protocol_constants_match_the_header():
    text = PROTOCOL_H.read_text()
    defines, enums = parse_defines(text), parse_enums(text)
    assert defines["HB_PROTOCOL_VERSION"] == frames.PROTOCOL_VERSION
    assert defines["HB_MAX_DATA"] == frames.MAX_DATA
    assert enums["HB_REPLY_FLAG"] == frames.REPLY_FLAG

    c_commands = {k.removeprefix("HB_CMD_"): v for k, v in enums.items()
                  if k.startswith("HB_CMD_")}
    c_commands["ERROR"] = enums["HB_REPLY_ERROR"]
    c_commands["FAULT"] = enums["HB_REPLY_FAULT"]
    assert c_commands == {c.name: c.value for c in frames.Command}

    c_errors = {k.removeprefix("HB_ERR_"): v for k, v in enums.items()
                if k.startswith("HB_ERR_")}
    assert c_errors == {e.name: e.value for e in frames.ErrorCode}


def test_serial_link_frame_size_is_the_protocol_default():
    from hilbench.drivers.registry import link_driver

    assert link_driver("serial").max_data == frames.MAX_DATA


# --- (b) reply layouts -------------------------------------------------------------------
REPLIES = {
    "INFO": (frames.INFO_REPLY, frames.INFO_FIELDS),
    "INVOKE": (frames.INVOKE_REPLY, frames.INVOKE_FIELDS),
    "STATS": (frames.STATS_REPLY, frames.STATS_FIELDS),
    "PROFILE": (frames.PROFILE_STAMP, frames.PROFILE_FIELDS),
}


@pytest.mark.parametrize("reply", REPLIES)
def test_reply_layout_matches_the_header(reply):
    layout, names = REPLIES[reply]
    defines = parse_defines(PROTOCOL_H.read_text())
    prefix = f"HB_{reply}_OFF_"
    c_offsets = {k.removeprefix(prefix).lower(): v for k, v in defines.items()
                 if k.startswith(prefix)}
    assert c_offsets == frames.field_offsets(layout, names), \
        f"{reply} reply: header offsets differ from frames.py's {layout.format}"
    assert defines[f"HB_{reply}_SIZE"] == layout.size


def test_reply_limits_match_the_header():
    defines = parse_defines(PROTOCOL_H.read_text())
    assert defines["HB_INFO_BUILD_ID_MAX"] == frames.INFO_BUILD_ID_MAX
    assert defines["HB_PROFILE_MAX_STAMPS"] == frames.PROFILE_MAX_STAMPS


def test_engine_writes_replies_through_the_layout_constants():
    """A literal offset in the engine would change the layout without the header seeing it."""
    code = strip_comments(ENGINE_C.read_text())
    handler = code[code.index("static void handle("):code.index("void hb_dut_init_runtime(")]
    literal = re.findall(r"(?:reply|stamps)\s*(?:\+\s*\d+|\[\s*\d+\s*\])|put_u(?:16|32)\(reply,",
                         handler)
    assert not literal, f"hb_dut_core.c writes replies at literal offsets: {literal}"
    for reply in REPLIES:
        assert f"HB_{reply}_SIZE" in handler


def test_field_offsets_helper():
    layout = frames.INFO_REPLY
    assert frames.field_offsets(layout, frames.INFO_FIELDS)["op_count"] == 23
    with pytest.raises(ValueError):
        frames.field_offsets(layout, ("just_one",))


# --- (c) instruction classes -------------------------------------------------------------
def _plugin_classes() -> tuple[str, ...]:
    code = strip_comments(PLUGIN_C.read_text())
    match = re.search(r"enum\s*\{([^}]*)\bCLASSES\s*\}", code)
    assert match, "hb_insn_count.c: no 'enum { ..., CLASSES }' of instruction classes"
    names = [n.strip() for n in match[1].split(",") if n.strip()]
    assert all(re.fullmatch(r"[A-Z_]+", n) for n in names), names  # no '= value'
    return tuple(n.lower() for n in names)


def test_plugin_classes_match_the_parser():
    assert _plugin_classes() == CLASSES


@pytest.mark.parametrize("core", CLASS_COSTS)
def test_cycle_model_costs_every_class(core):
    assert set(CLASS_COSTS[core]) == set(CLASSES), core


# --- (d) kernel parameter structs --------------------------------------------------------
HEADER = """
#define N 3
/* comment { with braces } */
typedef struct {
  int32_t a, b;            /* two */
  int8_t small;
  const int8_t *data;
  int16_t arr[N];
  uint8_t bytes[2];
  hb_pair pair;
} hb_test_params;
typedef struct {
  int32_t x, y;
} hb_pair;
enum { ONE = 1, TWO, FOUR = 0x4u };
"""


def test_header_parser_reads_fields_types_arrays_and_pointers():
    header = parse_header(HEADER)
    s = header.structs["hb_test_params"]
    assert s.fields == (CField("a", "int32_t"), CField("b", "int32_t"),
                        CField("small", "int8_t"), CField("data", "int8_t", pointer=True),
                        CField("arr", "int16_t", length=3), CField("bytes", "uint8_t", length=2),
                        CField("pair", "hb_pair"))
    assert header.structs["hb_pair"].field_names == ("x", "y")
    assert header.defines == {"N": 3}
    assert header.enums == {"ONE": 1, "TWO": 2, "FOUR": 4}


def test_header_parser_sees_edits():
    edited = HEADER.replace("int8_t small;", "int8_t small, extra;").replace("#define N 3",
                                                                             "#define N 5")
    s = parse_structs(edited)["hb_test_params"]
    assert "extra" in s.field_names and s.field("arr").length == 5


@pytest.mark.parametrize("bad", ["int32_t (*fn)(void);", "int32_t bits : 3;",
                                 "int32_t arr[N + 1];", "struct { int32_t x; } inner;"])
def test_header_parser_refuses_what_it_does_not_understand(bad):
    with pytest.raises(HeaderParseError):
        parse_structs(HEADER.replace("int8_t small;", bad))


def _emitter(header: str) -> _Emitter:
    return _Emitter(None, [], None, structs=parse_structs(header))  # type: ignore[arg-type]


GOOD = dict(a=1, b=-2, small=-128, data="t3", arr=(1, 2, -3), bytes=(0, 255), pair=(7, 8))


def test_emitter_checks_fields_against_the_header():
    emitter = _emitter(HEADER)
    emitter.struct("hb_test_params", "op0", GOOD)
    source = emitter.data[-1]
    assert ".arr = {1, 2, -3}" in source and ".pair = {.x = 7, .y = 8}" in source
    with pytest.raises(StructMismatch, match=r"declared in C but not emitted: \['extra'\]"):
        _emitter(HEADER.replace("int8_t small;", "int8_t small, extra;")).struct(
            "hb_test_params", "op0", GOOD)
    with pytest.raises(StructMismatch, match=r"emitted but not declared in C: \['small'\]"):
        _emitter(HEADER.replace("int8_t small;", "int8_t tiny;")).struct(
            "hb_test_params", "op0", GOOD)
    with pytest.raises(StructMismatch, match="hb_test_params.data is a pointer"):
        emitter.struct("hb_test_params", "op0", {**GOOD, "data": 5})
    with pytest.raises(StructMismatch, match="hb_test_params.a is int32_t"):
        emitter.struct("hb_test_params", "op0", {**GOOD, "a": 1.5})
    with pytest.raises(StructMismatch, match="hb_pair"):
        emitter.struct("hb_test_params", "op0", {**GOOD, "pair": (1, 2, 3)})


@pytest.mark.parametrize("field,value,message", [
    ("small", 128, r"hb_test_params.small = 128 outside int8_t \[-128, 127\]"),
    ("a", 2**31, r"hb_test_params.a = 2147483648 outside int32_t"),
    ("bytes", (0, -1), r"hb_test_params.bytes\[1\] = -1 outside uint8_t"),
    ("arr", (1, 2), r"hb_test_params.arr = \(1, 2\) needs 3 values, got 2"),
    ("arr", (1, 2, 40000), r"arr\[2\] = 40000 outside int16_t"),
    ("pair", (1, 2**40), r"hb_test_params.pair.y = 1099511627776 outside int32_t"),
])
def test_emitter_refuses_values_that_do_not_fit(field, value, message):
    from hilbench.model.graph import Operator

    emitter = _emitter(HEADER)
    emitter.current = Operator(index=4, opcode="CONV_2D", inputs=[], outputs=[], options={})
    with pytest.raises(ModelError, match=message) as error:
        emitter.struct("hb_test_params", "op4", {**GOOD, field: value})
    assert "op 4 (CONV_2D)" in str(error.value)


def _operator_graphs():
    yield from cases.kernel_graphs()
    for name, spec in cases.MEAN_CASES.items():
        yield f"mean-{name}", cases.mean_model(spec)
    yield "data-movement-and-float-boundary", cases.chain_graph()
    yield "movement-family", cases_movement.family_model(cases_movement.MOVEMENT_CASES)
    yield "batch-matmul-family", cases_movement.family_model(cases_movement.MATMUL_CASES)
    yield "elementwise-edge-cases", cases_elementwise.all_cases_graph()
    for name, build in {**cases_int16.GRAPHS, **cases_int16.ORACLE_ONLY}.items():
        yield f"int16x8-{name}", build()
    yield "svdf-edge-cases", cases_state.svdf_edge_model()
    yield "lstm", cases_lstm.edge_case_graph()
    yield "lstm-int16x8", cases_lstm.edge_case_graph_s16()


OPERATOR_GRAPHS = dict(_operator_graphs())
EMITTERS = {name.removeprefix("_op_").removesuffix("_s16").upper() for name in dir(_Emitter)
            if name.startswith("_op_")}  # _op_<opcode>_s16: the int16x8 kernels' emitters


@pytest.fixture
def structs_seen(monkeypatch):
    """Which parameter structs generation emitted."""
    seen: set[str] = set()
    original = _Emitter.struct

    def spy(self, c_type, name, fields):
        seen.add(c_type)
        return original(self, c_type, name, fields)

    monkeypatch.setattr(_Emitter, "struct", spy)
    return seen


def test_every_emitter_and_parameter_struct_is_exercised(structs_seen, small_layers_specialize):
    """The operator graphs are small: the fixture lets their layers reach the variants'
    specialized kernels (and structs) all the same."""
    opcodes = {op.opcode for g in OPERATOR_GRAPHS.values() for op in g.operators}
    assert EMITTERS <= opcodes, f"no test model for {sorted(EMITTERS - opcodes)}"
    for graph in OPERATOR_GRAPHS.values():
        for variant in ("ref", *VARIANT_KERNELS):  # variants add specialized kernels' structs
            generate_model(graph, b"model", kernels=variant)
    declared = {n for n in c_model.kernel_structs() if n.endswith("_params")}
    assert declared == structs_seen, f"never emitted: {sorted(declared - structs_seen)}"


@pytest.mark.parametrize("name", OPERATOR_GRAPHS)
def test_operator_emitters_match_the_header(name):
    source = generate_model(OPERATOR_GRAPHS[name], b"model", name).source
    assert "static const hb_" in source or "hb_copy_s8" in source


@pytest.mark.parametrize("path", shared_models(), ids=lambda p: p.stem)
def test_shared_model_emitters_match_the_header(path):
    generate_model(load_model(path), path.read_bytes(), path.stem)
