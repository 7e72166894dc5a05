"""`hilbench dut`: drive a device that speaks MLPerf Tiny's DUT protocol and check it
against the host reference.

model -> host reference; the DUT reached on a pyserial URL, or hilbench's MLPerf firmware
built for a board and started on it (QEMU: with -icount, so its SysTick laps are
deterministic virtual time) -> name, profile -> per vector: db load, db, infer N W ->
printed results against the reference (hilbench/compare/printed.py) and the MLPerf
performance figure (median over windows of inferences per second).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

from hilbench.compare.printed import compare_printed
from hilbench.drivers.capabilities import Loader, SerialPort
from hilbench.drivers.registry import driver_for, link_driver
from hilbench.drivers.target import TargetOptions
from hilbench.dut.firmware import build_mlperf_firmware
from hilbench.dut.records import DutRequest, DutResult, Window
from hilbench.dut.session import DutSession
from hilbench.errors import TargetError
from hilbench.model import Graph, load_model
from hilbench.reference import Reference
from hilbench.run.data import generated_data, load_data
from hilbench.toolchain.firmware import FirmwareBuild
from hilbench.transport.serial_link import SerialTransport

BOOT_TIMEOUT = 30.0  # a DUT hilbench started: its banner, under QEMU's -icount


@contextmanager
def _started_dut(request: DutRequest, firmware: FirmwareBuild) -> Iterator[DutSession]:
    """The board's driver with the MLPerf firmware loaded and its serial port open;
    the session has read the boot banner. Everything is released on leaving."""
    assert request.board is not None
    board = request.board
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hilbench-dut-")))
        options = TargetOptions(link=link_driver("serial"), workdir=workdir,
                                virtual_time=board.is_qemu)
        target = stack.enter_context(driver_for(board)(board, options))
        target.require(Loader, "to put the firmware on the board").load(firmware.elf)
        port = target.require(SerialPort, "for the MLPerf DUT's commands")
        transport = stack.enter_context(closing(port.open_serial()))
        session = DutSession(transport)
        session.wait_boot(BOOT_TIMEOUT)
        yield session


@contextmanager
def _connected_dut(request: DutRequest) -> Iterator[DutSession]:
    assert request.port is not None
    with closing(SerialTransport(request.port, request.baud)) as transport:
        session = DutSession(transport)
        session.drain()  # a banner printed as the port opened, or a half line
        yield session


def run_dut(request: DutRequest, graph: Graph | None = None,
            progress: Callable[[int], None] | None = None) -> DutResult:
    phases: dict[str, float] = {}
    clock = time.perf_counter()
    graph = graph or load_model(request.model)
    data = (load_data(graph, request.data) if request.data
            else generated_data(graph, request.vectors, request.seed))
    expected = Reference(graph).run(data.inputs).outputs
    phases["reference"] = time.perf_counter() - clock

    firmware = None
    if request.board is not None:
        clock = time.perf_counter()
        firmware = build_mlperf_firmware(request.model, request.board, request.kernels,
                                         request.model_id, graph)
        phases["build"] = time.perf_counter() - clock
    link = request.port or f"the {request.board.name if request.board else ''} UART"

    clock = time.perf_counter()
    windows, printed = [], []
    with (_started_dut(request, firmware) if firmware else _connected_dut(request)) as session:
        name = session.name()
        profile = session.profile()
        model_id = profile["model"]
        if request.model_id is not None and model_id != request.model_id:
            raise TargetError(f"the DUT '{name}' runs model id {model_id}, not "
                              f"{request.model_id} (--model-id)")
        count, warmup = request.counts(model_id)
        for i in range(data.count):
            session.context = f"vector {i + 1} of {data.count}"
            session.load(b"".join(x.tobytes() for x in data.vector(i)))
            inference = session.infer(count, warmup, timeout=request.timeout)
            windows.append(Window(i, count, warmup, inference.elapsed_us))
            printed.append(inference.results)
            if progress:
                progress(i + 1)
    phases["dut"] = time.perf_counter() - clock
    return DutResult(request=request, link=link, dut_name=name,
                     profile=profile.get("profile", ""), model_id=model_id,
                     windows=tuple(windows),
                     comparison=compare_printed(expected, printed, graph.output_tensors),
                     data_source=data.source,
                     virtual_time=request.board is not None and request.board.is_qemu,
                     firmware=firmware, phases=phases)
