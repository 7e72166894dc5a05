"""A pyOCD debug probe whose wire is QEMU's GDB stub, so that pyOCD's own session, target,
loader and memory code run against the emulator in CI.

pyOCD talks to probes in ADIv5 terms (DP and AP registers) and, for probes that can,
through an accelerated memory interface. This probe answers DP/AP discovery itself and
gives pyOCD a memory interface that goes to the GDB stub. QEMU 7.2 accepts debugger writes
to the System Control Space but ignores them, and has no ROM table, so the debug registers
pyOCD drives (DHCSR, DCRSR, DCRDR, DEMCR, AIRCR, DFSR) and a Cortex-M ROM table with its
components' ID registers are emulated here: halting becomes a GDB interrupt, running a
continue, register transfers become 'p'/'P', and a system reset request becomes QEMU's
system_reset monitor command. Memory is accessed with the CPU halted, as QEMU requires.

A QEMU machine is a probe in two ways. One run's own machine (the pyocd-qemu driver) is
asked for explicitly as "qemu:HOST:PORT": pyOCD hands "HOST:PORT" to this plugin (named
"qemu"). Standing machines (qemu_probes.py, `hilbench qemu-probe`) are attached like USB
probes: the plugin lists every live entry of the probe folder with its unique ID, so several
emulated boards look like several probes on a hub.

Two test hooks stand in for faults of real hardware: HILBENCH_QEMU_PROBE_CONNECT_FAILURES=N
makes the first N connects of each probe fail (as probes do right after power-up), and
HILBENCH_QEMU_PROBE_BAD_CELL=ADDRESS makes the byte there read back with bit 0 flipped (a
flash cell that did not take its value).
"""

from __future__ import annotations

import os
import struct
from typing import Any, Callable, Sequence

from pyocd.core import exceptions
from pyocd.core.plugin import Plugin
from pyocd.probe.debug_probe import DebugProbe

from hilbench.targets.qemu_probes import AttachedQemuProbe, attached_qemu_probes
from hilbench.transport.gdb_memory import GdbMemory

CONNECT_FAILURES_VARIABLE = "HILBENCH_QEMU_PROBE_CONNECT_FAILURES"
BAD_CELL_VARIABLE = "HILBENCH_QEMU_PROBE_BAD_CELL"
_failed_connects: dict[str, int] = {}  # per unique ID, for the connect-failure hook

ROM_TABLE = 0xE00FF000
SCS, DWT, FPB = 0xE000E000, 0xE0001000, 0xE0002000
AIRCR, DFSR = 0xE000ED0C, 0xE000ED30
DHCSR, DCRSR, DCRDR, DEMCR = 0xE000EDF0, 0xE000EDF4, 0xE000EDF8, 0xE000EDFC
DBGKEY, VECTKEY = 0xA05F, 0x05FA
GDB_XPSR = 25  # register number of xPSR in QEMU's M-profile target description

# CoreSight identification: (PIDR0..4, CIDR1) per component; CIDR0/2/3 are fixed.
_IDS = {ROM_TABLE: ((0xC4, 0xB4, 0x0B, 0x00, 0x04), 0x10),  # Cortex-M ROM table, class 1
        SCS: ((0x0C, 0xB0, 0x0B, 0x00, 0x04), 0xE0),        # Armv7-M SCS
        DWT: ((0x02, 0xB0, 0x3B, 0x00, 0x04), 0xE0),
        FPB: ((0x03, 0xB0, 0x2B, 0x00, 0x04), 0xE0)}


def _rom_entry(component: int) -> int:
    return ((component - ROM_TABLE) & 0xFFFFF000) | 0x3  # 32-bit format, present


class _Core:
    """The emulated debug state of the one core, over the GDB connection."""

    def __init__(self, gdb: GdbMemory) -> None:
        self.gdb = gdb
        self.dcrdr = 0
        self.demcr = 0
        self.halted_by_debugger = True  # QEMU starts with -S and stops on connection
        self.reset_seen = False
        self.dfsr = 0x1  # HALTED: stopped by the debugger
        self.breakpoints: set[int] = set()  # hardware breakpoints standing in for BKPTs
        bad_cell = os.environ.get(BAD_CELL_VARIABLE)
        self.bad_cell = int(bad_cell, 0) if bad_cell else None

    # -- emulated registers ------------------------------------------------------------
    def read_word(self, address: int) -> int | None:
        if ROM_TABLE <= address < ROM_TABLE + 0x1000:
            offset = address - ROM_TABLE
            entries = [_rom_entry(SCS), _rom_entry(DWT), _rom_entry(FPB), 0]
            if offset < 4 * len(entries):
                return entries[offset // 4]
            if offset == 0xFCC:
                return 1  # MEMTYPE: system memory present
        for base in _IDS:
            identity = self._identity(base, address)
            if identity is not None:
                return identity
        if address == DHCSR:
            if not self.halted_by_debugger and self.gdb.poll_stop():
                self.halted_by_debugger = True  # it reached a planted breakpoint
                self.dfsr = 0x2  # BKPT
            halted = self.halted_by_debugger
            value = 0x1 | (0x2 if halted else 0) | (1 << 16) | ((1 << 17) if halted else 0)
            if self.reset_seen:
                value |= 1 << 25  # S_RESET_ST, sticky until read
                self.reset_seen = False
            return value
        if address == DCRDR:
            return self.dcrdr
        if address == DEMCR:
            return self.demcr
        if address == DFSR:
            return self.dfsr if self.halted_by_debugger else 0
        if address == DCRSR:
            return 0
        return None

    @staticmethod
    def _identity(base: int, address: int) -> int | None:
        ids = _IDS[base]
        offset = address - (base + 0xFD0) if base != ROM_TABLE else address - 0xE00FFFD0
        if not 0 <= offset < 0x30:
            return None
        index = offset // 4  # PIDR4..7 at 0xFD0.., PIDR0..3 at 0xFE0.., CIDR0..3 at 0xFF0..
        pidr, cidr1 = ids
        table = [pidr[4], 0, 0, 0, pidr[0], pidr[1], pidr[2], pidr[3], 0x0D, cidr1, 0x05, 0xB1]
        return table[index]

    def write_word(self, address: int, value: int) -> bool:
        if address == DHCSR:
            if value >> 16 == DBGKEY:
                if value & 0x2:
                    self.halt()
                elif not value & 0x4:
                    self.run()
            return True
        if address == DCRSR:
            register = value & 0x7F
            if value & (1 << 16):
                self._write_register(register, self.dcrdr)
            else:
                self.dcrdr = self._read_register(register)
            return True
        if address == DCRDR:
            self.dcrdr = value
            return True
        if address == DEMCR:
            self.demcr = value
            return True
        if address == AIRCR and value >> 16 == VECTKEY and value & 0x5:
            self.system_reset()
            return True
        if address == DFSR:
            self.dfsr &= ~value  # write-one-to-clear
            return True
        return False

    # -- core control --------------------------------------------------------------------
    def halt(self) -> None:
        self.gdb.halt()
        self.halted_by_debugger = True
        self.dfsr = 0x1

    def run(self) -> None:
        self._catch_return_to_bkpt()
        self.halted_by_debugger = False
        self.gdb.resume()

    def _catch_return_to_bkpt(self) -> None:
        """A real core with halting debug enabled stops at a BKPT; QEMU raises a HardFault
        instead (and locks up when no handler is there yet). pyOCD calls code on the target,
        flash algorithms above all, with LR pointing at a BKPT: plant a hardware breakpoint
        there, so that the call ends halted, as on silicon."""
        with self.gdb.stopped():
            lr = self.gdb.read_register(14) & ~1
            if lr in self.breakpoints or not 0x20000000 <= lr < 0x40000000:
                return  # only code loaded into RAM by the debugger is checked
            if self.gdb.read(lr, 2)[1] == 0xBE:  # Thumb BKPT #imm8: 0xBExx
                self.gdb.set_hardware_breakpoint(lr)
                self.breakpoints.add(lr)

    def system_reset(self) -> None:
        self.gdb.halt()
        for address in self.breakpoints:  # the firmware may reuse that RAM
            self.gdb.set_hardware_breakpoint(address, on=False)
        self.breakpoints.clear()
        self.gdb.monitor("system_reset")
        self.reset_seen = True
        if self.demcr & 0x1:  # VC_CORERESET: stay halted at the reset vector
            self.halted_by_debugger = True
        else:
            self.run()

    def _gdb_register(self, register: int) -> int | None:
        if register <= 15:
            return register
        if register == 16:
            return GDB_XPSR
        if register in (17, 18):  # MSP, PSP: QEMU exposes only the current SP
            return 13
        return None

    def _read_register(self, register: int) -> int:
        number = self._gdb_register(register)
        if number is None:
            return 0
        with self.gdb.stopped():
            return self.gdb.read_register(number)

    def _write_register(self, register: int, value: int) -> None:
        number = self._gdb_register(register)
        if number is not None:
            with self.gdb.stopped():
                self.gdb.write_register(number, value)

    # -- memory --------------------------------------------------------------------------
    def read(self, address: int, length: int) -> bytes:
        if 0xE0000000 <= address < 0xE0100000:  # system space: word by word, emulated first
            out = bytearray()
            for word in range(address & ~3, address + length, 4):
                value = self.read_word(word)
                if value is None:
                    with self.gdb.stopped():
                        value = struct.unpack("<I", self.gdb.read(word, 4))[0]
                out += struct.pack("<I", value)
            start = address & 3
            return bytes(out[start: start + length])
        with self.gdb.stopped():
            data = self.gdb.read(address, length)
        if self.bad_cell is not None and address <= self.bad_cell < address + length:
            flipped = bytearray(data)
            flipped[self.bad_cell - address] ^= 0x01
            data = bytes(flipped)
        return data

    def write(self, address: int, data: bytes) -> None:
        if 0xE0000000 <= address < 0xE0100000 and len(data) == 4 and not address & 3:
            if self.write_word(address, struct.unpack("<I", data)[0]):
                return
        with self.gdb.stopped():
            self.gdb.write(address, data)


class QemuMemoryInterface:
    """pyOCD's MemoryInterface for the one MEM-AP (duck-typed: pyOCD only calls these)."""

    def __init__(self, core: _Core) -> None:
        self.core = core

    def read_memory(self, addr: int, transfer_size: int = 32, now: bool = True,
                    **attrs: Any) -> int | Callable[[], int]:
        size = transfer_size // 8
        value = int.from_bytes(self.core.read(addr & 0xFFFFFFFF, size), "little")
        return value if now else (lambda: value)

    def write_memory(self, addr: int, data: int, transfer_size: int = 32, **attrs: Any) -> None:
        size = transfer_size // 8
        self.core.write(addr & 0xFFFFFFFF, int(data).to_bytes(size, "little"))

    def read_memory_block32(self, addr: int, size: int, **attrs: Any) -> Sequence[int]:
        return list(struct.unpack(f"<{size}I", self.core.read(addr, 4 * size)))

    def write_memory_block32(self, addr: int, data: Sequence[int], **attrs: Any) -> None:
        self.core.write(addr, struct.pack(f"<{len(data)}I", *data))

    def read_memory_block8(self, addr: int, size: int, **attrs: Any) -> Sequence[int]:
        return list(self.core.read(addr, size))

    def write_memory_block8(self, addr: int, data: Sequence[int], **attrs: Any) -> None:
        self.core.write(addr, bytes(data))


class QemuGdbProbe(DebugProbe):
    DPIDR = 0x2BA01477  # an SW-DP, as on Cortex-M3/M4 parts
    AHB_AP_IDR = 0x24770011

    @classmethod
    def get_all_connected_probes(cls, unique_id: str | None = None,
                                 is_explicit: bool = False) -> list[DebugProbe]:
        if is_explicit and unique_id and ":" in unique_id:
            return [cls(unique_id)]
        return [cls.attached(entry) for entry in attached_qemu_probes()]

    @classmethod
    def get_probe_with_id(cls, unique_id: str, is_explicit: bool = False) -> DebugProbe | None:
        if is_explicit and ":" in unique_id:
            return cls(unique_id)
        for entry in attached_qemu_probes():
            if entry.unique_id.lower() == unique_id.lower():
                return cls.attached(entry)
        return None

    @classmethod
    def attached(cls, entry: AttachedQemuProbe) -> QemuGdbProbe:
        return cls(entry.gdb, unique_id=entry.unique_id, serial_port=entry.serial,
                   target_type=entry.target)

    def __init__(self, address: str, unique_id: str | None = None, serial_port: str = "",
                 target_type: str = "") -> None:
        """`address` is the GDB stub's "HOST:PORT" (also the unique ID, unless given)."""
        super().__init__()
        self._host, port = address.rsplit(":", 1)
        self._port = int(port)
        self._unique_id = unique_id or address
        self.serial_port = serial_port  # the QEMU machine's UART, as a pyserial URL
        self.target_type = target_type
        self._gdb: GdbMemory | None = None
        self._core: _Core | None = None
        self._dp: dict[int, int] = {}
        self._csw = 0x03000052  # 32-bit, auto-increment, DeviceEn, HPROT
        self._tar = 0
        self._protocol: DebugProbe.Protocol | None = None

    vendor_name = property(lambda self: "QEMU")
    product_name = property(lambda self: "GDB stub bridge (hilbench)")
    supported_wire_protocols = property(lambda self: [DebugProbe.Protocol.DEFAULT,
                                                      DebugProbe.Protocol.SWD])
    unique_id = property(lambda self: self._unique_id)
    wire_protocol = property(lambda self: self._protocol)
    is_open = property(lambda self: self._gdb is not None)
    capabilities = property(lambda self: {DebugProbe.Capability.MANAGED_AP_SELECTION,
                                          DebugProbe.Capability.MANAGED_DPBANKSEL})

    def open(self) -> None:
        self._gdb = GdbMemory(self._host, self._port)
        self._gdb.unlock_registers()
        self._core = _Core(self._gdb)

    def close(self) -> None:
        if self._gdb is not None:
            self._gdb.close()
        self._gdb = None

    def connect(self, protocol: Any = None) -> None:
        failures = int(os.environ.get(CONNECT_FAILURES_VARIABLE) or 0)
        if _failed_connects.get(self._unique_id, 0) < failures:
            _failed_connects[self._unique_id] = _failed_connects.get(self._unique_id, 0) + 1
            raise exceptions.TransferError(f"no ACK from the target ({CONNECT_FAILURES_VARIABLE})")
        self._protocol = DebugProbe.Protocol.SWD

    def disconnect(self) -> None:
        self._protocol = None

    def set_clock(self, frequency: float) -> None:
        pass

    def reset(self) -> None:
        assert self._core is not None
        self._core.system_reset()

    def assert_reset(self, asserted: bool) -> None:
        if not asserted:
            self.reset()

    def is_reset_asserted(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    # -- ADIv5 registers ------------------------------------------------------------------
    def read_dp(self, addr: int, now: bool = True) -> Any:
        if addr & 0xF == 0x0:
            value = self.DPIDR
        elif addr & 0xF == 0x4:  # CTRL/STAT: acknowledge power-up requests
            request = self._dp.get(0x4, 0)
            value = request | ((request & (1 << 30)) << 1) | ((request & (1 << 28)) << 1)
        else:
            value = self._dp.get(addr & 0xF, 0)
        return value if now else (lambda: value)

    def write_dp(self, addr: int, data: int) -> None:
        self._dp[addr & 0xF] = data

    def read_ap(self, addr: int, now: bool = True) -> Any:
        apsel, register = (addr >> 24) & 0xFF, addr & 0xFC
        value = 0
        if apsel == 0:
            value = {0xFC: self.AHB_AP_IDR, 0x00: self._csw, 0x04: self._tar,
                     0xF8: ROM_TABLE | 0x3, 0xF4: 0}.get(register, 0)
            if register == 0x0C:
                assert self._core is not None
                value = struct.unpack("<I", self._core.read(self._tar, 4))[0]
        return value if now else (lambda: value)

    def write_ap(self, addr: int, data: int) -> None:
        apsel, register = (addr >> 24) & 0xFF, addr & 0xFC
        if apsel != 0:
            return
        if register == 0x00:
            self._csw = data
        elif register == 0x04:
            self._tar = data
        elif register == 0x0C:
            assert self._core is not None
            self._core.write(self._tar, struct.pack("<I", data))

    def read_ap_multiple(self, addr: int, count: int = 1, now: bool = True) -> Any:
        values = [self.read_ap(addr) for _ in range(count)]
        return values if now else (lambda: values)

    def write_ap_multiple(self, addr: int, values: Sequence[int]) -> None:
        for value in values:
            self.write_ap(addr, value)

    def get_memory_interface_for_ap(self, ap_address: Any) -> Any:
        assert self._core is not None
        return QemuMemoryInterface(self._core)


class QemuGdbProbePlugin(Plugin):
    """Registered under the `pyocd.probe` entry point as `qemu`."""

    def load(self) -> type:
        return QemuGdbProbe

    @property
    def name(self) -> str:
        return "qemu"

    @property
    def description(self) -> str:
        return "QEMU GDB stub as a debug probe (hilbench)"
