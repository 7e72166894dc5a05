"""A bug inside hilbench reaches the user as one line and exit status 2, never a traceback
and never exit 1 (which means only "a verdict failed"). The bug is planted in a real
`hilbench` process: a child Python that breaks one function of the CLI's pipeline and then
runs the command as the console script does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hilbench import cli
from hilbench.errors import MESSAGE_LIMIT

# The child: load_model raises what a hilbench bug would (an exception outside the
# HilbenchError tree, with a long, multi-line message), then `hilbench inspect` runs.
_CHILD = """
import sys
import hilbench.cli as cli

def broken(path):
    raise ZeroDivisionError("division by zero in a planted bug\\n" + "x" * 5000)

cli.load_model = broken
raise SystemExit(cli.main(["inspect", sys.argv[1]]))
"""


def _run_child(model: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HILBENCH_DEBUG"}
    return subprocess.run([sys.executable, "-c", _CHILD, model], capture_output=True, text=True,
                          timeout=120, env=env)


def test_internal_error_is_one_line_and_exit_2(tmp_path):
    result = _run_child(str(tmp_path / "any.tflite"))
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    line = lines[0]
    assert line.startswith("hilbench: internal error: ZeroDivisionError: division by zero")
    assert "please report" in line and "HILBENCH_DEBUG=1" in line
    assert len(line) <= MESSAGE_LIMIT + len("hilbench: internal error: ")


def test_debug_variable_adds_the_traceback(monkeypatch, capsys):
    def broken(path):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(cli, "load_model", broken)
    monkeypatch.setenv("HILBENCH_DEBUG", "1")
    assert cli.main(["inspect", "m.tflite"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: planted" in err
    assert err.strip().splitlines()[-1].startswith("hilbench: internal error: ZeroDivisionError")


def test_hilbench_errors_keep_their_own_line(monkeypatch, capsys):
    """The catch-all is below the HilbenchError branch: a user's error is not reported as
    a hilbench bug."""
    def refused(path):
        from hilbench.errors import ModelError
        raise ModelError("not a model")

    monkeypatch.setattr(cli, "load_model", refused)
    monkeypatch.delenv("HILBENCH_DEBUG", raising=False)
    assert cli.main(["inspect", "m.tflite"]) == 2
    assert capsys.readouterr().err.strip() == "hilbench: error: not a model"


@pytest.mark.parametrize("exc", [ValueError(""), KeyError("k"), RuntimeError("a\nb")])
def test_internal_error_line_names_the_type(exc):
    try:
        raise exc
    except Exception as caught:
        line = cli.internal_error_line(caught)
    assert line.startswith(type(exc).__name__)
    assert "\n" not in line and "test_cli_internal_error.py" in line
