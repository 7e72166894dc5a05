"""Write a hilbench Graph as a .tflite flatbuffer that TFLM and hilbench's reader load.

Small on purpose: one subgraph, builtin operators, affine quantization. The test suite
builds its edge-case models with it, and the quantizer writes its output with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import flatbuffers
import numpy as np
import tflite

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Tensor
from hilbench.model.tflite_schema import (
    ACTIVATION_CODES,
    BUILTIN_CODES,
    FILE_IDENTIFIER,
    PADDING_CODES,
    TENSOR_TYPES,
)

SCHEMA_VERSION = 3

def _activation(name: str) -> int:
    return ACTIVATION_CODES[name]


def _padding(name: str) -> int:
    return PADDING_CODES[name]


_int: Callable[[Any], int] = int

_CONV_FIELDS = [("Padding", "padding", _padding), ("StrideW", "stride_w", _int),
                ("StrideH", "stride_h", _int), ("FusedActivationFunction", "activation", _activation),
                ("DilationWFactor", "dilation_w", _int), ("DilationHFactor", "dilation_h", _int)]

# opcode -> (options table name, [(schema field, option key, encoder)])
_OPTION_TABLES: dict[str, tuple[str, list[tuple[str, str, Callable[[Any], Any]]]]] = {
    "CONV_2D": ("Conv2DOptions", _CONV_FIELDS),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions",
                          _CONV_FIELDS + [("DepthMultiplier", "depth_multiplier", _int)]),
    "FULLY_CONNECTED": ("FullyConnectedOptions",
                        [("FusedActivationFunction", "activation", _activation),
                         ("WeightsFormat", "weights_format", _int),
                         ("KeepNumDims", "keep_num_dims", bool)]),
    "AVERAGE_POOL_2D": ("Pool2DOptions", [
        ("Padding", "padding", _padding), ("StrideW", "stride_w", _int),
        ("StrideH", "stride_h", _int), ("FilterWidth", "filter_w", _int),
        ("FilterHeight", "filter_h", _int),
        ("FusedActivationFunction", "activation", _activation)]),
    "ADD": ("AddOptions", [("FusedActivationFunction", "activation", _activation)]),
    "MUL": ("MulOptions", [("FusedActivationFunction", "activation", _activation)]),
    "SOFTMAX": ("SoftmaxOptions", [("Beta", "beta", float)]),
    "CONCATENATION": ("ConcatenationOptions",
                      [("Axis", "axis", _int),
                       ("FusedActivationFunction", "activation", _activation)]),
    "MEAN": ("ReducerOptions", [("KeepDims", "keep_dims", bool)]),
    "SUB": ("SubOptions", [("FusedActivationFunction", "activation", _activation)]),
    "MAXIMUM": ("MaximumMinimumOptions", []),
    "MINIMUM": ("MaximumMinimumOptions", []),
    "LEAKY_RELU": ("LeakyReluOptions", [("Alpha", "alpha", float)]),
    "RESIZE_NEAREST_NEIGHBOR": ("ResizeNearestNeighborOptions",
                                [("AlignCorners", "align_corners", bool),
                                 ("HalfPixelCenters", "half_pixel_centers", bool)]),
    "TRANSPOSE_CONV": ("TransposeConvOptions", [
        ("Padding", "padding", _padding), ("StrideW", "stride_w", _int),
        ("StrideH", "stride_h", _int),
        ("FusedActivationFunction", "activation", _activation)]),
    "SVDF": ("SVDFOptions", [("Rank", "rank", _int),
                             ("FusedActivationFunction", "activation", _activation),
                             ("AsymmetricQuantizeInputs", "asymmetric_quantize_inputs", bool)]),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ("UnidirectionalSequenceLSTMOptions", [
        ("FusedActivationFunction", "cell_activation", _activation),
        ("CellClip", "cell_clip", float), ("ProjClip", "proj_clip", float),
        ("TimeMajor", "time_major", bool),
        ("AsymmetricQuantizeInputs", "asymmetric_quantize_inputs", bool),
        ("DiagonalRecurrentTensors", "diagonal_recurrent_tensors", bool)]),
}
_OPTION_TABLES["MAX_POOL_2D"] = _OPTION_TABLES["AVERAGE_POOL_2D"]


def _int32_vector(values: Sequence[int]) -> list[int]:
    """Marks a vector field: _options() builds it before the table starts."""
    return [int(v) for v in values]


_OPTION_TABLES.update({
    "STRIDED_SLICE": ("StridedSliceOptions", [
        ("BeginMask", "begin_mask", _int), ("EndMask", "end_mask", _int),
        ("EllipsisMask", "ellipsis_mask", _int), ("NewAxisMask", "new_axis_mask", _int),
        ("ShrinkAxisMask", "shrink_axis_mask", _int), ("Offset", "offset", bool)]),
    "SPLIT": ("SplitOptions", [("NumSplits", "num_splits", _int)]),
    "SPLIT_V": ("SplitVOptions", [("NumSplits", "num_splits", _int)]),
    "PACK": ("PackOptions", [("ValuesCount", "values_count", _int), ("Axis", "axis", _int)]),
    "UNPACK": ("UnpackOptions", [("Num", "num", _int), ("Axis", "axis", _int)]),
    "SQUEEZE": ("SqueezeOptions", [("SqueezeDims", "squeeze_dims", _int32_vector)]),
    "GATHER": ("GatherOptions", [("Axis", "axis", _int), ("BatchDims", "batch_dims", _int)]),
    "BATCH_MATMUL": ("BatchMatMulOptions", [
        ("AdjX", "adj_x", bool), ("AdjY", "adj_y", bool),
        ("AsymmetricQuantizeInputs", "asymmetric_quantize_inputs", bool)]),
})


def write_tflite(graph: Graph, path: str | Path | None = None) -> bytes:
    data = _Writer(graph).build()
    if path is not None:
        Path(path).write_bytes(data)
    return data


class _Writer:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.b = flatbuffers.Builder(1024)

    def _int_vector(self, start: Callable, values: Sequence[int] | np.ndarray,
                    width: int = 4) -> int:
        values = list(values)
        start(self.b, len(values))
        prepend = {4: self.b.PrependInt32, 8: self.b.PrependInt64}[width]
        for v in reversed(values):
            prepend(int(v))
        return self.b.EndVector()

    def build(self) -> bytes:
        b, graph = self.b, self.graph
        buffers, buffer_of = self._buffers()
        tensors = [self._tensor(t, buffer_of.get(t.index, 0)) for t in graph.tensors]
        opcodes = sorted({op.opcode for op in graph.operators})
        opcode_index = {name: i for i, name in enumerate(opcodes)}
        operators = [self._operator(op, opcode_index[op.opcode]) for op in graph.operators]
        codes = [self._opcode(name) for name in opcodes]

        name = b.CreateString("main")
        tensor_vec = self._offsets(tflite.SubGraphStartTensorsVector, tensors)
        inputs = self._int_vector(tflite.SubGraphStartInputsVector, graph.inputs)
        outputs = self._int_vector(tflite.SubGraphStartOutputsVector, graph.outputs)
        op_vec = self._offsets(tflite.SubGraphStartOperatorsVector, operators)
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensor_vec)
        tflite.SubGraphAddInputs(b, inputs)
        tflite.SubGraphAddOutputs(b, outputs)
        tflite.SubGraphAddOperators(b, op_vec)
        tflite.SubGraphAddName(b, name)
        subgraph = tflite.SubGraphEnd(b)

        description = b.CreateString(graph.description or "written by hilbench")
        codes_vec = self._offsets(tflite.ModelStartOperatorCodesVector, codes)
        subgraphs = self._offsets(tflite.ModelStartSubgraphsVector, [subgraph])
        buffer_vec = self._offsets(tflite.ModelStartBuffersVector, buffers)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, SCHEMA_VERSION)
        tflite.ModelAddOperatorCodes(b, codes_vec)
        tflite.ModelAddSubgraphs(b, subgraphs)
        tflite.ModelAddDescription(b, description)
        tflite.ModelAddBuffers(b, buffer_vec)
        model = tflite.ModelEnd(b)
        b.Finish(model, file_identifier=FILE_IDENTIFIER)
        return bytes(b.Output())

    def _offsets(self, start: Callable, offsets: list[int]) -> int:
        start(self.b, len(offsets))
        for offset in reversed(offsets):
            self.b.PrependUOffsetTRelative(offset)
        return self.b.EndVector()

    def _buffers(self) -> tuple[list[int], dict[int, int]]:
        b = self.b
        tflite.BufferStart(b)
        buffers = [tflite.BufferEnd(b)]  # buffer 0: the empty sentinel
        buffer_of = {}
        for t in self.graph.tensors:
            if t.data is None:
                continue
            raw = np.ascontiguousarray(t.data, dtype=t.dtype).tobytes()
            b.StartVector(1, len(raw), 16)  # 16-byte alignment keeps weights SIMD-friendly
            b.head = b.head - len(raw)
            b.Bytes[b.head: b.head + len(raw)] = raw
            data = b.EndVector()
            tflite.BufferStart(b)
            tflite.BufferAddData(b, data)
            buffer_of[t.index] = len(buffers)
            buffers.append(tflite.BufferEnd(b))
        return buffers, buffer_of

    def _tensor(self, t: Tensor, buffer: int) -> int:
        b = self.b
        if t.dtype not in TENSOR_TYPES:
            raise ModelError(f"cannot write tensor {t.name!r} of type {t.dtype}")
        name = b.CreateString(t.name)
        shape = self._int_vector(tflite.TensorStartShapeVector, t.shape)
        quantization = self._quantization(t)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
        tflite.TensorAddBuffer(b, buffer)
        tflite.TensorAddName(b, name)
        if t.is_variable:
            tflite.TensorAddIsVariable(b, True)
        if quantization is not None:
            tflite.TensorAddQuantization(b, quantization)
        if t.is_variable:  # only then: files without state stay byte for byte as before
            tflite.TensorAddIsVariable(b, True)
        return tflite.TensorEnd(b)

    def _quantization(self, t: Tensor) -> int | None:
        q = t.quantization
        if q is None:
            return None
        b = self.b
        tflite.QuantizationParametersStartScaleVector(b, q.scale.size)
        for s in reversed(q.scale.astype(np.float32)):
            b.PrependFloat32(float(s))
        scale = b.EndVector()
        zero_point = self._int_vector(tflite.QuantizationParametersStartZeroPointVector,
                                      q.zero_point, width=8)
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddZeroPoint(b, zero_point)
        tflite.QuantizationParametersAddQuantizedDimension(b, q.axis)
        return tflite.QuantizationParametersEnd(b)

    def _opcode(self, name: str) -> int:
        code = BUILTIN_CODES[name]
        tflite.OperatorCodeStart(self.b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(self.b, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(self.b, code)
        tflite.OperatorCodeAddVersion(self.b, 1)
        return tflite.OperatorCodeEnd(self.b)

    def _operator(self, op: Any, opcode_index: int) -> int:
        b = self.b
        options = self._options(op)
        inputs = self._int_vector(tflite.OperatorStartInputsVector, op.inputs)
        outputs = self._int_vector(tflite.OperatorStartOutputsVector, op.outputs)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, opcode_index)
        tflite.OperatorAddInputs(b, inputs)
        tflite.OperatorAddOutputs(b, outputs)
        if options is not None:
            table_name, offset = options
            tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, table_name))
            tflite.OperatorAddBuiltinOptions(b, offset)
        return tflite.OperatorEnd(b)

    def _options(self, op: Any) -> tuple[str, int] | None:
        spec = _OPTION_TABLES.get(op.opcode)
        if spec is None:
            return None
        table_name, fields = spec
        vectors = {}  # flatbuffers builds vectors before the table that refers to them
        for field, key, encode in fields:
            if encode is _int32_vector and key in op.options:
                vectors[key] = self._int_vector(
                    getattr(tflite, f"{table_name}Start{field}Vector"), encode(op.options[key]))
        getattr(tflite, f"{table_name}Start")(self.b)
        for field, key, encode in fields:
            if key in op.options:
                value = vectors[key] if key in vectors else encode(op.options[key])
                getattr(tflite, f"{table_name}Add{field}")(self.b, value)
        return table_name, getattr(tflite, f"{table_name}End")(self.b)
