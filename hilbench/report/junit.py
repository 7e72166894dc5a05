"""JUnit XML: one testcase per check, so CI systems show budget and baseline verdicts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from hilbench.compare.checks import Check
from hilbench.errors import ConfigError


def write_junit(path: Path, suite: str, case_class: str, checks: list[Check],
                seconds: float) -> None:
    failures = sum(not c.passed for c in checks)
    root = ET.Element("testsuites")
    node = ET.SubElement(root, "testsuite", name=suite, tests=str(len(checks)),
                         failures=str(failures), errors="0", time=f"{seconds:.3f}")
    for check in checks:
        case = ET.SubElement(node, "testcase", classname=case_class, name=check.name, time="0")
        text = f"{check.name}: {check.actual} (limit {check.limit})" + \
            (f"; {check.detail}" if check.detail else "")
        if check.passed:
            ET.SubElement(case, "system-out").text = text
        else:
            ET.SubElement(case, "failure", message=text, type="budget").text = text
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
