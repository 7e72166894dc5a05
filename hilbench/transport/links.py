"""The two links hilbench's firmware can answer on, as link drivers: the board's UART, and
RAM ring buffers that a debugger reads and writes (SEGGER-RTT style)."""

from __future__ import annotations

from pathlib import Path

from hilbench.drivers.capabilities import MemoryAccess, SerialPort
from hilbench.drivers.target import LinkDriver, TargetDriver
from hilbench.protocol.frames import MAX_DATA
from hilbench.transport.base import Transport


class SerialLink(LinkDriver):
    name = "serial"
    firmware_source = "link_uart.c"
    max_data = MAX_DATA
    ram_bytes = 0
    requires = SerialPort

    def open(self, target: TargetDriver, elf: Path) -> Transport:
        return target.require(SerialPort, "for the serial link").open_serial()


class RamLink(LinkDriver):
    name = "probe"
    firmware_source = "link_probe.c"
    max_data = 2048
    ram_bytes = 8192 + 3 * 1536  # ring buffers, and frame buffers for 2 KiB frames
    requires = MemoryAccess

    def open(self, target: TargetDriver, elf: Path) -> Transport:
        from hilbench.transport.probe_link import ProbeTransport, control_block_address

        memory = target.require(MemoryAccess, "for the debug-probe RAM link")
        return ProbeTransport(memory, control_block_address(elf))
