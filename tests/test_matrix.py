"""`hilbench matrix`, the results store, regressions over time, the matrix JUnit and the
HTML report (opened in a real headless chromium)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import browser
from hilbench.board import board_names, load_board
from hilbench.errors import ConfigError
from hilbench.matrix.plan import load_plan
from hilbench.paths import FIRMWARE_DIR
from hilbench.report.matrix_junit import write_matrix_junit
from hilbench.store.db import SCHEMA, Store
from support import SHARED_MODELS, hilbench

QEMU_BOARDS = [name for name in board_names() if load_board(name).qemu is not None]
HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
MICRO_SPEECH = SHARED_MODELS / "tflm_micro_speech_int8.tflite"


def _plan(folder: Path, models: list[Path], boards: list[str], vectors: int = 2,
          extra: str = "") -> Path:
    (folder / "models").mkdir(parents=True, exist_ok=True)
    for model in models:
        target = folder / "models" / model.name
        if not target.exists():
            target.symlink_to(model)
    plan = folder / "plan.toml"
    plan.write_text(f'[matrix]\nmodels = ["models/*.tflite"]\nboards = {json.dumps(boards)}\n'
                    f"vectors = {vectors}\n{extra}")
    return plan


def _matrix(plan: Path, db: Path, *args: object, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hilbench", "matrix", str(plan), "--db",
                           str(db), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _cases(junit: Path) -> dict[str, ET.Element]:
    return {f"{suite.get('name')}::{case.get('name')}": case
            for suite in ET.parse(junit).iter("testsuite") for case in suite.iter("testcase")}


# --- plans, the store and the JUnit writer: no QEMU ---------------------------------------

def test_plan_expands_globs_relative_to_the_plan(tmp_path):
    plan = load_plan(_plan(tmp_path, [HELLO, MICRO_SPEECH], ["qemu-mps2-an386", "qemu-microbit"],
                           extra='variants = ["ref", "armv6m"]\n'))
    assert [m.name for m in plan.models] == [HELLO.name, MICRO_SPEECH.name]
    keys = [job.key for job in plan.jobs()]
    assert len(keys) == 8 == len(set(keys))
    assert "tflm_hello_world_int8@qemu-microbit[armv6m]" in keys


def test_plan_memory_axis_makes_jobs_of_their_own(tmp_path):
    plan = load_plan(_plan(tmp_path, [HELLO], ["qemu-mps2-an386"],
                           extra='memory = ["inplace", "plain", "auto"]\n'))
    keys = [job.key for job in plan.jobs()]
    assert keys == ["tflm_hello_world_int8@qemu-mps2-an386[default]",  # as before the axis
                    "tflm_hello_world_int8@qemu-mps2-an386[default,plain]",
                    "tflm_hello_world_int8@qemu-mps2-an386[default,auto]"]


@pytest.mark.parametrize("text, message", [
    ('[matrix]\nmodels = ["m/*.tflite"]\nboards = ["qemu-microbit"]\nmemory = ["fit"]\n',
     "memory 'fit'"),
    ("[other]\n", "no [matrix] table"),
    ('[matrix]\nmodels = ["none/*.tflite"]\nboards = ["qemu-microbit"]\n', "matches no file"),
    ('[matrix]\nmodels = ["m/*.tflite"]\nboards = ["nope"]\n', "unknown board"),
    ('[matrix]\nmodels = ["m/*.tflite"]\nboards = ["qemu-microbit"]\nvectors = 0\n', "vectors"),
    ('[matrix]\nmodels = ["m/*.tflite"]\nboards = ["qemu-microbit"]\nspeed = 1\n', "speed"),
])
def test_bad_plans_are_one_line_errors(tmp_path, text, message):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.tflite").symlink_to(HELLO)
    (tmp_path / "plan.toml").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_plan(tmp_path / "plan.toml")
    result = hilbench("matrix", tmp_path / "plan.toml", "--db", tmp_path / "r.sqlite")
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def _job(store: Store, run: int, model: str, board: str, status: str, checks: list[dict],
         message: str | None = None, duration: float = 1.5) -> None:
    store.add_job({"matrix_run": run, "job_key": f"{model}@{board}[default]", "model": model,
                   "model_path": f"/m/{model}.tflite", "model_sha256": model * 2,
                   "board": board, "variant": "default", "started": time.time(),
                   "duration": duration, "status": status, "message": message,
                   "checks": json.dumps(checks)}, [])


def test_store_keeps_memory_modes_apart_and_upgrades_an_older_store(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as old:  # a store written before memory modes existed
        old.executescript(SCHEMA.replace(
            "    memory TEXT NOT NULL DEFAULT 'inplace',  -- the memory mode asked for "
            "(--memory)\n", ""))
    with sqlite3.connect(db) as old:
        assert "memory" not in {r[1] for r in old.execute("PRAGMA table_info(jobs)")}
        old.execute("INSERT INTO matrix_runs (plan_path, plan_digest, started, jobs) "
                    "VALUES ('p', 'd', 0, 1)")
        old.execute("INSERT INTO jobs (matrix_run, job_key, model, model_path, model_sha256, "
                    "board, variant, started, duration, status, vectors, seed) VALUES "
                    "(1, 'a@b[default]', 'a', '/a', 'aa', 'b', 'default', 0, 1, 'pass', 2, 0)")
    with Store(db) as store:
        assert [j.memory for j in store.jobs()] == ["inplace"]
        run = store.start_matrix_run(tmp_path / "p.toml", "d", 1, time.time(), "0", None)
        store.add_job({"matrix_run": run, "job_key": "a@b[default,patch]", "model": "a",
                       "model_path": "/a", "model_sha256": "aa", "board": "b",
                       "variant": "default", "memory": "patch", "started": time.time(),
                       "duration": 1, "status": "pass", "vectors": 2, "seed": 0}, [])
        later = run + 1
        found = store.previous("aa", "b", "default", 2, 0, later)  # inplace: the old run
        assert found is not None and found[0].matrix_run == 1
        found = store.previous("aa", "b", "default", 2, 0, later, "patch")
        assert found is not None and found[0].matrix_run == run
        assert [j.series for j in store.jobs()] == ["default", "default, memory patch"]


def test_matrix_junit_has_a_suite_per_board_and_skips_with_byte_counts(tmp_path):
    check = {"name": "bit_exact", "passed": True, "actual": "0 mismatching values",
             "limit": "0", "detail": ""}
    grew = {"name": "regression.instructions", "passed": False, "actual": "12",
            "limit": "<= 10 + 0%", "detail": "layer 3 SOFTMAX: 5 -> 7"}
    with Store(tmp_path / "r.sqlite") as store:
        run = store.start_matrix_run(tmp_path / "p.toml", "d", 3, time.time(), "0", None)
        _job(store, run, "a", "b1", "pass", [check], duration=2.25)
        _job(store, run, "a", "b2", "fail", [check, grew], duration=3.5)
        _job(store, run, "big", "b2", "skipped", [], "model does not fit b2: over by 1,024 B")
        write_matrix_junit(tmp_path / "j.xml", store.jobs(run))
    suites = {s.get("name"): s for s in ET.parse(tmp_path / "j.xml").iter("testsuite")}
    assert set(suites) == {"b1", "b2"}
    assert suites["b2"].get("failures") == "1" and suites["b2"].get("skipped") == "1"
    cases = _cases(tmp_path / "j.xml")
    assert cases["b1::a[default] bit_exact"].get("time") == "2.250"
    failure = cases["b2::a[default] regression.instructions"].find("failure")
    assert failure is not None and "layer 3 SOFTMAX" in failure.get("message")
    skipped = cases["b2::big[default] run"].find("skipped")
    assert skipped is not None and "over by 1,024 B" in skipped.get("message")


# --- on QEMU ------------------------------------------------------------------------------

@pytest.mark.hil
def test_every_shared_model_on_every_qemu_board(tmp_path):
    """The nightly plan: every shared model × every QEMU board, two at a time; VWW (slow)
    in its own plan with one vector, into the same store."""
    db, junit = tmp_path / "results.sqlite", tmp_path / "junit.xml"
    models = [m for m in sorted(SHARED_MODELS.glob("*.tflite")) if "vww" not in m.name]
    vww = sorted(SHARED_MODELS.glob("vww*.tflite"))
    start = time.perf_counter()
    main = _matrix(_plan(tmp_path / "main", models, QEMU_BOARDS), db, "-j", 2, "--junit", junit)
    assert main.returncode == 0, main.stdout + main.stderr
    slow = _matrix(_plan(tmp_path / "vww", vww, QEMU_BOARDS, vectors=1), db, "-j", 2,
                   "--junit", tmp_path / "vww.xml")
    assert slow.returncode == 0, slow.stdout + slow.stderr
    seconds = time.perf_counter() - start

    with Store(db) as store:
        jobs = store.jobs()
    assert len(jobs) == (len(models) + len(vww)) * len(QEMU_BOARDS)
    for job in jobs:
        if job.status == "skipped":
            assert re.search(r"over by [\d,]+ B", job.message), job.message
        else:
            assert job.status == "pass" and job.bit_exact and job.mismatches == 0, job
            assert job.instructions and job.flash_bytes and job.ram_bytes
    skipped = {(j.model, j.board) for j in jobs if j.status == "skipped"}
    assert ("vww_mobilenet_v1_025_int8", "qemu-microbit") in skipped
    assert all(board == "qemu-microbit" for _, board in skipped)  # 16 KB of RAM

    suites = {s.get("name") for s in ET.parse(junit).iter("testsuite")}
    assert suites == set(QEMU_BOARDS)
    cases = _cases(junit)
    assert len(cases) == len(set(cases))
    assert float(cases["qemu-mps2-an386::tflm_hello_world_int8[default] bit_exact"]
                 .get("time")) > 0
    report = hilbench("report", "--db", db, "--html", tmp_path / "html")
    assert report.returncode == 0, report.stderr
    index = (tmp_path / "html" / "index.html").read_text()
    assert index.count("<svg") >= 1 and "<script" not in index
    assert not re.search(r'(src|href)="(https?:)?//', index)  # nothing to fetch
    print(f"{len(jobs)} jobs ({len(skipped)} skipped) in {seconds:.0f} s")


@pytest.mark.hil
def test_matrix_memory_axis_runs_stores_and_reports_each_mode(tmp_path):
    db = tmp_path / "results.sqlite"
    plan = _plan(tmp_path, [HELLO], ["qemu-mps2-an386"], extra='memory = ["plain", "inplace"]\n')
    done = _matrix(plan, db, "-j", 2, "--junit", tmp_path / "j.xml")
    assert done.returncode == 0, done.stdout + done.stderr
    with Store(db) as store:
        jobs = {j.memory: j for j in store.jobs()}
    assert set(jobs) == {"plain", "inplace"} and all(j.status == "pass" for j in jobs.values())
    for mode, job in jobs.items():
        assert json.loads(job.row["record"])["memory"]["mode"] == mode
    assert jobs["inplace"].row["arena_bytes"] <= jobs["plain"].row["arena_bytes"]
    cases = _cases(tmp_path / "j.xml")
    assert "qemu-mps2-an386::tflm_hello_world_int8[default, memory plain] bit_exact" in cases
    assert "qemu-mps2-an386::tflm_hello_world_int8[default] bit_exact" in cases


def _stored_jobs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the schema is not made yet


@pytest.mark.hil
def test_matrix_killed_with_sigkill_then_resumed_stores_every_job_once(tmp_path):
    db = tmp_path / "results.sqlite"
    plan = _plan(tmp_path, [HELLO, MICRO_SPEECH], ["qemu-mps2-an386", "qemu-microbit"])
    # a process killed with SIGKILL cannot remove its scratch folder: keep it in tmp_path
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "hilbench", "matrix", str(plan), "--db",
                                str(db), "-j", "1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 180
    while _stored_jobs(db) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    before = _stored_jobs(db)
    assert 1 <= before < 4, f"{before} jobs stored when killed"

    resumed = _matrix(plan, db, "--resume", "-j", 2)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming matrix run 1: {before} job(s) done, {4 - before} to run" in resumed.stdout
    with Store(db) as store:
        jobs = store.jobs()
        runs = store.matrix_runs()
    assert len(runs) == 1 and runs[0]["finished"] is not None
    assert sorted(j.job_key for j in jobs) == sorted({j.job_key for j in jobs})
    assert len(jobs) == 4 and all(j.status == "pass" and j.bit_exact for j in jobs)
    print(f"killed with {before} of 4 jobs stored; resumed ran {4 - before}")

    again = _matrix(plan, db, "--resume")  # nothing unfinished: a new run of all four
    assert again.returncode == 0 and "starting a new one" in again.stdout


@pytest.mark.hil
def test_kernel_that_executes_more_is_a_regression_in_junit_html_and_browser(tmp_path):
    kernels = tmp_path / "kernels" / "mine"
    kernels.mkdir(parents=True)
    source = (FIRMWARE_DIR / "kernels" / "ref" / "softmax.c").read_text()
    source = source.replace('#include "../hb_fixedpoint.h"', '#include "hb_fixedpoint.h"')
    (kernels / "softmax.c").write_text(source)
    env = {"HILBENCH_KERNEL_PATH": str(tmp_path / "kernels")}
    db = tmp_path / "results.sqlite"
    plan = _plan(tmp_path / "plan", [MICRO_SPEECH, HELLO], ["qemu-mps2-an386"],
                 extra='variants = ["mine"]\n')
    first = _matrix(plan, db, "--junit", tmp_path / "first.xml", env=env)
    assert first.returncode == 0, first.stdout + first.stderr

    # same outputs, more instructions: the softmax spins after finding its row maximum
    marker = "    for (c = 0; c < p->depth; ++c) if (row[c] > max_value) max_value = row[c];\n"
    assert source.count(marker) == 1
    (kernels / "softmax.c").write_text(source.replace(marker, marker + (
        "    { volatile int32_t spin = 0; for (c = 0; c < 100; ++c) spin += c; }\n")))
    second = _matrix(plan, db, "--junit", tmp_path / "second.xml", env=env)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "layer 3 SOFTMAX" in second.stdout

    cases = _cases(tmp_path / "second.xml")
    grew = cases["qemu-mps2-an386::tflm_micro_speech_int8[mine] regression.instructions"]
    failure = grew.find("failure")
    assert failure is not None and "layer 3 SOFTMAX" in failure.get("message")
    for name in ("bit_exact", "regression.ram_bytes"):  # (the spin loop adds flash)
        assert cases[f"qemu-mps2-an386::tflm_micro_speech_int8[mine] {name}"] \
            .find("failure") is None
    history = hilbench("history", "tflm_micro_speech_int8", "--board", "qemu-mps2-an386",
                       "--db", db)
    assert history.returncode == 0 and "regression.instructions" in history.stdout

    html = tmp_path / "html"
    report = hilbench("report", "--db", db, "--html", html)
    assert report.returncode == 0, report.stderr
    with Store(db) as store:
        failed = [j for j in store.jobs() if j.status == "fail"]
    assert [j.model for j in failed] == ["tflm_micro_speech_int8"]
    run_page = (html / "runs" / f"{failed[0].id}.html").read_text()
    assert "regression.instructions" in run_page and "layer 3 SOFTMAX" in run_page
    assert f'href="runs/{failed[0].id}.html">fail<' in (html / "index.html").read_text()

    page = browser.visit((html / "index.html").as_uri())
    browser.save(page, tmp_path / "index.png")
    assert page.console == []
    assert page.requests == [(html / "index.html").as_uri()]  # the page itself, nothing else
    assert "fail" in page.text and "history" in page.text and len(page.screenshot) > 20_000
    run = browser.visit((html / "runs" / f"{failed[0].id}.html").as_uri())
    assert run.console == [] and len(run.requests) == 1
    assert "per-layer profile" in run.text and "layer 3 SOFTMAX" in run.text
