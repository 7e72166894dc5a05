"""hilbench's firmware built to speak MLPerf Tiny's DUT protocol: the same generated model
and kernels as `hilbench run` builds, with firmware/mlperf/ as the application."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hilbench.board import Board
from hilbench.codegen.arena import RamLimit
from hilbench.codegen.c_model import generate_model
from hilbench.codegen.mlperf_config import check_model_id, default_model_id, mlperf_config_source
from hilbench.model import Graph, load_model
from hilbench.toolchain.firmware import FirmwareBuild, build_firmware

CONFIG_SOURCE = "mlperf_config.c"


def build_mlperf_firmware(model: Path, board: Board, kernels: str | None = None,
                          model_id: str | None = None, graph: Graph | None = None,
                          link: str = "serial", memory: str = "inplace",
                          ram_limits: Sequence[RamLimit] = ()) -> FirmwareBuild:
    """Build (or take from the cache) the MLPerf DUT firmware for a model and a board.
    model_id: what `profile` reports (default: kws01, vww01, ic01 or ad01 for the MLPerf
    Tiny models, by their names; else the model's name). memory: the arena mode
    (codegen/arena.py); ram_limits: what `auto` must fit."""
    graph = graph or load_model(model)
    variant = kernels or board.build.kernels
    model_id = check_model_id(model_id or default_model_id(model.stem))
    config = mlperf_config_source(graph, model_id, f"hilbench {board.name}", board.clock_hz)
    generated = generate_model(graph, model.read_bytes(), model.stem, variant, memory,
                               ram_limits)
    return build_firmware(generated, board, f"{model.stem}-mlperf", variant=variant, link=link,
                          protocol="mlperf", extra_sources={CONFIG_SOURCE: config})
