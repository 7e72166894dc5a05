"""Standing QEMU machines attached as debug probes, for pyOCD's probe plugin
(pyocd_qemu_probe.py) to find as a hub of probes with unique IDs.

Each machine starts halted with no image, its UART and GDB stub on loopback, and writes an
entry (unique ID, GDB stub, UART as a pyserial URL, pyOCD target type, QEMU's pid) into the
probe folder: $HILBENCH_QEMU_PROBES, else <build cache>/qemu-probes. An entry whose QEMU has
died is ignored. This module does not import pyOCD (pyOCD imports the plugin, which imports
this), so the CLI can attach machines without loading pyOCD.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from hilbench.board import Board
from hilbench.errors import ConfigError
from hilbench.paths import build_dir
from hilbench.targets.qemu import QemuProcess

REGISTRY_VARIABLE = "HILBENCH_QEMU_PROBES"


def registry_dir() -> Path:
    override = os.environ.get(REGISTRY_VARIABLE)
    return Path(override) if override else build_dir() / "qemu-probes"


@dataclass(frozen=True)
class AttachedQemuProbe:
    """A standing QEMU machine's entry in the probe folder."""
    unique_id: str
    gdb: str  # its GDB stub, "HOST:PORT"
    serial: str  # its UART, as a pyserial URL
    target: str  # the pyOCD target type
    pid: int


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def attached_qemu_probes() -> list[AttachedQemuProbe]:
    """Every live entry of the probe folder (entries of machines that died are ignored)."""
    found = []
    folder = registry_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            entry = AttachedQemuProbe(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue  # being written, or not ours
        if _alive(entry.pid):
            found.append(entry)
    return found


class AttachedQemu:
    """A QEMU machine standing in for a board on a probe: started halted with no image,
    its UART and GDB stub on loopback, and an entry in the probe folder until stopped.
    pyOCD then finds it as a probe with `unique_id`, programs it and runs it; its UART is
    the probe's serial port. A context manager."""

    def __init__(self, board: Board, unique_id: str, workdir: Path) -> None:
        if board.probe is None:
            raise ConfigError(f"board {board.name} names no pyOCD target ([probe] target)")
        if not unique_id or "/" in unique_id or ":" in unique_id:
            raise ConfigError(f"bad unique ID {unique_id!r}: no '/' or ':'")
        self.board = board
        self.unique_id = unique_id
        self.process = QemuProcess(board, workdir / f"qemu-{unique_id}.log")
        self.entry_path = registry_dir() / f"{unique_id}.json"
        self.entry: AttachedQemuProbe | None = None

    def start(self) -> AttachedQemuProbe:
        assert self.board.probe is not None
        if any(e.unique_id.lower() == self.unique_id.lower() for e in attached_qemu_probes()):
            raise ConfigError(f"a probe with unique ID {self.unique_id} is already attached")
        try:
            self.process.launch(None, uart=True, gdb=True, halted=True)
            # QEMU waits for a first UART client before it runs; later ones connect at will
            self.process.connect_uart().close()
        except BaseException:
            self.process.stop()
            raise
        assert self.process.process is not None
        entry = AttachedQemuProbe(self.unique_id, f"127.0.0.1:{self.process.gdb_port}",
                                  f"socket://127.0.0.1:{self.process.uart_port}",
                                  self.board.probe.target, self.process.process.pid)
        self.entry_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.entry_path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(entry)))
        partial.replace(self.entry_path)  # readers never see half an entry
        self.entry = entry
        return entry

    def wait(self) -> None:
        """Until QEMU exits (or the wait is interrupted)."""
        assert self.process.process is not None
        self.process.process.wait()

    def stop(self) -> None:
        self.entry_path.unlink(missing_ok=True)
        self.process.stop()

    def __enter__(self) -> AttachedQemu:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
