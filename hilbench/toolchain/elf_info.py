"""What the host needs to know from a firmware ELF (pyelftools): its sizes and the
addresses of the symbols that targets and tools use.

flash = text + rodata + data (the initial values of .data are stored in flash);
static RAM = data + bss. The stack region is reported apart; its use is measured on the
target by stack painting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile


@dataclass(frozen=True)
class ElfSizes:
    text: int
    rodata: int
    data: int
    bss: int
    stack: int

    @property
    def flash(self) -> int:
        return self.text + self.rodata + self.data

    @property
    def static_ram(self) -> int:
        return self.data + self.bss


def elf_sizes(path: Path) -> ElfSizes:
    sizes = {"text": 0, "rodata": 0, "data": 0, "bss": 0, "stack": 0}
    with open(path, "rb") as f:
        for section in ELFFile(f).iter_sections():
            flags = section["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC:
                continue
            name, size = section.name, section["sh_size"]
            if name == ".stack":
                sizes["stack"] += size
            elif section["sh_type"] == "SHT_NOBITS":
                sizes["bss"] += size
            elif flags & SH_FLAGS.SHF_EXECINSTR:
                sizes["text"] += size
            elif flags & SH_FLAGS.SHF_WRITE:
                sizes["data"] += size
            else:
                sizes["rodata"] += size
    return ElfSizes(**sizes)


def elf_symbols(path: Path, names: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Address and size of each named symbol that the ELF has (others are left out).
    Function addresses lose their Thumb bit: callers want where the code is."""
    found = {}
    with open(path, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        for name in names:
            symbols = table.get_symbol_by_name(name) if table is not None else None
            if symbols:
                symbol = symbols[0]
                address = symbol["st_value"]
                if symbol["st_info"]["type"] == "STT_FUNC":
                    address &= ~1
                found[name] = (address, symbol["st_size"])
    return found


def load_image(path: Path) -> list[tuple[int, bytes]]:
    """What a programmer writes: each loadable segment's bytes at its load (physical)
    address, where .data's initial values sit in flash."""
    with open(path, "rb") as f:
        return [(segment["p_paddr"], segment.data()[:segment["p_filesz"]])
                for segment in ELFFile(f).iter_segments()
                if segment["p_type"] == "PT_LOAD" and segment["p_filesz"] > 0]
