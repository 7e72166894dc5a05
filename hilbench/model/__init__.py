"""Stage 1 of the pipeline: model files in, hilbench Graph out."""

from __future__ import annotations

from pathlib import Path

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator, Quantization, Tensor
from hilbench.model.tflite_reader import load_tflite, parse_tflite

__all__ = ["Graph", "Operator", "Quantization", "Tensor", "load_model", "load_tflite",
           "parse_tflite"]


def load_model(path: str | Path) -> Graph:
    """Load any model format hilbench reads (today: .tflite)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelError(f"model path is a directory: {path}")
    return load_tflite(path)
