"""The results store: one SQLite file (WAL), one row per matrix run, per job and per layer.

Each job is committed the moment it finishes, so a matrix killed at any point keeps every
finished job; `--resume` finds the last unfinished run of the same plan and runs only the
jobs it lacks. The default file lives in the user's data folder (platformdirs), e.g.
~/.local/share/hilbench/results.sqlite.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hilbench.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS matrix_runs (
    id INTEGER PRIMARY KEY,
    plan_path TEXT NOT NULL,
    plan_digest TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,               -- NULL: killed or still running (what --resume continues)
    jobs INTEGER NOT NULL,
    hilbench_version TEXT,
    git_commit TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    matrix_run INTEGER NOT NULL REFERENCES matrix_runs(id),
    job_key TEXT NOT NULL,
    model TEXT NOT NULL,
    model_path TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    board TEXT NOT NULL,
    variant TEXT NOT NULL,
    memory TEXT NOT NULL DEFAULT 'inplace',  -- the memory mode asked for (--memory)
    hilbench_version TEXT,
    git_commit TEXT,
    started REAL NOT NULL,        -- Unix time
    duration REAL NOT NULL,       -- seconds
    status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'skipped', 'error')),
    message TEXT,
    vectors INTEGER, seed INTEGER,
    bit_exact INTEGER, mismatches INTEGER,
    instructions INTEGER, cycles INTEGER, cycles_estimated INTEGER, latency_us REAL,
    flash_bytes INTEGER, ram_static INTEGER, arena_bytes INTEGER, stack_peak INTEGER,
    ram_bytes INTEGER, link_bytes_per_s REAL,
    checks TEXT NOT NULL DEFAULT '[]',   -- JSON list of {name, passed, actual, limit, detail}
    record TEXT,                          -- the run's JSON document
    place TEXT, exporter TEXT, exporter_host TEXT,   -- a board-farm job's labgrid place
    retried INTEGER NOT NULL DEFAULT 0,   -- 1: a first attempt failed on another place
    UNIQUE (matrix_run, job_key)
);
CREATE TABLE IF NOT EXISTS layers (
    job INTEGER NOT NULL REFERENCES jobs(id),
    layer INTEGER NOT NULL,
    op TEXT NOT NULL,
    macs INTEGER, instructions INTEGER, cycles INTEGER,
    PRIMARY KEY (job, layer)
);
CREATE INDEX IF NOT EXISTS jobs_history ON jobs (model_sha256, board, variant, started);
"""
DEFAULT_MEMORY = "inplace"
# columns added after the first release: (table, column, declaration) for older stores
# (table, column, declaration) added since stores were first made; CREATE TABLE IF NOT
# EXISTS keeps an old store's table as it was
_ADDED_COLUMNS = (("jobs", "memory", f"TEXT NOT NULL DEFAULT '{DEFAULT_MEMORY}'"),
                  ("jobs", "place", "TEXT"), ("jobs", "exporter", "TEXT"),
                  ("jobs", "exporter_host", "TEXT"),
                  ("jobs", "retried", "INTEGER NOT NULL DEFAULT 0"))


def default_db_path() -> Path:
    try:
        from platformdirs import user_data_dir

        return Path(user_data_dir("hilbench", appauthor=False)) / "results.sqlite"
    except ImportError:
        return Path.home() / ".local" / "share" / "hilbench" / "results.sqlite"


@dataclass(frozen=True)
class JobRow:
    """One stored job, as the reports read it."""
    id: int
    matrix_run: int
    job_key: str
    model: str
    model_sha256: str
    board: str
    variant: str
    memory: str  # the memory mode asked for
    started: float
    duration: float
    status: str
    message: str | None
    instructions: int | None
    cycles: int | None
    latency_us: float | None
    flash_bytes: int | None
    ram_bytes: int | None
    bit_exact: bool | None
    mismatches: int | None
    checks: list[dict[str, Any]]
    row: dict[str, Any]

    @property
    def series(self) -> str:
        """What tells this job's runs apart from the model's other runs on the board: the
        kernel variant, and the memory mode when it is not the default."""
        return self.variant if self.memory == DEFAULT_MEMORY else \
            f"{self.variant}, memory {self.memory}"

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["passed"]]


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives a kill
            self.db.executescript(SCHEMA)
            self._add_columns()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the results store {path}: {exc}") from None

    def _add_columns(self) -> None:
        """A store written by an older hilbench gets the newer columns (their defaults say
        what those runs were: before memory modes, every arena was planned one way)."""
        for table, column, declaration in _ADDED_COLUMNS:
            have = {r["name"] for r in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                with self.db:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # matrix runs
    def start_matrix_run(self, plan_path: Path, plan_digest: str, jobs: int, started: float,
                         version: str, commit: str | None) -> int:
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO matrix_runs (plan_path, plan_digest, started, jobs, "
                "hilbench_version, git_commit) VALUES (?, ?, ?, ?, ?, ?)",
                (str(plan_path), plan_digest, started, jobs, version, commit))
        return int(cursor.lastrowid)

    def unfinished_matrix_run(self, plan_path: Path, plan_digest: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM matrix_runs WHERE plan_path = ? AND plan_digest = ? AND finished "
            "IS NULL ORDER BY id DESC LIMIT 1", (str(plan_path), plan_digest)).fetchone()
        return None if row is None else int(row["id"])

    def finish_matrix_run(self, run_id: int, finished: float) -> None:
        with self.db:
            self.db.execute("UPDATE matrix_runs SET finished = ? WHERE id = ?",
                            (finished, run_id))

    def done_keys(self, run_id: int) -> set[str]:
        return {r["job_key"] for r in self.db.execute(
            "SELECT job_key FROM jobs WHERE matrix_run = ?", (run_id,))}

    def matrix_runs(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM matrix_runs ORDER BY id").fetchall()

    # jobs
    def add_job(self, fields: dict[str, Any], layers: list[dict[str, Any]]) -> int:
        """One finished job and its layers, in one transaction."""
        columns = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self.db:
            cursor = self.db.execute(f"INSERT INTO jobs ({columns}) VALUES ({marks})",
                                     tuple(fields.values()))
            job_id = int(cursor.lastrowid)
            self.db.executemany(
                "INSERT INTO layers (job, layer, op, macs, instructions, cycles) VALUES "
                "(?, ?, ?, ?, ?, ?)",
                [(job_id, l["index"], l["op"], l.get("macs"), l.get("instructions"),
                  l.get("cycles")) for l in layers])
        return job_id

    def previous(self, model_sha256: str, board: str, variant: str, vectors: int, seed: int,
                 before_run: int, memory: str = DEFAULT_MEMORY
                 ) -> tuple[JobRow, list[sqlite3.Row]] | None:
        """The last stored run of the same model file, board, variant and memory mode (with
        the same vectors and seed, so that exact counts compare) from an earlier matrix run."""
        row = self.db.execute(
            "SELECT * FROM jobs WHERE model_sha256 = ? AND board = ? AND variant = ? AND "
            "memory = ? AND vectors = ? AND seed = ? AND matrix_run < ? AND status IN "
            "('pass', 'fail') ORDER BY matrix_run DESC, id DESC LIMIT 1",
            (model_sha256, board, variant, memory, vectors, seed, before_run)).fetchone()
        if row is None:
            return None
        return _job(row), self.layers(int(row["id"]))

    def layers(self, job_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM layers WHERE job = ? ORDER BY layer",
                               (job_id,)).fetchall()

    def jobs(self, run_id: int | None = None) -> list[JobRow]:
        query, args = "SELECT * FROM jobs", ()
        if run_id is not None:
            query, args = query + " WHERE matrix_run = ?", (run_id,)
        return [_job(r) for r in self.db.execute(query + " ORDER BY id", args)]

    def history(self, model: str, board: str, variant: str | None = None) -> list[JobRow]:
        """Every stored run of a model (by name, or by file hash) on a board, oldest first."""
        query = ("SELECT * FROM jobs WHERE (model = ? OR model_sha256 = ?) AND board = ?"
                 + (" AND variant = ?" if variant else "") + " ORDER BY started, id")
        args = (model, model, board) + ((variant,) if variant else ())
        return [_job(r) for r in self.db.execute(query, args)]



def _job(row: sqlite3.Row) -> JobRow:
    data = dict(row)
    return JobRow(
        id=data["id"], matrix_run=data["matrix_run"], job_key=data["job_key"],
        model=data["model"], model_sha256=data["model_sha256"], board=data["board"],
        variant=data["variant"], memory=data["memory"], started=data["started"],
        duration=data["duration"],
        status=data["status"], message=data["message"], instructions=data["instructions"],
        cycles=data["cycles"], latency_us=data["latency_us"], flash_bytes=data["flash_bytes"],
        ram_bytes=data["ram_bytes"],
        bit_exact=None if data["bit_exact"] is None else bool(data["bit_exact"]),
        mismatches=data["mismatches"], checks=json.loads(data["checks"] or "[]"), row=data)
