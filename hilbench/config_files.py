"""Reading the user's configuration files (boards, budgets, baselines): any failure is a
ConfigError naming the file, never a parser traceback.

`parse_section` turns one TOML table into a frozen dataclass, checking every key against the
dataclass's typed fields, so that each file format is declared once, as its dataclasses.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from hilbench.errors import ConfigError

T = TypeVar("T")


def read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path} is a directory") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path} is a directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a {what} ({exc})") from None


def parse_section(cls: type[T], data: Any, where: str, prefix: str = "") -> T:
    """Build dataclass `cls` from a TOML table. Fields without a default are required;
    nested dataclasses are sub-tables. Errors name the file (`where`) and the dotted key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: '{prefix.rstrip('.') or 'file'}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)  # type: ignore[arg-type]
              if f.init and f.metadata.get("toml", True)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{prefix}{unknown[0]}'; known: "
                          f"{', '.join(prefix + name for name in fields)}")
    values = {}
    for name, field in fields.items():
        key = prefix + name
        if name not in data:
            required = (field.default is dataclasses.MISSING
                        and field.default_factory is dataclasses.MISSING)
            if required:
                raise ConfigError(f"{where}: missing '{key}'")
            continue
        values[name] = _convert(hints[name], data[name], where, key)
    return cls(**values)


def _convert(kind: Any, value: Any, where: str, key: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):  # Optional[X] (TOML has no null), or X | Y
        options = [a for a in args if a is not type(None)]
        for option in options[:-1]:
            try:
                return _convert(option, value, where, key)
            except ConfigError:
                pass
        return _convert(options[-1], value, where, key)
    if dataclasses.is_dataclass(kind):
        return parse_section(kind, value, where, f"{key}.")
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: '{key}' must be a list")
        return tuple(_convert(args[0], item, where, f"{key}[{i}]")
                     for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{key}' must be a table")
        if args[1] is str:  # e.g. preprocessor values, which may be written as numbers
            return {str(k): str(_convert(str | int, v, where, f"{key}.{k}"))
                    for k, v in value.items()}
        return {str(k): _convert(args[1], v, where, f"{key}.{k}") for k, v in value.items()}
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: '{key}' must be {_describe(kind)}")
    return value


def _describe(kind: Any) -> str:
    return {int: "an integer", str: "a string", bool: "true or false",
            float: "a number"}.get(kind, getattr(kind, "__name__", str(kind)))
