"""JUnit XML for a whole matrix: a testsuite per board, a testcase per model × check.

Names are `<model>[<variant>] <check>`, unique within a suite. A job's run time goes to its
first testcase (the run itself); the checks derived from it take no time of their own. A
model that does not fit the board is one skipped testcase with the byte count; a job that
failed to run is one testcase with an error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from hilbench.errors import ConfigError
from hilbench.store.db import JobRow


def write_matrix_junit(path: Path, jobs: list[JobRow], name: str = "hilbench matrix") -> None:
    by_board: dict[str, list[JobRow]] = defaultdict(list)
    for job in jobs:
        by_board[job.board].append(job)
    root = ET.Element("testsuites", name=name)
    for board, board_jobs in sorted(by_board.items()):
        suite = ET.SubElement(root, "testsuite", name=board)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for job in sorted(board_jobs, key=lambda j: (j.model, j.series)):
            base = f"{job.model}[{job.series}]"
            if job.status in ("skipped", "error"):
                case = ET.SubElement(suite, "testcase", classname=f"{board}.{job.model}",
                                     name=f"{base} run", time=f"{job.duration:.3f}")
                tag = "skipped" if job.status == "skipped" else "error"
                ET.SubElement(case, tag, message=job.message or "").text = job.message or ""
                counts["tests"] += 1
                counts["skipped" if tag == "skipped" else "errors"] += 1
                continue
            for i, check in enumerate(job.checks):
                case = ET.SubElement(suite, "testcase", classname=f"{board}.{job.model}",
                                     name=f"{base} {check['name']}",
                                     time=f"{job.duration if i == 0 else 0:.3f}")
                text = f"{check['name']}: {check['actual']} (limit {check['limit']})" + \
                    (f"; {check['detail']}" if check["detail"] else "")
                if check["passed"]:
                    ET.SubElement(case, "system-out").text = text
                else:
                    ET.SubElement(case, "failure", message=text, type="check").text = text
                    counts["failures"] += 1
                counts["tests"] += 1
        suite.set("time", f"{sum(j.duration for j in board_jobs):.3f}")
        for key, value in counts.items():
            suite.set(key, str(value))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
