"""Float models in, int8 .tflite models out: post-training static quantization.

So far: ONNX MLPs (Gemm/MatMul + bias, ReLU, ReLU6, HardTanh via Clip, Flatten/Reshape),
as touch controllers run them. Convolutions, pooling, BatchNorm folding and QDQ models are
the next steps; anything else is refused by name.
"""
