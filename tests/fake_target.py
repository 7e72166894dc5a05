"""A third-party target driver, as another package would write one: registered through the
"hilbench.targets" entry point group only (tests/test_drivers.py makes the entry point), it
offers Loader and SerialPort. Its "board" is a Python thread that answers hilbench's
framed protocol on a loopback socket (socket://, the same pyserial link as QEMU's UART),
computing outputs with the host reference for the model it was given in `MODELS`.

The device reads what a real one would from the firmware ELF it is loaded with (model hash
and sizes); it cannot run Arm code, so its outputs come from the reference: it tests the
harness, not a kernel.
"""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np
from elftools.elf.elffile import ELFFile

from hilbench.drivers import Loader, SerialPort, TargetDriver
from hilbench.model import load_model
from hilbench.protocol.frames import REPLY_FLAG, Command, FrameError, decode_frame, encode_frame
from hilbench.reference import Reference
from hilbench.transport.serial_link import SerialTransport

MODELS: dict[bytes, Path] = {}  # model hash (8 bytes) -> .tflite, filled by the test
MAX_DATA = 512


def _elf_constant(elf: Path, name: str, size: int) -> bytes:
    with open(elf, "rb") as f:
        image = ELFFile(f)
        symbol = image.get_section_by_name(".symtab").get_symbol_by_name(name)[0]
        address = symbol["st_value"]
        for section in image.iter_sections():
            start = section["sh_addr"]
            if section["sh_type"] != "SHT_NOBITS" and start <= address < start + section["sh_size"]:
                offset = address - start
                return section.data()[offset:offset + size]
    raise LookupError(name)


class FakeDevice(threading.Thread):
    def __init__(self, elf: Path) -> None:
        super().__init__(daemon=True)
        self.model_hash = _elf_constant(elf, "hb_model_hash", 8)
        self.arena, self.input_size, self.output_size, self.ops = (
            struct.unpack("<I", _elf_constant(elf, f"hb_model_{n}", 4))[0]
            for n in ("arena_size", "input_size", "output_size", "op_count"))
        graph = load_model(MODELS[self.model_hash])
        self.reference = Reference(graph)
        self.input_tensor = graph.input_tensors[0]
        self.input = bytearray(self.input_size)
        self.output = b""
        self.invokes = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            connection, _ = self.server.accept()
        except OSError:  # stopped before the host connected
            return
        with connection:
            buffer = b""
            while not self.stopping.is_set():
                data = connection.recv(4096)
                if not data:
                    return
                buffer += data
                while b"\x00" in buffer:
                    stuffed, buffer = buffer.split(b"\x00", 1)
                    try:
                        frame = decode_frame(stuffed)
                    except FrameError:
                        continue
                    reply = self.answer(frame.command, frame.data)
                    connection.sendall(encode_frame(frame.command | REPLY_FLAG, frame.sequence,
                                                    reply))

    def answer(self, command: int, data: bytes) -> bytes:
        if command == Command.INFO:
            return (struct.pack("<B8sIIIHI", 1, self.model_hash, self.arena, self.input_size,
                                self.output_size, MAX_DATA, self.ops) + b"fake")
        if command == Command.LOAD_INPUT:
            offset = struct.unpack_from("<I", data)[0]
            self.input[offset:offset + len(data) - 4] = data[4:]
            return b""
        if command == Command.INVOKE:
            x = np.frombuffer(bytes(self.input), dtype=self.input_tensor.dtype)
            y = self.reference.run([x.reshape((1,) + self.input_tensor.shape)]).outputs[0]
            self.output = y.tobytes()
            self.invokes += 1
            return struct.pack("<BII", 0, 0, self.invokes)
        if command == Command.READ_OUTPUT:
            offset, length = struct.unpack("<IH", data)
            return self.output[offset:offset + length]
        if command == Command.STATS:
            return struct.pack("<IIIII", 4096, 256, 0, self.invokes, 0)
        if command == Command.ECHO:
            return data
        return b""

    def stop(self) -> None:
        self.stopping.set()
        self.server.close()


class FakeDriver(TargetDriver):
    name = "loopfake"
    via = "loopfake"

    def __init__(self, board: Any, options: Any) -> None:
        super().__init__(board, options)
        self.device: FakeDevice | None = None
        self.serial: SerialTransport | None = None

    def capabilities(self) -> dict[type, Any]:
        return {Loader: self, SerialPort: self}

    def load(self, elf: Path) -> None:
        self.device = FakeDevice(elf)
        self.device.start()

    def open_serial(self) -> SerialTransport:
        assert self.device is not None
        self.serial = SerialTransport(f"socket://127.0.0.1:{self.device.port}")
        return self.serial

    def close(self) -> None:
        if self.serial is not None:
            self.serial.close()
        if self.device is not None:
            self.device.stop()
            self.device.join(timeout=5)
            self.device = None
