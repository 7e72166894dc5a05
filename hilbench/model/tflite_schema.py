"""Names and numbers of the TFLite schema that both the reader and the writer need."""

from __future__ import annotations

import numpy as np
import tflite

FILE_IDENTIFIER = b"TFL3"

BUILTIN_NAMES: dict[int, str] = {
    v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")
}
BUILTIN_CODES: dict[str, int] = {name: code for code, name in BUILTIN_NAMES.items()}

# TensorType enum value -> numpy dtype, for the types a quantized MCU model carries.
TENSOR_DTYPES: dict[int, np.dtype] = {
    tflite.TensorType.FLOAT32: np.dtype(np.float32),
    tflite.TensorType.FLOAT16: np.dtype(np.float16),
    tflite.TensorType.INT32: np.dtype(np.int32),
    tflite.TensorType.UINT8: np.dtype(np.uint8),
    tflite.TensorType.INT64: np.dtype(np.int64),
    tflite.TensorType.BOOL: np.dtype(np.bool_),
    tflite.TensorType.INT16: np.dtype(np.int16),
    tflite.TensorType.INT8: np.dtype(np.int8),
    tflite.TensorType.FLOAT64: np.dtype(np.float64),
}
TENSOR_TYPES: dict[np.dtype, int] = {dt: code for code, dt in TENSOR_DTYPES.items()}
TENSOR_TYPE_NAMES: dict[int, str] = {
    v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")
}

ACTIVATIONS: dict[int, str] = {
    tflite.ActivationFunctionType.NONE: "NONE",
    tflite.ActivationFunctionType.RELU: "RELU",
    tflite.ActivationFunctionType.RELU_N1_TO_1: "RELU_N1_TO_1",
    tflite.ActivationFunctionType.RELU6: "RELU6",
    tflite.ActivationFunctionType.TANH: "TANH",
    tflite.ActivationFunctionType.SIGN_BIT: "SIGN_BIT",
}
ACTIVATION_CODES: dict[str, int] = {name: code for code, name in ACTIVATIONS.items()}

PADDINGS: dict[int, str] = {tflite.Padding.SAME: "SAME", tflite.Padding.VALID: "VALID"}
PADDING_CODES: dict[str, int] = {name: code for code, name in PADDINGS.items()}
