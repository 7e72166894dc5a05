"""Load a .tflite flatbuffer into a hilbench Graph.

Only the first subgraph is read (MCU models have one). Options of the operators hilbench
knows are decoded into plain dicts; other operators load with empty options so that
`inspect` can still show them, and the reference refuses them by name and index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import flatbuffers
import tflite

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator, Quantization, Tensor
from hilbench.model.validate import check_tensor, short, validate_graph
from hilbench.model.tflite_schema import (
    ACTIVATIONS,
    BUILTIN_NAMES,
    FILE_IDENTIFIER,
    PADDINGS,
    TENSOR_DTYPES,
    TENSOR_TYPE_NAMES,
)


def load_tflite(path: str | Path) -> Graph:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from None
    return parse_tflite(data, name=str(path))


def parse_tflite(data: bytes, name: str = "<bytes>") -> Graph:
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise ModelError(f"{name} is not a TFLite flatbuffer (no 'TFL3' identifier)")
    try:
        return _Reader(data).graph()
    except ModelError as exc:
        raise ModelError(f"{name}: {exc}") from None
    except Exception as exc:  # corrupt offsets surface as arbitrary decode errors
        raise ModelError(f"{name} is a malformed TFLite flatbuffer "
                         f"({type(exc).__name__}: {short(str(exc), 120)})") from None


def _options_table(op: Any, cls: type) -> Any:
    table = op.BuiltinOptions()
    if table is None:
        return None
    options = cls()
    options.Init(table.Bytes, table.Pos)
    return options


def _conv_options(o: Any) -> dict[str, Any]:
    return {
        "padding": PADDINGS.get(o.Padding(), str(o.Padding())),
        "stride_h": o.StrideH(), "stride_w": o.StrideW(),
        "dilation_h": o.DilationHFactor(), "dilation_w": o.DilationWFactor(),
        "activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?"),
    }


def _depthwise_options(o: Any) -> dict[str, Any]:
    return {**_conv_options(o), "depth_multiplier": o.DepthMultiplier()}


def _pool_options(o: Any) -> dict[str, Any]:
    return {
        "padding": PADDINGS.get(o.Padding(), str(o.Padding())),
        "stride_h": o.StrideH(), "stride_w": o.StrideW(),
        "filter_h": o.FilterHeight(), "filter_w": o.FilterWidth(),
        "activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?"),
    }


def _activation_only(o: Any) -> dict[str, Any]:
    return {"activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?")}


def _fc_options(o: Any) -> dict[str, Any]:
    return {
        "activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?"),
        "weights_format": o.WeightsFormat(),
        "keep_num_dims": bool(o.KeepNumDims()),
    }


def _concat_options(o: Any) -> dict[str, Any]:
    return {"axis": o.Axis(), "activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?")}


def _strided_slice_options(o: Any) -> dict[str, Any]:
    return {"begin_mask": o.BeginMask(), "end_mask": o.EndMask(),
            "ellipsis_mask": o.EllipsisMask(), "new_axis_mask": o.NewAxisMask(),
            "shrink_axis_mask": o.ShrinkAxisMask(), "offset": bool(o.Offset())}


_STRIDED_SLICE_DEFAULTS = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0,
                           "new_axis_mask": 0, "shrink_axis_mask": 0, "offset": False}


def _resize_options(o: Any) -> dict[str, Any]:
    return {"align_corners": bool(o.AlignCorners()),
            "half_pixel_centers": bool(o.HalfPixelCenters())}


def _svdf_options(o: Any) -> dict[str, Any]:
    return {"rank": o.Rank(), "activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?"),
            "asymmetric_quantize_inputs": bool(o.AsymmetricQuantizeInputs())}


def _lstm_options(o: Any) -> dict[str, Any]:
    # "cell_activation", not "activation": the cell gate's TANH is no fused activation
    return {
        "cell_activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?"),
        "cell_clip": float(o.CellClip()), "proj_clip": float(o.ProjClip()),
        "time_major": bool(o.TimeMajor()),
        "asymmetric_quantize_inputs": bool(o.AsymmetricQuantizeInputs()),
        "diagonal_recurrent_tensors": bool(o.DiagonalRecurrentTensors()),
    }


_OPTION_DECODERS: dict[str, tuple[type, Callable[[Any], dict[str, Any]], dict[str, Any]]] = {
    # opcode: (options class, decoder, defaults when the options table is absent)
    "CONV_2D": (tflite.Conv2DOptions, _conv_options, {}),
    "DEPTHWISE_CONV_2D": (tflite.DepthwiseConv2DOptions, _depthwise_options, {}),
    "FULLY_CONNECTED": (tflite.FullyConnectedOptions, _fc_options,
                        {"activation": "NONE", "weights_format": 0, "keep_num_dims": False}),
    "AVERAGE_POOL_2D": (tflite.Pool2DOptions, _pool_options, {}),
    "MAX_POOL_2D": (tflite.Pool2DOptions, _pool_options, {}),
    "ADD": (tflite.AddOptions, _activation_only, {"activation": "NONE"}),
    "MUL": (tflite.MulOptions, _activation_only, {"activation": "NONE"}),
    "SOFTMAX": (tflite.SoftmaxOptions, lambda o: {"beta": float(o.Beta())}, {"beta": 1.0}),
    "CONCATENATION": (tflite.ConcatenationOptions, _concat_options,
                      {"axis": 0, "activation": "NONE"}),
    "MEAN": (tflite.ReducerOptions, lambda o: {"keep_dims": bool(o.KeepDims())},
             {"keep_dims": False}),
    "STRIDED_SLICE": (tflite.StridedSliceOptions, _strided_slice_options,
                      _STRIDED_SLICE_DEFAULTS),
    "SPLIT": (tflite.SplitOptions, lambda o: {"num_splits": o.NumSplits()}, {"num_splits": 0}),
    "SPLIT_V": (tflite.SplitVOptions, lambda o: {"num_splits": o.NumSplits()},
                {"num_splits": 0}),
    "PACK": (tflite.PackOptions, lambda o: {"values_count": o.ValuesCount(), "axis": o.Axis()},
             {"values_count": 0, "axis": 0}),
    "UNPACK": (tflite.UnpackOptions, lambda o: {"num": o.Num(), "axis": o.Axis()},
               {"num": 0, "axis": 0}),
    "SQUEEZE": (tflite.SqueezeOptions,
                lambda o: {"squeeze_dims": [int(d) for d in _ints(o.SqueezeDimsAsNumpy())]},
                {"squeeze_dims": []}),
    "GATHER": (tflite.GatherOptions, lambda o: {"axis": o.Axis(), "batch_dims": o.BatchDims()},
               {"axis": 0, "batch_dims": 0}),
    "BATCH_MATMUL": (tflite.BatchMatMulOptions,
                     lambda o: {"adj_x": bool(o.AdjX()), "adj_y": bool(o.AdjY()),
                                "asymmetric_quantize_inputs":
                                    bool(o.AsymmetricQuantizeInputs())},
                     {"adj_x": False, "adj_y": False, "asymmetric_quantize_inputs": False}),
    "SUB": (tflite.SubOptions, _activation_only, {"activation": "NONE"}),
    "MAXIMUM": (tflite.MaximumMinimumOptions, lambda o: {}, {}),
    "MINIMUM": (tflite.MaximumMinimumOptions, lambda o: {}, {}),
    # an absent table reads as the schema defaults (alpha 0.0, both flags false), as in TFLM
    "LEAKY_RELU": (tflite.LeakyReluOptions, lambda o: {"alpha": float(o.Alpha())},
                   {"alpha": 0.0}),
    "RESIZE_NEAREST_NEIGHBOR": (tflite.ResizeNearestNeighborOptions, _resize_options,
                                {"align_corners": False, "half_pixel_centers": False}),
    "TRANSPOSE_CONV": (tflite.TransposeConvOptions, lambda o: {
        "padding": PADDINGS.get(o.Padding(), str(o.Padding())), "stride_h": o.StrideH(),
        "stride_w": o.StrideW(),
        "activation": ACTIVATIONS.get(o.FusedActivationFunction(), "?")}, {}),
    "SVDF": (tflite.SVDFOptions, _svdf_options,
             {"rank": 0, "activation": "NONE", "asymmetric_quantize_inputs": False}),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (tflite.UnidirectionalSequenceLSTMOptions, _lstm_options,
                                     {"cell_activation": "NONE", "cell_clip": 0.0,
                                      "proj_clip": 0.0, "time_major": False,
                                      "asymmetric_quantize_inputs": False,
                                      "diagonal_recurrent_tensors": False}),
}


_OPTION_TYPE_NAMES: dict[int, str] = {
    v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.model = tflite.Model.GetRootAsModel(data, 0)

    def graph(self) -> Graph:
        model = self.model
        if model.SubgraphsLength() < 1:
            raise ModelError("model has no subgraph")
        _verify_bounds(model)
        sg = model.Subgraphs(0)
        tensors = [self._tensor(sg.Tensors(i), i) for i in range(sg.TensorsLength())]
        opcodes = [self._opcode_name(model.OperatorCodes(i))
                   for i in range(model.OperatorCodesLength())]
        operators = []
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            code_index = op.OpcodeIndex()
            if not 0 <= code_index < len(opcodes):
                raise ModelError(f"op {i} refers to operator code {code_index}, "
                                 f"model has {len(opcodes)}")
            name = opcodes[code_index]
            inputs = [int(x) for x in _ints(op.InputsAsNumpy())]
            outputs = [int(x) for x in _ints(op.OutputsAsNumpy())]
            for t in inputs + outputs:
                if not -1 <= t < len(tensors):
                    raise ModelError(f"op {i} ({name}) refers to tensor {t}, "
                                     f"model has {len(tensors)}")
            operators.append(Operator(i, name, inputs, outputs, self._options(op, name, i)))
        graph_inputs = [int(x) for x in _ints(sg.InputsAsNumpy())]
        graph_outputs = [int(x) for x in _ints(sg.OutputsAsNumpy())]
        for t in graph_inputs + graph_outputs:
            if not 0 <= t < len(tensors):
                raise ModelError(f"graph input/output refers to tensor {t}, "
                                 f"model has {len(tensors)}")
        description = (model.Description() or b"").decode("utf-8", "replace")
        graph = Graph(tensors, operators, graph_inputs, graph_outputs, description)
        validate_graph(graph)
        return graph

    @staticmethod
    def _opcode_name(code: Any) -> str:
        # TFLM's GetBuiltinCode: the larger of the int32 builtin_code and the int8
        # deprecated_builtin_code. The `tflite` package's BuiltinCode() returns the
        # deprecated field whenever builtin_code is below 127, hiding e.g. a SOFTMAX
        # builtin_code behind a FULLY_CONNECTED deprecated one: read the field itself.
        field = code._tab.Offset(10)
        builtin = code._tab.Get(flatbuffers.number_types.Int32Flags,
                                field + code._tab.Pos) if field else 0
        builtin = max(builtin, code.DeprecatedBuiltinCode())
        if builtin == tflite.BuiltinOperator.CUSTOM:
            custom = (code.CustomCode() or b"?").decode("utf-8", "replace")
            return f"CUSTOM:{custom}"
        return BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")

    @staticmethod
    def _options(op: Any, name: str, index: int) -> dict[str, Any]:
        decoder = _OPTION_DECODERS.get(name)
        if decoder is None:
            return {}
        cls, decode, defaults = decoder
        expected = getattr(tflite.BuiltinOptions, cls.__name__)
        found = op.BuiltinOptionsType()
        if found not in (tflite.BuiltinOptions.NONE, expected):
            # the union's table would be read with the wrong layout (TFLM refuses these)
            raise ModelError(f"op {index} {name} has options of type "
                             f"{_OPTION_TYPE_NAMES.get(found, found)}, expected {cls.__name__}")
        table = _options_table(op, cls)
        return dict(defaults) if table is None else decode(table)

    def _tensor(self, t: Any, index: int) -> Tensor:
        name = (t.Name() or b"").decode("utf-8", "replace")
        type_code = t.Type()
        if type_code not in TENSOR_DTYPES:
            type_name = TENSOR_TYPE_NAMES.get(type_code, str(type_code))
            raise ModelError(f"tensor {index} {short(name)} has unsupported type {short(type_name)}")
        dtype = TENSOR_DTYPES[type_code]
        shape = tuple(int(d) for d in _ints(t.ShapeAsNumpy()))
        if any(d < 0 for d in shape):
            raise ModelError(f"tensor {index} {short(name)} has a dynamic or negative shape "
                             f"{short(list(shape))}")
        tensor = Tensor(index, name, shape, dtype, self._quantization(t),
                        is_variable=bool(t.IsVariable()))
        check_tensor(tensor)  # sizes bounded before the data is copied or reshaped
        tensor.data = self._data(t, dtype, shape, name)
        return tensor

    @staticmethod
    def _quantization(t: Any) -> Quantization | None:
        q = t.Quantization()
        if q is None or q.ScaleLength() == 0:
            return None
        scale = np.asarray(q.ScaleAsNumpy(), dtype=np.float32).reshape(-1)
        zero_point = np.asarray(_ints(q.ZeroPointAsNumpy()), dtype=np.int64).reshape(-1)
        if zero_point.size == 0:
            # TFLM's allocator quantizes a tensor only when it has both scales and zero
            # points; read as quantized with zero points 0, an FC bias passed TFLM's
            # bias-scale check here while TFLM saw scale 0 and refused the model
            return None
        if zero_point.size == 1 and scale.size > 1:
            zero_point = np.repeat(zero_point, scale.size)
        if zero_point.size != scale.size:
            raise ModelError(f"{scale.size} scales but {zero_point.size} zero points")
        return Quantization(scale, zero_point, int(q.QuantizedDimension()))

    def _data(self, t: Any, dtype: np.dtype, shape: tuple[int, ...], name: str) -> np.ndarray | None:
        buffer_index = t.Buffer()
        if buffer_index == 0:
            return None
        if buffer_index >= self.model.BuffersLength():
            raise ModelError(f"tensor {short(name)} refers to buffer {buffer_index}, "
                             f"model has {self.model.BuffersLength()}")
        buffer = self.model.Buffers(buffer_index)
        if buffer.Offset() > 1:  # large models keep data after the flatbuffer
            raw = self.data[buffer.Offset(): buffer.Offset() + buffer.Size()]
        elif buffer.DataLength() > 0:
            raw = buffer.DataAsNumpy().tobytes()
        else:
            return None
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if len(raw) != expected:
            raise ModelError(f"tensor {short(name)}: buffer holds {len(raw)} bytes, "
                             f"shape {short(list(shape))} needs {expected}")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


_SKIP = ("Init", "GetRootAs", "BufferHasIdentifier")
_MAX_TABLES = 1 << 20  # tables visited before the model counts as malformed


def _verify_bounds(model: Any) -> None:
    """The part of TFLM's flatbuffer verifier that matters here: every field a runtime may
    read lies inside the file, including those hilbench itself never uses (min/max,
    custom codes, versions, metadata, other subgraphs). Every accessor of every table is
    called once; one that points outside the bytes raises, and the caller turns that into
    one line. Visited tables are remembered, so hostile offsets cannot make it loop."""
    seen: set[tuple[str, int]] = set()
    stack = [model]
    while stack:
        table = stack.pop()
        key = (type(table).__name__, table._tab.Pos)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > _MAX_TABLES:
            raise ModelError("model has too many tables")
        _check_table_start(table)
        stack.extend(_fields(table))


def _check_table_start(table: Any) -> None:
    """The flatbuffers verifier's table checks, which TFLM's C++ runtime relies on (it
    aborts the process on a misaligned vtable): the table 4-aligned, its vtable 2-aligned
    and inside the file with an even size. Python's reader does not care, so one flipped
    bit in an soffset used to read options from a shifted vtable."""
    tab = table._tab
    data = tab.Bytes
    if tab.Pos % 4 or not 0 <= tab.Pos <= len(data) - 4:
        raise ModelError(f"malformed TFLite flatbuffer: {type(table).__name__} table at "
                         f"offset {tab.Pos} is misaligned or outside the file")
    vtable = tab.Pos - int.from_bytes(data[tab.Pos:tab.Pos + 4], "little", signed=True)
    size = (int.from_bytes(data[vtable:vtable + 2], "little")
            if 0 <= vtable <= len(data) - 4 else -1)
    if vtable % 2 or size < 4 or size % 2 or vtable + size > len(data):
        raise ModelError(f"malformed TFLite flatbuffer: {type(table).__name__} table at "
                         f"offset {tab.Pos} has its vtable at {vtable} (size {size})")


def _fields(table: Any) -> list[Any]:
    """Read every field of one table; return its sub-tables."""
    children = []
    cls = type(table)
    names = [n for n in dir(cls) if n[:1].isupper() and not any(n.startswith(p) or n.endswith(p)
                                                               for p in _SKIP)]
    for name in names:
        if name.endswith(("Length", "IsNone", "AsNumpy")):
            continue
        method = getattr(table, name)
        if f"{name}Length" in names:  # a vector: as one array, or element by element
            if f"{name}AsNumpy" in names:
                getattr(table, f"{name}AsNumpy")()
                continue
            children += [x for x in (method(j) for j in range(getattr(table, f"{name}Length")()))
                         if hasattr(x, "_tab")]
            continue
        if method.__func__.__code__.co_argcount > 1:  # needs arguments this walk cannot give
            continue
        # no try: flatbuffers reports a negative offset as a TypeError ("bad number -16 for
        # type uint32"), which TFLM's Python runtime also meets and refuses the model on
        value = method()
        if name == "BuiltinOptions" and value is not None:
            kind = _OPTION_TYPE_NAMES.get(getattr(table, f"{name}Type")())
            options_cls = getattr(tflite, kind, None) if kind and kind != "NONE" else None
            if options_cls is not None:
                options = options_cls()
                options.Init(value.Bytes, value.Pos)
                children.append(options)
        elif hasattr(value, "_tab"):
            children.append(value)
    return children


def _ints(value: Any) -> np.ndarray:
    """flatbuffers returns the int 0 for an absent vector."""
    if isinstance(value, int):
        return np.zeros(0, np.int64)
    return np.asarray(value)
