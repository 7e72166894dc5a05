"""The operator table of the host reference: TFLite builtin name -> (prepare, run).

`prepare` is TFLM's Prepare step: it validates the operator and precomputes every
quantization parameter on the host (the firmware code generator reuses these records).
`run` evaluates a batch: arrays carry a leading vector axis in front of the tensor shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from hilbench.model.graph import Graph, Operator
from hilbench.reference.kernels import activations, conv, elementwise, pooling, quantize, reduce, shape
from hilbench.reference.kernels import matmul, movement
from hilbench.reference.kernels import pointwise, resize
from hilbench.reference.kernels import svdf
from hilbench.reference.kernels import lstm


@dataclass(frozen=True)
class Kernel:
    prepare: Callable[[Graph, Operator], Any]
    run: Callable[[Any, list[np.ndarray]], np.ndarray]
    data_inputs: tuple[int, ...] | None = (0,)  # op input positions that carry data; None: all


KERNELS: dict[str, Kernel] = {
    "CONV_2D": Kernel(conv.prepare_conv2d, conv.conv2d),
    "DEPTHWISE_CONV_2D": Kernel(conv.prepare_depthwise_conv2d, conv.depthwise_conv2d),
    "FULLY_CONNECTED": Kernel(conv.prepare_fully_connected, conv.fully_connected),
    "AVERAGE_POOL_2D": Kernel(pooling.prepare_pool, pooling.average_pool2d),
    "MAX_POOL_2D": Kernel(pooling.prepare_pool, pooling.max_pool2d),
    "ADD": Kernel(elementwise.prepare_add, elementwise.add, (0, 1)),
    "MUL": Kernel(elementwise.prepare_mul, elementwise.mul, (0, 1)),
    "RESHAPE": Kernel(shape.prepare_reshape, shape.reshape),
    "PAD": Kernel(shape.prepare_pad, shape.pad),
    "PADV2": Kernel(shape.prepare_pad, shape.pad),
    "CONCATENATION": Kernel(shape.prepare_concatenation, shape.concatenation, None),
    "MEAN": Kernel(reduce.prepare_mean, reduce.mean),
    "SOFTMAX": Kernel(activations.prepare_softmax, activations.softmax),
    "LOGISTIC": Kernel(activations.prepare_logistic, activations.logistic),
    "TANH": Kernel(activations.prepare_tanh, activations.tanh),
    "HARD_SWISH": Kernel(activations.prepare_hard_swish, activations.hard_swish),
    "RELU": Kernel(activations.prepare_relu, activations.relu),
    "RELU6": Kernel(activations.prepare_relu6, activations.relu6),
    "QUANTIZE": Kernel(quantize.prepare_quantize, quantize.quantize),
    "DEQUANTIZE": Kernel(quantize.prepare_dequantize, quantize.dequantize),
    "TRANSPOSE": Kernel(movement.prepare_transpose, movement.walk),
    "STRIDED_SLICE": Kernel(movement.prepare_strided_slice, movement.walk),
    "SPLIT": Kernel(movement.prepare_split, movement.split, (1,)),
    "SPLIT_V": Kernel(movement.prepare_split_v, movement.split),
    "PACK": Kernel(movement.prepare_pack, movement.pack, None),
    "UNPACK": Kernel(movement.prepare_unpack, movement.unpack),
    "SQUEEZE": Kernel(movement.prepare_squeeze, movement.squeeze),
    "GATHER": Kernel(movement.prepare_gather, movement.gather, (0, 1)),
    "BATCH_MATMUL": Kernel(matmul.prepare_batch_matmul, matmul.batch_matmul, (0, 1)),
    "SUB": Kernel(elementwise.prepare_sub, elementwise.sub, (0, 1)),
    "MAXIMUM": Kernel(pointwise.prepare_minmax, pointwise.maximum, (0, 1)),
    "MINIMUM": Kernel(pointwise.prepare_minmax, pointwise.minimum, (0, 1)),
    "LEAKY_RELU": Kernel(pointwise.prepare_leaky_relu, pointwise.leaky_relu),
    "PRELU": Kernel(pointwise.prepare_prelu, pointwise.prelu, (0, 1)),
    "RESIZE_NEAREST_NEIGHBOR": Kernel(resize.prepare_resize_nearest, resize.resize_nearest),
    "SVDF": Kernel(svdf.prepare_svdf, svdf.svdf, (0, 4)),  # 4: the state, updated in place
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Kernel(lstm.prepare_lstm, lstm.lstm, lstm.DATA_INPUTS),
}

# int16 activations with int8 weights (int16x8): the same opcodes, picked per op by type
from hilbench.reference.kernels import int16  # noqa: E402  (needs Kernel above)

for _opcode, (_prepare, _run) in int16.WIDE_KERNELS.items():
    KERNELS[_opcode] = int16.widened(KERNELS[_opcode], _prepare, _run)

from hilbench.reference.kernels import transpose_conv  # noqa: E402

KERNELS["TRANSPOSE_CONV"] = Kernel(transpose_conv.prepare_transpose_conv,
                                   transpose_conv.transpose_conv, (transpose_conv.DATA_INPUT,))

SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(KERNELS))
