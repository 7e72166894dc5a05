"""A session with a device under test that speaks MLPerf Tiny's DUT protocol (the EEMBC
ULPMark-ML command set), over any byte link: a pyserial URL (a real port, socket://, a
pty) or QEMU's UART.

Commands are ASCII, at most 80 characters, ended by '%'; a reply is every line up to the first one containing "m-ready";
"e-[...]" lines are the DUT's errors. A timeout or a reply that does not parse raises a
TransportError naming the last exchange and what was heard, like hilbench's own session.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from hilbench.errors import TargetError, TransportError
from hilbench.transport.base import Transport

COMMAND_MAX = 80
HEX_BYTES_PER_COMMAND = 31  # as MLPerf's runner sends them: 62 digits per `db` command
LINE_TIMEOUT = 5.0  # the runner's: seconds per reply line
INFER_TIMEOUT = 30.0  # the runner's for `infer`; a caller may allow more
_NAME = re.compile(r"^m-name-dut-\[([^]]+)]$")
_FIELD = re.compile(r"^m-(model|profile)-\[([^]]+)]$")
_EXPECTING = re.compile(r"^m-\[Expecting (\d+) bytes]$")
_LAP = re.compile(r"^m-lap-us-(\d+)$")
_RESULTS = re.compile(r"^m-results-\[(.*)]$")
_ERROR = re.compile(r"^e-\[(.*)]$")


class DutError(TargetError):
    """The DUT answered a command with e-[...]."""

    def __init__(self, command: str, message: str) -> None:
        self.message = message
        super().__init__(f"the DUT rejected '{command}': {message}")


@dataclass(frozen=True)
class Inference:
    """One `infer N W` reply."""
    count: int
    warmup: int
    laps_us: tuple[int, ...]
    results: tuple[str, ...]  # the printed values, as printed

    @property
    def elapsed_us(self) -> int:
        """Last lap minus first, as MLPerf's runner computes it."""
        return self.laps_us[-1] - self.laps_us[0]


class DutSession:
    def __init__(self, transport: Transport, timeout: float = LINE_TIMEOUT) -> None:
        self.transport = transport
        self.timeout = timeout
        self.buffer = bytearray()
        self.last_exchange = "none (nothing sent yet)"
        self.last_heard = ""
        self.bytes_sent = 0
        self.context = ""  # e.g. "vector 3 of 5", added to error messages

    # --- lines ---------------------------------------------------------------------
    def _line(self, deadline: float) -> str | None:
        """The next line without its ending ('\\r' and NULs dropped, as the runner does);
        None once the deadline passes."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                raw = bytes(self.buffer[:end])
                del self.buffer[:end + 1]
                text = raw.replace(b"\r", b"").replace(b"\0", b"").decode("ascii", "replace")
                self.last_heard = text[-60:]
                return text
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.buffer += self.transport.read(min(remaining, 0.25))

    def drain(self, quiet: float = 0.3) -> list[str]:
        """Lines the DUT sent on its own (a boot banner), until it is quiet; a partial
        line (the link opened mid-line) is dropped."""
        lines = []
        while (line := self._line(time.monotonic() + quiet)) is not None:
            lines.append(line)
        self.buffer.clear()
        return lines

    def wait_boot(self, timeout: float) -> list[str]:
        """The boot banner of a DUT just started (up to its m-ready)."""
        self.last_exchange = "the boot banner"
        return self._reply(timeout, time.monotonic() + timeout)

    def command(self, text: str, timeout: float | None = None,
                line_timeout: float | None = None) -> list[str]:
        """Send a command, return its reply's lines (without the final m-ready). `timeout`
        bounds the whole reply; each line must come within `line_timeout`."""
        if len(text) > COMMAND_MAX or "%" in text:
            raise TargetError(f"'{text[:40]}...' is not an MLPerf command (at most "
                              f"{COMMAND_MAX} characters, no '%')")
        self.last_exchange = f"'{text[:40]}{'...' if len(text) > 40 else ''}'"
        # one write: MLPerf's runner sends the '%' apart, but then Nagle's algorithm on a
        # socket:// link without TCP_NODELAY holds it ~40 ms for the previous ACK
        self.transport.write(text.encode("ascii") + b"%")
        self.bytes_sent += len(text) + 1
        lines = self._reply(line_timeout or self.timeout,
                            time.monotonic() + (timeout or 3600.0))
        errors = [m.group(1) for line in lines if (m := _ERROR.match(line))]
        if errors:
            where = f" ({self.context})" if self.context else ""
            raise DutError(self.last_exchange.strip("'") + where, errors[0])
        return lines

    def _reply(self, per_line: float, end: float) -> list[str]:
        """Lines up to the first containing m-ready (not returned)."""
        lines: list[str] = []
        while True:
            line = self._line(min(end, time.monotonic() + per_line))
            if line is None:
                where = f", {self.context}" if self.context else ""
                raise TransportError(
                    f"the DUT did not finish its reply to {self.last_exchange}{where} "
                    f"(last heard: {self.last_heard!r}; {len(lines)} lines before)")
            if "m-ready" in line:
                return lines
            lines.append(line)

    def _identify(self, command: str, found: Callable[[list[str]], bool]) -> list[str]:
        """A reply with the wanted line, reading past replies that were not to this
        command (a banner printed as the link opened), and asking up to three times, as
        MLPerf's runner does."""
        lines: list[str] = []
        for _ in range(3):
            lines = self.command(command)
            while not found(lines) and self.buffer.find(b"m-ready") >= 0:
                lines = self._reply(self.timeout, time.monotonic() + self.timeout)
            if found(lines):
                return lines
        return lines

    def _one(self, lines: list[str], pattern: re.Pattern[str], what: str) -> re.Match[str]:
        for line in lines:
            if found := pattern.match(line):
                return found
        raise TransportError(f"no {what} in the reply to {self.last_exchange} "
                             f"(got {lines[:4]!r})")

    # --- commands ------------------------------------------------------------------
    def name(self) -> str:
        lines = self._identify("name", lambda ls: any(_NAME.match(x) for x in ls))
        return self._one(lines, _NAME, "m-name-dut-[...]").group(1)

    def profile(self) -> dict[str, str]:
        """{"profile": ..., "model": ...} from m-profile-[...] and m-model-[...]."""
        lines = self._identify("profile", lambda ls: any(_FIELD.match(x) for x in ls))
        fields = {m.group(1): m.group(2) for line in lines if (m := _FIELD.match(line))}
        if "model" not in fields:
            raise TransportError(f"no m-model-[...] in the reply to {self.last_exchange} "
                                 f"(got {lines[:4]!r})")
        return fields

    def load(self, data: bytes, chunk: int = HEX_BYTES_PER_COMMAND) -> None:
        """db load N, then the bytes as hex, `chunk` bytes per command."""
        expecting = int(self._one(self.command(f"db load {len(data)}"), _EXPECTING,
                                  "m-[Expecting N bytes]").group(1))
        if expecting != len(data):
            raise TransportError(f"the DUT expects {expecting} bytes after "
                                 f"{self.last_exchange}, not {len(data)}")
        done = False
        for offset in range(0, len(data), chunk):
            lines = self.command("db " + data[offset:offset + chunk].hex())
            done = "m-load-done" in lines
        if not done:
            raise TransportError(f"no m-load-done after the last db command "
                                 f"({self.last_exchange})")

    def infer(self, count: int, warmup: int, timeout: float = INFER_TIMEOUT) -> Inference:
        """infer N W: the laps (µs) and the printed results."""
        lines = self.command(f"infer {count} {warmup}", line_timeout=timeout)
        laps = tuple(int(m.group(1)) for line in lines if (m := _LAP.match(line)))
        if len(laps) < 2 or "m-infer-done" not in lines:
            raise TransportError(f"no m-lap-us-... pair and m-infer-done in the reply to "
                                 f"{self.last_exchange} (got {lines[:6]!r})")
        return Inference(count, warmup, laps, self._results(lines))

    def results(self) -> tuple[str, ...]:
        return self._results(self.command("results"))

    def _results(self, lines: list[str]) -> tuple[str, ...]:
        text = self._one(lines, _RESULTS, "m-results-[...]").group(1)
        return tuple(v.strip() for v in text.split(",")) if text.strip() else ()
