"""pyOCD in labgrid: a resource naming one debug probe by its unique ID, and a driver that
flashes, resets and reads the board through that probe, registered with labgrid's target
factory (upstream labgrid has no pyOCD driver).

The driver opens exactly the probe the resource names, never "the first probe found": with
several identical probes on an exporter host, the wrong board is never flashed. A probe that
is not attached is a ProbeError naming the unique ID; a failed programming is a FlashError
with pyOCD's own reason, never a timeout. For QEMU places the unique ID is the bridge's
"qemu:HOST:PORT" (hilbench/targets/pyocd_qemu_probe.py).
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.protocol import BootstrapProtocol, ResetProtocol
from labgrid.resource.common import Resource

from hilbench.errors import FlashError, ProbeError
from hilbench.targets.pyocd_target import PyocdSession

# pyOCD warns about the QEMU bridge's sparse ROM table on every connect; its errors reach
# the user as ProbeError/FlashError with pyOCD's reason instead
logging.getLogger("pyocd").setLevel(logging.ERROR)


_OPTIONAL_TEXT = attr.validators.optional(attr.validators.instance_of(str))


@target_factory.reg_resource
@attr.s(eq=False)
class HilbenchPyocdProbe(Resource):
    """A debug probe on an exporter host. `target_type` is pyOCD's target type (as `pyocd
    list --targets` names it); without it, the hilbench board's own."""

    unique_id: str = attr.ib(validator=attr.validators.instance_of(str))
    board: str | None = attr.ib(default=None, validator=_OPTIONAL_TEXT)  # hilbench's name
    target_type: str | None = attr.ib(default=None, validator=_OPTIONAL_TEXT)
    pack: str | None = attr.ib(default=None, validator=_OPTIONAL_TEXT)  # a CMSIS-Pack path


def _pyocd_session(unique_id: str, target: str, options: dict[str, Any]) -> Any:
    from pyocd.core.helpers import ConnectHelper

    if not ConnectHelper.get_all_connected_probes(blocking=False, unique_id=unique_id):
        raise ProbeError(f"debug probe {unique_id} is not attached to {socket.gethostname()}")
    try:
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False, unique_id=unique_id, target_override=target, options=options)
        if session is None:
            raise ProbeError(f"pyOCD could not open debug probe {unique_id}")
        session.open()
    except ProbeError:
        raise
    except Exception as exc:  # pyOCD raises many kinds; one line
        raise ProbeError(f"pyOCD could not connect through probe {unique_id}: "
                         f"{type(exc).__name__}: {exc}") from None
    return session


@target_factory.reg_driver
@attr.s(eq=False)
class HilbenchPyocdDriver(Driver, BootstrapProtocol, ResetProtocol):
    """Flash (load), reset and memory through pyOCD, on the probe the resource names."""

    bindings = {"probe": "HilbenchPyocdProbe"}
    target_type: str | None = attr.ib(default=None)  # overrides the resource's
    options: dict = attr.ib(factory=dict)  # pyOCD session options

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # the session holder hilbench's own pyOCD driver uses: closing it never raises
        self._pyocd = PyocdSession()

    @property
    def session(self) -> Any:
        return self._pyocd.session

    def on_deactivate(self) -> None:
        self.close()

    @Driver.check_active
    def connect(self) -> None:
        """Open the probe the resource names (a ProbeError naming it, if it is not there)."""
        probe: HilbenchPyocdProbe = self.probe  # type: ignore[attr-defined]
        target = self.target_type or probe.target_type
        if target is None:
            raise ProbeError(f"no pyOCD target type for probe {probe.unique_id}: set "
                             f"`target_type` in its HilbenchPyocdProbe resource")
        options = {"hide_programming_progress": True, **self.options}
        if probe.pack:
            options["pack"] = probe.pack
        self.close()
        self._pyocd.session = _pyocd_session(probe.unique_id, target, options)

    @Driver.check_active
    def load(self, filename: str) -> None:
        """Program the ELF through the probe and reset into it."""
        from pyocd.flash.file_programmer import FileProgrammer

        probe: HilbenchPyocdProbe = self.probe  # type: ignore[attr-defined]
        if self.session is None:
            self.connect()
        try:
            FileProgrammer(self.session).program(str(Path(filename)))
        except Exception as exc:
            raise FlashError(f"flashing {Path(filename).name} through probe "
                             f"{probe.unique_id} failed: pyOCD: {type(exc).__name__}: "
                             f"{exc}") from None
        self.reset()

    @Driver.check_active
    def reset(self) -> None:
        try:
            self._pyocd.reset()
        except ProbeError:
            raise
        except Exception as exc:
            probe: HilbenchPyocdProbe = self.probe  # type: ignore[attr-defined]
            raise ProbeError(f"pyOCD could not reset through probe {probe.unique_id}: "
                             f"{exc}") from None

    @property
    def core(self) -> Any:
        """pyOCD's target object, for memory access; None before load()."""
        return None if self.session is None else self.session.target

    def close(self) -> None:
        self._pyocd.close()
