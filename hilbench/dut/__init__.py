"""Devices under test that speak MLPerf Tiny's DUT protocol: the host driver
(`hilbench dut`), and hilbench's firmware built to speak it (firmware/mlperf/)."""

from hilbench.dut.records import DutRequest, DutResult, Window
from hilbench.dut.strategy import run_dut

__all__ = ["DutRequest", "DutResult", "Window", "run_dut"]
