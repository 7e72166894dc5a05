"""Finding drivers by name: hilbench's own, and any package's through entry points.

A package adds a target driver by declaring, in its pyproject.toml,

    [project.entry-points."hilbench.targets"]
    my-emulator = "my_package.driver:MyEmulatorDriver"      # a TargetDriver subclass

and a link in the group "hilbench.links" (a LinkDriver subclass). A board file then lists
the driver by name in `drivers`. Nothing else in hilbench names a kind of target or link.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from hilbench.drivers.target import LinkDriver, TargetDriver
from hilbench.errors import ConfigError

if TYPE_CHECKING:
    from hilbench.board import Board

TARGET_GROUP = "hilbench.targets"
LINK_GROUP = "hilbench.links"
_BUILTIN = {
    TARGET_GROUP: {"qemu": "hilbench.targets.qemu:QemuDriver",
                   "pyocd": "hilbench.targets.pyocd_target:PyocdDriver",
                   "pyocd-qemu": "hilbench.targets.pyocd_target:PyocdQemuDriver",
                   "labgrid": "hilbench.farm.target:LabgridDriver"},
    LINK_GROUP: {"serial": "hilbench.transport.links:SerialLink",
                 "probe": "hilbench.transport.links:RamLink"},
}


def available(group: str) -> dict[str, str]:
    """Registry name -> "module:attribute", built-ins first; read afresh on every call, so
    that a package installed while hilbench runs (or a test) is seen."""
    found = dict(_BUILTIN[group])
    for entry in entry_points(group=group):
        found.setdefault(entry.name, entry.value)
    return found


def _load(group: str, name: str, base: type, what: str) -> type:
    known = available(group)
    if name not in known:
        raise ConfigError(f"unknown {what} {name!r}; known: {', '.join(sorted(known))}")
    module_name, _, attribute = known[name].partition(":")
    try:
        loaded = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{what} {name!r} ({known[name]}) cannot be loaded: {exc}") from None
    if not (isinstance(loaded, type) and issubclass(loaded, base)):
        raise ConfigError(f"{what} {name!r} ({known[name]}) is not a {base.__name__}")
    return loaded


def target_driver(name: str) -> type[TargetDriver]:
    return _load(TARGET_GROUP, name, TargetDriver, "target driver")


def link_driver(name: str) -> LinkDriver:
    return _load(LINK_GROUP, name, LinkDriver, "link")()


def driver_for(board: Board, via: str | None = None) -> type[TargetDriver]:
    """The board's first driver, or the one of its drivers that `via` names (by registry
    name, or by the driver's `via`, e.g. "pyocd")."""
    drivers = [target_driver(name) for name in board.drivers]
    if via is None:
        return drivers[0]
    for driver in drivers:
        if via in (driver.name, driver.via):
            return driver
    ways = ", ".join(f"{d.via} ({d.name})" for d in drivers)
    raise ConfigError(f"board {board.name} cannot be reached via {via!r}; it can via {ways}")
