#!/usr/bin/env python3
"""A minimal MLPerf Tiny DUT client written from the protocol's description alone, with no
hilbench code: it opens a serial device (a pty here), and runs name, profile, db load,
db and infer 1 0 as MLPerf's runner does.

    mlperf_minimal_client.py DEVICE HEXBYTES

Prints every reply line; exits 0 when each command got its expected line, 1 otherwise.
"""

import os
import select
import sys
import time
import tty

CHUNK = 31  # bytes per `db` command, as the runner sends them


class Dut:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)  # no echo, no line editing, "\r\n" and "%" pass as they are
        self.pending = b""

    def read_line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError(f"no line within {timeout} s (have {self.pending!r})")
            self.pending += os.read(self.fd, 4096)
        line, self.pending = self.pending.split(b"\n", 1)
        return line.replace(b"\r", b"").replace(b"\0", b"").decode()

    def drain(self, quiet=0.5):
        """Whatever the DUT printed before we listened (its boot banner)."""
        while select.select([self.fd], [], [], quiet)[0]:
            os.read(self.fd, 4096)
        self.pending = b""

    def command(self, text, timeout=5.0):
        os.write(self.fd, text.encode())  # the command, then '%' on its own, like the runner
        os.write(self.fd, b"%")
        lines = []
        while True:
            line = self.read_line(timeout)
            print(f"{text[:24]!r:28} <- {line}")
            if "m-ready" in line:
                return lines
            lines.append(line)


def main():
    device, data = sys.argv[1], bytes.fromhex(sys.argv[2])
    dut = Dut(device)
    dut.drain()
    missing = []

    def expect(lines, prefix, what):
        if not any(line.startswith(prefix) for line in lines):
            missing.append(what)

    expect(dut.command("name"), "m-name-dut-[", "name")
    lines = dut.command("profile")
    expect(lines, "m-profile-[", "profile")
    expect(lines, "m-model-[", "model")
    expect(dut.command(f"db load {len(data)}"), f"m-[Expecting {len(data)} bytes]", "db load")
    last = []
    for offset in range(0, len(data), CHUNK):
        last = dut.command("db " + data[offset:offset + CHUNK].hex())
    expect(last, "m-load-done", "db")
    lines = dut.command("infer 1 0", timeout=30.0)
    for prefix in ("m-infer-start-1", "m-lap-us-", "m-infer-done", "m-results-["):
        expect(lines, prefix, f"infer: {prefix}")
    if missing:
        print("missing: " + ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
