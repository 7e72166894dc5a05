"""The one exception tree of hilbench.

Every failure a user can cause (bad file, bad option, unsupported model) is raised as a
HilbenchError subclass; the CLI turns it into one line and exit status 2. Anything else
escaping is a bug in hilbench.
"""

from __future__ import annotations


MESSAGE_LIMIT = 600  # characters of one error line; a hostile model cannot flood a CI log


def one_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """The message on one line and at most `limit` characters: head and tail are kept,
    because the tail often holds the last lines of a dead process's output."""
    text = " | ".join(part.strip() for part in message.splitlines() if part.strip())
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


class HilbenchError(Exception):
    """Base of every error hilbench reports to a user."""

    exit_code = 2


class ModelError(HilbenchError):
    """The model file cannot be read or is not a model hilbench can run."""


class UnsupportedOperatorError(ModelError):
    """An operator hilbench has no kernel for; names the op and its index."""

    def __init__(self, op_name: str, op_index: int, detail: str = "") -> None:
        self.op_name = op_name
        self.op_index = op_index
        extra = f": {detail}" if detail else ""
        super().__init__(f"unsupported operator {op_name} at op index {op_index}{extra}")


class InputError(HilbenchError):
    """Test vectors that do not match the model (shape, dtype, file format)."""


class ConfigError(HilbenchError):
    """Bad command-line options or configuration files."""


class BuildError(HilbenchError):
    """The firmware did not compile or link, or does not fit the board."""


class TargetError(HilbenchError):
    """The target (emulator or board) could not be started, reached or controlled."""


class TransportError(TargetError):
    """The link to the target failed: silence, garbage, a closed connection."""


class FirmwareFault(TargetError):
    """The firmware reported a HardFault."""


class ProbeError(TargetError):
    """No debug probe, the wrong one, or one pyOCD cannot drive."""


class FlashError(ProbeError):
    """Programming flash failed (erase, program or verify): pyOCD's reason and the address."""


class PlaceError(TargetError):
    """A board-farm place could not be acquired, or failed while a job used it (its
    exporter gone, its board not answering): the job may be retried on another place."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP: unwinds like Ctrl-C, so every `with` releases its QEMU,
    compiler and temporary files; the CLI exits with 128 + the signal's number."""

    def __init__(self, signal_number: int, name: str) -> None:
        super().__init__(name)
        self.signal_number = signal_number
        self.name = name
