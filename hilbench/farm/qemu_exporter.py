"""An exporter host that serves QEMU boards as labgrid places, so that the whole farm path
(coordinator, exporter, ser2net, places, locks, pyOCD) runs with no hardware:

    python -m hilbench.farm.qemu_exporter --coordinator 127.0.0.1:20408 --name qemu-host-1 \\
        --place an386-1=qemu-mps2-an386 --place an386-2=qemu-mps2-an386 [--define-places]

Each place is one QEMU process, started halted with no image, like a board waiting for its
probe: its UART is bridged to a pseudo-terminal that labgrid's exporter serves through
ser2net (RFC 2217), exactly as it serves a real board's USB serial port, and its GDB stub
is published as a `HilbenchPyocdProbe` resource whose unique ID ("qemu:HOST:PORT") the
existing pyOCD bridge opens. labgrid starts ser2net listening on every interface; the shim
put first on the exporter's PATH binds it to --bind (loopback by default) and makes it die
with the exporter. Every child dies with this process, even when it is killed.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path

from hilbench.board import Board, load_board
from hilbench.errors import ConfigError, HilbenchError, TargetError
from hilbench.farm.client import FarmClient
from hilbench.targets.qemu import QemuProcess, _die_with_parent

READY_TIMEOUT = 30.0
_SER2NET_SHIM = """#!/bin/bash
# written by hilbench.farm.qemu_exporter: labgrid's ser2net, bound to {bind}, dying with its
# exporter (labgrid passes the accepter as "...,tcp,PORT")
exec setpriv --pdeathsig KILL {ser2net} "${{@//,tcp,/,tcp(nodelay),{bind},}}"
"""


@dataclass
class QemuPlace:
    """One emulated board: QEMU halted with its GDB stub, its UART bridged to a pty."""
    name: str
    board: Board
    qemu: QemuProcess
    uart: socket.socket
    master: int  # the pty's master side, bridged to QEMU's UART
    slave: int  # kept open: without a reader the master side reads EIO
    tty_path: str

    @classmethod
    def start(cls, name: str, board: Board, workdir: Path) -> QemuPlace:
        qemu = QemuProcess(board, workdir / f"{name}-qemu.log")
        qemu.launch(None, uart=True, gdb=True, halted=True)
        assert qemu.uart_port is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while True:  # QEMU opens its GDB stub only once its UART is connected
            try:
                uart = socket.create_connection(("127.0.0.1", qemu.uart_port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or qemu.process.poll() is not None:
                    qemu.stop()
                    raise TargetError(f"QEMU for place {name} did not open its UART: "
                                      f"{qemu.log_tail()}") from None
                time.sleep(0.05)
        uart.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        master, slave = os.openpty()
        tty.setraw(slave)
        return cls(name, board, qemu, uart, master, slave, os.ttyname(slave))

    @property
    def unique_id(self) -> str:
        return f"qemu:127.0.0.1:{self.qemu.gdb_port}"

    def pump(self) -> None:
        """Copy bytes both ways until either side closes."""
        self.uart.setblocking(True)
        while True:
            ready, _, _ = select.select([self.uart, self.master], [], [])
            try:
                if self.uart in ready:
                    data = self.uart.recv(4096)
                    if not data:
                        return
                    os.write(self.master, data)
                if self.master in ready:
                    self.uart.sendall(os.read(self.master, 4096))
            except OSError:
                return

    def stop(self) -> None:
        self.qemu.stop()
        for close in (self.uart.close, lambda: os.close(self.master),
                      lambda: os.close(self.slave)):
            try:
                close()
            except OSError:
                pass


def exporter_config(places: list[QemuPlace]) -> str:
    """The labgrid exporter's YAML: one group per place, named as the place."""
    lines = []
    for place in places:
        lines += [f"{place.name}:",
                  "  RawSerialPort:",
                  f"    port: {place.tty_path}",
                  f"    speed: {place.board.uart.baud}",
                  "  HilbenchPyocdProbe:",
                  f"    unique_id: '{place.unique_id}'",
                  f"    board: {place.board.name}"]
    return "\n".join(lines) + "\n"


def ser2net_shim(folder: Path, bind: str) -> Path:
    real = shutil.which("ser2net") or "/usr/sbin/ser2net"
    if not Path(real).exists():
        raise ConfigError("ser2net not found: install it (Debian: ser2net)")
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "ser2net"
    shim.write_text(_SER2NET_SHIM.format(bind=bind, ser2net=real))
    shim.chmod(0o755)
    return folder


def wait_ready(client: FarmClient, exporter: str, places: list[QemuPlace],
               process: subprocess.Popen) -> None:
    """Until the coordinator shows every resource of this exporter available."""
    deadline = time.monotonic() + READY_TIMEOUT
    wanted = {(p.name, cls) for p in places for cls in ("RawSerialPort", "HilbenchPyocdProbe")}
    while True:
        client.sync()
        groups = client.session.resources.get(exporter, {})
        ready = {(g, r) for g, group in groups.items() for r, e in group.items() if e.avail}
        if wanted <= ready:
            return
        if process.poll() is not None or time.monotonic() > deadline:
            raise TargetError(f"labgrid exporter {exporter} did not publish its places "
                              f"(status {process.poll()}); see its log")
        time.sleep(0.2)


def serve(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hilbench-exporter-"))
    workdir.mkdir(parents=True, exist_ok=True)
    specs = []
    for spec in args.place:
        name, _, board = spec.partition("=")
        if not name or not board:
            raise ConfigError(f"--place {spec!r}: expected NAME=BOARD")
        specs.append((name, load_board(board)))
    places: list[QemuPlace] = []
    exporter: subprocess.Popen | None = None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for name, board in specs:
            places.append(QemuPlace.start(name, board, workdir))
            threading.Thread(target=places[-1].pump, daemon=True).start()
        config = workdir / "exporter.yaml"
        config.write_text(exporter_config(places))
        env = dict(os.environ, PATH=f"{ser2net_shim(workdir / 'bin', args.bind)}:"
                                    f"{os.environ.get('PATH', '')}")
        labgrid_exporter = shutil.which("labgrid-exporter") or str(
            Path(sys.executable).parent / "labgrid-exporter")
        with open(workdir / "exporter.log", "wb") as log:
            exporter = subprocess.Popen(
                [labgrid_exporter, "--coordinator", args.coordinator, "--name", args.name,
                 "--hostname", args.bind, str(config)], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)
        with FarmClient(args.coordinator) as client:
            wait_ready(client, args.name, places, exporter)
            if args.define_places:
                for place in places:
                    client.define_place(place.name, {"board": place.board.name},
                                        [f"{args.name}/{place.name}/*"])
        print(f"ready: {len(places)} place(s) on exporter {args.name}", flush=True)
        while not stop.is_set():
            if exporter.poll() is not None:
                raise TargetError(f"labgrid exporter {args.name} exited with status "
                                  f"{exporter.returncode}; see {workdir / 'exporter.log'}")
            stop.wait(0.5)
        return 0
    finally:
        if exporter is not None and exporter.poll() is None:
            exporter.terminate()  # it stops its ser2net processes
            try:
                exporter.wait(timeout=10)
            except subprocess.TimeoutExpired:
                exporter.kill()
                exporter.wait()
        for place in places:
            place.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hilbench.farm.qemu_exporter",
                                     description="serve QEMU boards as labgrid places")
    parser.add_argument("--coordinator", required=True, metavar="HOST:PORT")
    parser.add_argument("--name", required=True, help="the exporter's name")
    parser.add_argument("--place", action="append", required=True, metavar="NAME=BOARD")
    parser.add_argument("--bind", default="127.0.0.1",
                        help="address of ser2net and of the published resources")
    parser.add_argument("--define-places", action="store_true",
                        help="create the places on the coordinator, tagged board=BOARD")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    try:
        return serve(args)
    except HilbenchError as exc:
        print(f"hilbench-exporter: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
