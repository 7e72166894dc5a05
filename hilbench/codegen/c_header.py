"""A reader for the C declarations of our own firmware headers: `typedef struct {...} name;`
blocks, `#define NAME <integer>` and the constants of `enum {...}` blocks.

It understands the plain C99 the firmware headers are written in (one level of struct
nesting through typedef names, fixed-size arrays, pointers, `const`), and refuses anything
else with an error naming the declaration, so that a header construct it does not know
cannot be misread silently. It is not a C parser for arbitrary code.

The code generator checks every parameter struct it emits against these declarations
(c_model.py), and tests/test_contracts.py checks the protocol and plugin headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "int8_t": (-2**7, 2**7 - 1), "uint8_t": (0, 2**8 - 1),
    "int16_t": (-2**15, 2**15 - 1), "uint16_t": (0, 2**16 - 1),
    "int32_t": (-2**31, 2**31 - 1), "uint32_t": (0, 2**32 - 1),
    "int64_t": (-2**63, 2**63 - 1), "uint64_t": (0, 2**64 - 1),
}
FLOAT_TYPES = ("float", "double")


class HeaderParseError(ValueError):
    """A header construct this reader does not understand."""


@dataclass(frozen=True)
class CField:
    name: str
    c_type: str  # the base type without qualifiers or '*': "int32_t", "hb_dims", "float"
    pointer: bool = False
    length: int | None = None  # array length, None for a scalar

    def describe(self) -> str:
        star = "*" if self.pointer else ""
        size = f"[{self.length}]" if self.length is not None else ""
        return f"{self.c_type} {star}{self.name}{size}"


@dataclass(frozen=True)
class CStruct:
    name: str
    fields: tuple[CField, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> CField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class CHeader:
    structs: dict[str, CStruct]
    defines: dict[str, int]  # #define NAME <integer literal> (the first definition)
    enums: dict[str, int]  # every constant of every enum {...} block


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _c_int(literal: str) -> int:
    return int(literal.rstrip("uUlL"), 0)


_INT_LITERAL = r"(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*"
_DEFINE = re.compile(rf"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+\(?({_INT_LITERAL})\)?[ \t]*$", re.M)
_ENUM = re.compile(r"\benum\s*\w*\s*\{(.*?)\}", re.S)
_ENUM_ITEM = re.compile(r"^\s*(\w+)\s*(?:=\s*(.+?))?\s*$", re.S)
_STRUCT = re.compile(r"\btypedef\s+struct\s*\w*\s*\{(.*?)\}\s*(\w+)\s*;", re.S)
_FIRST = re.compile(r"^(?P<type>[A-Za-z_][\w\s]*?)\s*(?P<decl>\*?\s*\w+\s*(?:\[[^\]]*\])?)$")
_DECLARATOR = re.compile(r"^(?P<star>\*)?\s*(?P<name>[A-Za-z_]\w*)\s*(?:\[(?P<len>[^\]]*)\])?$")
_QUALIFIERS = {"const", "volatile"}


def parse_defines(text: str) -> dict[str, int]:
    defines: dict[str, int] = {}
    for name, value in _DEFINE.findall(strip_comments(text)):
        defines.setdefault(name, _c_int(value))
    return defines


def parse_enums(text: str) -> dict[str, int]:
    """Constants of every enum block, with C's implicit numbering."""
    constants: dict[str, int] = {}
    for body in _ENUM.findall(strip_comments(text)):
        following = 0
        for item in body.split(","):
            if not item.strip():
                continue
            match = _ENUM_ITEM.match(item)
            if match is None:
                raise HeaderParseError(f"cannot read enum item {item.strip()!r}")
            name, value = match.groups()
            if value is not None:
                value = value.strip()
                following = constants[value] if value in constants else _c_int(value)
            constants[name] = following
            following += 1
    return constants


def _array_length(expression: str, defines: dict[str, int], where: str) -> int:
    expression = expression.strip()
    if expression in defines:
        return defines[expression]
    if re.fullmatch(_INT_LITERAL, expression):
        return _c_int(expression)
    raise HeaderParseError(f"{where}: array length {expression!r} is neither an integer nor "
                           f"a #define of one")


def _parse_declaration(declaration: str, defines: dict[str, int], struct: str) -> list[CField]:
    where = f"struct {struct}, declaration {declaration!r}"
    parts = [p.strip() for p in declaration.split(",")]
    first = _FIRST.match(parts[0])
    if first is None or any(ch in declaration for ch in "(){}:"):
        raise HeaderParseError(f"{where}: not a plain field declaration")
    words = first["type"].split()
    base = [w for w in words if w not in _QUALIFIERS]
    if not base:
        raise HeaderParseError(f"{where}: no type")
    c_type = " ".join(base)
    fields = []
    for declarator in [first["decl"]] + parts[1:]:
        # a qualifier after '*' (a const pointer) does not change what the field holds
        declarator = re.sub(r"\*\s*(?:const|volatile)\s+", "*", declarator)
        match = _DECLARATOR.match(declarator)
        if match is None:
            raise HeaderParseError(f"{where}: cannot read declarator {declarator!r}")
        length = (_array_length(match["len"], defines, where)
                  if match["len"] is not None else None)
        fields.append(CField(match["name"], c_type, bool(match["star"]), length))
    return fields


def parse_structs(text: str, defines: dict[str, int] | None = None) -> dict[str, CStruct]:
    """Every `typedef struct {...} name;` block, in order, by typedef name."""
    code = strip_comments(text)
    defines = parse_defines(text) if defines is None else defines
    structs: dict[str, CStruct] = {}
    for body, name in _STRUCT.findall(code):
        if "{" in body:
            raise HeaderParseError(f"struct {name}: nested struct or union bodies are not "
                                   f"supported; declare a typedef and use its name")
        fields: list[CField] = []
        for declaration in body.split(";"):
            declaration = " ".join(declaration.split())
            if declaration:
                fields.extend(_parse_declaration(declaration, defines, name))
        names = [f.name for f in fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise HeaderParseError(f"struct {name}: fields declared twice: {duplicates}")
        structs[name] = CStruct(name, tuple(fields))
    return structs


def parse_header(text: str) -> CHeader:
    defines = parse_defines(text)
    return CHeader(parse_structs(text, defines), defines, parse_enums(text))


@lru_cache(maxsize=8)
def parse_header_cached(text: str) -> CHeader:
    return parse_header(text)
