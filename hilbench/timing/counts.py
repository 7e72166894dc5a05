"""Exact instruction counts of inferences, per layer and per instruction class, as an
instruction counter (hilbench.drivers.InstructionCounter) reports them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerCount:
    instructions: int
    classes: dict[str, int]


@dataclass(frozen=True)
class InferenceCount:
    total: int  # every instruction between the start and end markers
    overhead: int  # the profiling hooks themselves
    layers: list[LayerCount]
