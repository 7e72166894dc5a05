"""A check is one pass/fail line of a verdict: a budget limit, a baseline figure, or
bit-exactness. CI reads them as JUnit testcases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str  # e.g. "latency_us", "baseline.instructions"
    passed: bool
    actual: str
    limit: str
    detail: str = ""
