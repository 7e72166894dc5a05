"""hilbench as a pytest plugin (entry point `pytest11`, loaded wherever hilbench is
installed), in the spirit of pytest-embedded and labgrid's plugin.

Options:
    --hil-board NAME     run each test that uses `hil_board`/`hil_run` on this board;
                         repeat for several boards (default: the marker's boards, else
                         qemu-mps2-an386)
    --hil-kernels NAME   kernel variant to build with (default: each board's)
    --hil-memory MODE    arena plan: plain, inplace (default), patch, or auto (the fewest
                         MACs that fit the test's ram_bytes budget and the board)

Fixtures:
    hil_board            the Board the test runs on (the test is parametrized per board)
    hil_run              run(model, data=None, vectors=20, budgets=None, **options) ->
                         RunResult: builds (cached by content, so once per model and board)
                         and runs on `hil_board` (memory=... overrides --hil-memory),
                         records the figures and the memory plan with record_property
                         (they land in --junitxml), fails on any check that does not hold,
                         and skips, with the byte count, a model that does not fit the board

Marker:
    @pytest.mark.hilbench(boards=[...], latency_us=..., cycles=..., ram_bytes=...,
                          flash_bytes=..., max_abs_diff=..., bit_exact=True)
    boards limits where the test runs (other boards: skipped); the rest are budgets that
    hil_run asserts, failing with the figure, the limit and the board.

The marker is called `hilbench`, not `hil`: `hil` already means "needs QEMU or gcc" in
hilbench's own suite (and `-m "not hil"` selects tiers there); a separate name keeps a bare
`@pytest.mark.hil` a plain tier marker everywhere, and budgets never hide in it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from hilbench.board import Board
    from hilbench.run.records import RunResult

MARKER = "hilbench"
BUDGET_KEYS = ("latency_us", "cycles", "ram_bytes", "flash_bytes", "bit_exact", "max_abs_diff")
_BOARDS: dict[str, Board] = {}  # loaded once per process (each xdist worker has its own)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hilbench", "hilbench: int8 models on Cortex-M boards")
    group.addoption("--hil-board", action="append", default=[], metavar="NAME",
                    help="board to run hil_run tests on (repeat for several; default: the "
                         "marker's boards, else qemu-mps2-an386)")
    group.addoption("--hil-kernels", default=None, metavar="VARIANT",
                    help="kernel variant to build with (default: each board's)")
    group.addoption("--hil-memory", default="inplace", metavar="MODE",
                    help="arena plan: plain, inplace (default), patch, or auto (the fewest "
                         "MACs that fit the ram_bytes budget and the board)")


def pytest_configure(config: pytest.Config) -> None:
    memory = config.getoption("hil_memory", default="inplace")
    if memory != "inplace":  # the default needs no check (nor hilbench's codegen imported)
        from hilbench.codegen.arena import MODES

        if memory not in MODES:
            raise pytest.UsageError(f"--hil-memory {memory!r}: modes are {', '.join(MODES)}")
    config.addinivalue_line(
        "markers", f"{MARKER}(boards=None, latency_us=None, cycles=None, ram_bytes=None, "
                   "flash_bytes=None, max_abs_diff=None, bit_exact=True): run on these boards "
                   "only; budgets that hil_run asserts")


def _marker_kwargs(node: Any) -> dict[str, Any]:
    marker = node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    unknown = set(marker.kwargs) - set(BUDGET_KEYS) - {"boards"}
    if unknown or marker.args:
        raise pytest.UsageError(f"{node.nodeid}: @pytest.mark.{MARKER} takes boards= and "
                                f"{', '.join(BUDGET_KEYS)} as keywords; got "
                                f"{', '.join(sorted(unknown)) or marker.args}")
    return dict(marker.kwargs)


def _as_list(boards: Any) -> list[str]:
    return [boards] if isinstance(boards, str) else list(boards or [])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "hil_board" not in metafunc.fixturenames:
        return
    from hilbench.board import DEFAULT_BOARD

    wanted = _as_list(_marker_kwargs(metafunc.definition).get("boards"))
    chosen = metafunc.config.getoption("hil_board") or wanted or [DEFAULT_BOARD]
    metafunc.parametrize("hil_board", list(dict.fromkeys(chosen)), indirect=True,
                         ids=lambda name: name, scope="function")


@pytest.fixture
def hil_board(request: pytest.FixtureRequest) -> Board:
    """The board this test runs on (one test item per --hil-board)."""
    from hilbench.board import load_board

    name = getattr(request, "param", None)
    if name is None:
        raise pytest.UsageError("hil_board is parametrized by the hilbench plugin")
    wanted = _as_list(_marker_kwargs(request.node).get("boards"))
    if wanted and name not in wanted:
        pytest.skip(f"not for board {name} (@pytest.mark.{MARKER}(boards={wanted}))")
    if name not in _BOARDS:
        _BOARDS[name] = load_board(name)
    return _BOARDS[name]


@pytest.fixture
def hil_run(request: pytest.FixtureRequest, hil_board: Board,
            record_property: Callable[[str, object], None]) -> Callable[..., RunResult]:
    """run(model, data=None, vectors=20, budgets=None, **options) on this test's board;
    the marker's budgets and `budgets` are asserted. `check=False` returns the result
    without asserting anything."""
    marked = {k: v for k, v in _marker_kwargs(request.node).items() if k != "boards"}
    kernels = request.config.getoption("hil_kernels")
    memory = request.config.getoption("hil_memory")

    def run(model: str | Path, data: Any = None, vectors: int = 20,
            budgets: dict[str, Any] | None = None, check: bool = True,
            **options: Any) -> RunResult:
        from hilbench import api
        from hilbench.errors import BuildError

        limits = {"bit_exact": True, **marked, **(budgets or {})}
        try:
            result = api.run(model, hil_board, data=data, vectors=vectors,
                             budgets=limits, kernels=options.pop("kernels", kernels),
                             memory=options.pop("memory", memory), **options)
        except BuildError as exc:
            if "does not fit" in str(exc):  # refused before building: byte counts in it
                pytest.skip(str(exc))
            raise
        _record(record_property, result)
        failed = [c for c in result.checks if not c.passed]
        if check and failed:
            pytest.fail("\n".join(
                f"{result.model} on {result.board}: {c.name} is {c.actual}, limit {c.limit}"
                + (f" ({c.detail})" if c.detail else "") for c in failed), pytrace=False)
        return result

    return run


def _record(record_property: Callable[[str, object], None], result: RunResult) -> None:
    from hilbench.compare.verdict import figures

    values = figures(result)
    record_property("hil_board", result.board)
    record_property("hil_model", result.model)
    if result.memory is not None:  # runs with different memory plans stay apart
        record_property("hil_memory", result.memory.plan)
    for key in ("bit_exact", "max_abs_diff", "flash_bytes", "ram_bytes", "instructions",
                "cycles", "latency_us"):
        if values.get(key) is not None:
            record_property(f"hil_{key}", values[key])
