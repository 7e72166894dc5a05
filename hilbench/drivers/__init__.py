"""Drivers and what they can do: small capability protocols (capabilities.py), the base of
every target driver (target.py), and the registry that finds target and link drivers by
name, including third-party ones through entry points (registry.py).

A run never asks what kind of target it has; it asks for capabilities. A missing one is a
clear error, or a figure reported as missing with the reason.
"""

from hilbench.drivers.capabilities import (
    CycleCounter,
    InstructionCounter,
    Loader,
    MemoryAccess,
    Reset,
    SerialPort,
)
from hilbench.drivers.registry import link_driver, target_driver
from hilbench.drivers.target import LinkDriver, TargetDriver, TargetOptions

__all__ = ["CycleCounter", "InstructionCounter", "LinkDriver", "Loader", "MemoryAccess",
           "Reset", "SerialPort", "TargetDriver", "TargetOptions", "link_driver",
           "target_driver"]
