"""Stage 5: targets that run firmware and expose a byte transport to it.

A target is started with an ELF and gives back a Transport; stopping it always releases
everything (processes, ports). QEMU is just another target, like a board behind pyOCD.
"""

from hilbench.targets.base import Target
from hilbench.targets.qemu import QemuTarget

__all__ = ["QemuTarget", "Target"]
