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
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Kernel(lstm.prepare_lstm, lstm.lstm, lstm.DATA_INPUTS),
}

SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(KERNELS))
