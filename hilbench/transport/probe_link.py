"""The protocol's bytes through RAM ring buffers in the target (firmware/dut/link_probe.c),
read and written by a debug connection instead of a UART.

Any target that offers MemoryAccess works: QEMU's GDB stub (which halts the core around each
access) or pyOCD's memory access (which needs no halt on real boards)."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from hilbench.drivers.capabilities import MemoryAccess
from hilbench.toolchain.elf_info import elf_symbols
from hilbench.errors import TransportError

MAGIC = b"HILBENCH-LINK-1\x00"
HEADER = struct.Struct("<16sIIIIII")  # magic, up_size, down_size, up_w, up_r, down_w, down_r
RING_LIMIT = 1 << 20  # bytes a ring may claim: the target's RAM is not to be trusted blindly
WRITE_TIMEOUT = 10.0  # seconds a write may wait for the firmware to drain its ring


def control_block_address(elf: Path) -> int:
    found = elf_symbols(elf, ("hb_link_block",))
    if not found:
        raise TransportError(f"{elf.name} was not built for the probe transport "
                             f"(no hb_link_block)")
    return found["hb_link_block"][0]


class ProbeTransport:
    def __init__(self, memory: MemoryAccess, address: int, timeout: float = 10.0) -> None:
        self.memory = memory
        self.address = address
        self.up = address + HEADER.size
        deadline = time.monotonic() + timeout
        while True:  # the firmware writes the magic during start-up
            with memory.paused():
                header = memory.read_memory(address, HEADER.size)
            magic, up_size, down_size, *_ = HEADER.unpack(header)
            if magic == MAGIC:
                break
            if time.monotonic() > deadline:
                raise TransportError("no hilbench link block in target RAM (magic not found)")
            time.sleep(0.01)
        if not (2 <= up_size <= RING_LIMIT and 2 <= down_size <= RING_LIMIT):
            raise TransportError(f"the link block claims rings of {up_size} and {down_size} "
                                 f"bytes; expected 2..{RING_LIMIT}")
        self.up_size, self.down_size = up_size, down_size
        self.down = self.up + up_size

    def _indices(self) -> tuple[int, int, int, int]:
        up_write, up_read, down_write, down_read = struct.unpack(
            "<IIII", self.memory.read_memory(self.address + 24, 16))
        if up_write >= self.up_size or up_read >= self.up_size or \
                down_write >= self.down_size or down_read >= self.down_size:
            raise TransportError(f"the link block's ring indices are out of range "
                                 f"({up_write}, {up_read}, {down_write}, {down_read})")
        return up_write, up_read, down_write, down_read

    def write(self, data: bytes) -> None:
        data = bytes(data)
        deadline = time.monotonic() + WRITE_TIMEOUT
        while data:
            if time.monotonic() > deadline:
                raise TransportError(f"the target did not take {len(data)} bytes from its "
                                     f"link ring within {WRITE_TIMEOUT:g} s")
            with self.memory.paused():
                _, _, down_write, down_read = self._indices()
                free = (down_read - down_write - 1) % self.down_size
                part = data[:free]
                if part:
                    first = min(len(part), self.down_size - down_write)
                    self.memory.write_memory(self.down + down_write, part[:first])
                    if len(part) > first:
                        self.memory.write_memory(self.down, part[first:])
                    self.memory.write_memory(
                        self.address + 32,
                        struct.pack("<I", (down_write + len(part)) % self.down_size))
                    data = data[len(part):]
            if not part:
                time.sleep(0.001)  # the ring is full: let the target run

    def read(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        pause = 0.0001
        while True:
            with self.memory.paused():
                up_write, up_read, _, _ = self._indices()
                if up_write != up_read:
                    if up_write > up_read:
                        data = self.memory.read_memory(self.up + up_read, up_write - up_read)
                    else:
                        data = (self.memory.read_memory(self.up + up_read,
                                                        self.up_size - up_read)
                                + self.memory.read_memory(self.up, up_write))
                    self.memory.write_memory(self.address + 28, struct.pack("<I", up_write))
                    return data
            if time.monotonic() >= deadline:
                return b""
            time.sleep(pause)  # let the target run; back off while it computes
            pause = min(pause * 2, 0.005)

    def close(self) -> None:
        pass  # the memory access belongs to the target driver, which closes it
