"""Stage 2 of the pipeline: the NumPy host reference, bit-exact with TFLM."""

from hilbench.reference.executor import Reference, ReferenceResult, prepare
from hilbench.reference.kernels import SUPPORTED_OPS

__all__ = ["Reference", "ReferenceResult", "SUPPORTED_OPS", "prepare"]
