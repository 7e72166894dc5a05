"""Run a plan's jobs N at a time, each in its own worker process, and store each result
the moment it arrives.

Scheduling: at most `jobs` workers at once; a QEMU board takes any number of them, a real
board (no [qemu] section: one physical device) one at a time. On a labgrid farm (`farm`),
each job runs on a place tagged with its board, acquired before its worker starts and
released when it ends: jobs of one board spread over all its free places, wait while
others hold them (up to `place_timeout`), and a job whose place failed (its target's
error, or a worker gone without an answer) is run once more on another place, marked
retried. Each finished job is
compared with the last stored run of the same model file, board, variant and memory
mode (exact instruction counts, RAM and flash may not grow: tolerance 0), then committed
with its checks and layers before the next result is looked at.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, \
    TimeElapsedColumn

from hilbench import __version__
from hilbench.compare.baseline import compare_baseline
from hilbench.compare.checks import Check
from hilbench.errors import PlaceError
from hilbench.matrix.plan import Job, Plan, model_digest
from hilbench.matrix.worker import job_spec
from hilbench.store.db import Store
from hilbench.targets.qemu import _die_with_parent


@dataclass
class JobOutcome:
    job: Job
    status: str  # pass, fail, skipped, error
    started: float  # Unix time
    duration: float
    checks: list[Check] = field(default_factory=list)
    message: str | None = None
    record: dict[str, Any] | None = None
    job_id: int | None = None
    place: Any = None  # the farm place it ran on (hilbench.farm.lease.PlaceLease)
    retried: bool = False


@dataclass
class _Pending:
    """A job waiting for a worker (and, on a farm, for a place)."""
    job: Job
    exclude: frozenset[str] = frozenset()  # places it failed on
    first_failure: str | None = None  # set on the retry
    waiting_since: float | None = None


@dataclass
class MatrixSummary:
    run_id: int
    outcomes: list[JobOutcome]
    resumed: bool
    already_done: int  # jobs of a resumed run finished before this invocation

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def git_commit(folder: Path) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


class _Worker:
    """One job's process and the thread that forwards its stdout lines."""

    def __init__(self, job: Job, spec_path: Path, lines: queue.Queue,
                 pending: _Pending | None = None, lease: Any = None) -> None:
        self.job = job
        self.pending = pending or _Pending(job)
        self.lease = lease
        self.started = time.time()
        self.clock = time.perf_counter()
        self.outcome: dict[str, Any] | None = None
        self.stderr_tail = ""
        # started from the main thread: PR_SET_PDEATHSIG follows the creating thread
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hilbench.matrix.worker", str(spec_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=_die_with_parent)
        self.reader = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self.reader.start()

    def _read(self, lines: queue.Queue) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue  # anything else a library printed
            if isinstance(message, dict):
                lines.put((self, message))
        self.stderr_tail = self.process.stderr.read()[-2000:]
        self.process.wait()
        lines.put((self, None))  # the end of this worker


def run_matrix(plan: Plan, store: Store, jobs: int = 1, resume: bool = False,
               console: Console | None = None, farm: Any = None,
               place_timeout: float = 600.0) -> MatrixSummary:
    """`farm`: an open hilbench.farm.lease.Farm to run every job on one of its places."""
    console = console or Console()
    todo = plan.jobs()
    run_id = store.unfinished_matrix_run(plan.path, plan.digest) if resume else None
    resumed = run_id is not None
    already = 0
    if run_id is None:
        if resume:
            console.print("no unfinished run of this plan in the store: starting a new one")
        run_id = store.start_matrix_run(plan.path, plan.digest, len(todo), time.time(),
                                        __version__, git_commit(plan.path.parent))
    else:
        done = store.done_keys(run_id)
        already = sum(job.key in done for job in todo)
        todo = [job for job in todo if job.key not in done]
        console.print(f"resuming matrix run {run_id}: {already} job(s) done, "
                      f"{len(todo)} to run")
    commit = git_commit(plan.path.parent)
    digests = {m: model_digest(m) for m in plan.models}
    outcomes: list[JobOutcome] = []
    lines: queue.Queue = queue.Queue()
    running: dict[_Worker, TaskID] = {}
    pending = [_Pending(job) for job in todo]

    with tempfile.TemporaryDirectory(prefix="hilbench-matrix-") as scratch, \
            Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                     TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                     console=console) as progress:
        overall = progress.add_task(f"matrix run {run_id}", total=len(todo),
                                    state=f"{len(todo)} jobs, {jobs} at a time")

        def done(outcome: JobOutcome) -> None:
            outcome.job_id = _store(store, run_id, outcome, digests[outcome.job.model], plan,
                                    commit)
            outcomes.append(outcome)
            progress.advance(overall)
            progress.console.print(_line(outcome))

        def place_for(item: _Pending) -> Any:
            """A leased place for the job, None to wait; fails the job when none will come."""
            board = item.job.board.name
            known = set(farm.unusable)
            lease = farm.try_acquire(board, item.exclude)
            for place in set(farm.unusable) - known:
                progress.console.print(f"[yellow]place  [/] {escape(place)} not used: "
                                       f"{escape(farm.unusable[place])}")
            if lease is not None:
                return lease
            now = time.monotonic()
            item.waiting_since = item.waiting_since or now
            ours = any(w.lease is not None and w.job.board.name == board for w in running)
            if not ours and (not farm.waitable(board, item.exclude)
                             or now - item.waiting_since > place_timeout):
                pending.remove(item)
                waited = f" (waited {now - item.waiting_since:.0f} s)" if farm.waitable(
                    board, item.exclude) else ""
                done(JobOutcome(item.job, "error", time.time(), now - item.waiting_since,
                                message=_retry_note(item) + farm.blocked_message(
                                    board, item.exclude) + waited, retried=bool(item.exclude)))
            return None

        def start_ready() -> None:
            busy = {w.job.board.name for w in running if w.job.board.qemu is None}
            for item in list(pending):
                job = item.job
                if len(running) >= jobs:
                    return
                lease = None
                if farm is not None:  # a place is one board: the lease is the lock
                    lease = place_for(item)
                    if lease is None:
                        continue
                elif job.board.qemu is None and job.board.name in busy:
                    continue  # one physical board runs one job at a time
                pending.remove(item)
                busy.add(job.board.name) if job.board.qemu is None else None
                spec_path = Path(scratch) / f"job{len(outcomes) + len(running)}-{id(item)}.json"
                spec_path.write_text(json.dumps(job_spec(
                    job.model, str(job.board.path) if job.board.path else job.board.name,
                    job.kernels, plan.vectors, plan.seed, plan.timeout,
                    plan.path if plan.budgets else None, job.memory,
                    None if lease is None else lease.to_json())))
                worker = _Worker(job, spec_path, lines, item, lease)
                where = "" if lease is None else f" on {lease.place}"
                running[worker] = progress.add_task(f"  {escape(job.key + where)}",
                                                    total=plan.vectors, state="starting")

        start_ready()
        while running or pending:
            try:  # jobs waiting for a place: look again every second
                worker, message = lines.get(timeout=1.0 if pending and farm else None)
            except queue.Empty:
                start_ready()
                continue
            task = running[worker]
            if message is None:  # the process ended
                progress.remove_task(task)
                del running[worker]
                if worker.lease is not None:
                    try:
                        farm.release(worker.lease)
                    except PlaceError as exc:
                        progress.console.print(f"[yellow]warning[/]: {escape(str(exc))}")
                retry = _place_failure(worker)
                if retry is not None:
                    progress.console.print(f"[yellow]retry  [/] {escape(worker.job.key)}: "
                                           f"{escape(retry)}; once more on another place")
                    pending.insert(0, _Pending(worker.job, worker.pending.exclude
                                               | {worker.lease.place}, retry))
                else:
                    done(_outcome(worker, store, run_id, plan, digests[worker.job.model]))
                start_ready()
            elif "state" in message:
                state = message["state"]
                if state == "running":
                    progress.update(task, completed=message["done"],
                                    state=f"running {message['done']}/{message['of']}")
                else:
                    progress.update(task, state=state)
            elif "outcome" in message:
                worker.outcome = message["outcome"]
                progress.update(task, state="done")
    store.finish_matrix_run(run_id, time.time())
    return MatrixSummary(run_id, outcomes, resumed, already)


def _failure(worker: _Worker) -> str:
    """Why a job ended in an error, with the place it ran on."""
    result = worker.outcome
    if result is None:  # the worker died without an answer
        tail = worker.stderr_tail.strip().splitlines()
        text = (f"worker exited with status {worker.process.returncode}"
                + (f": {tail[-1]}" if tail else ""))
    else:
        text = result["message"]
    lease = worker.lease
    return text if lease is None else \
        f"place {lease.place} (exporter {lease.exporter} on {lease.host}): {text}"


def _place_failure(worker: _Worker) -> str | None:
    """The failure, when the place (not the job) may be at fault and the job has not been
    retried yet: a worker gone without an answer, or its target's error."""
    if worker.lease is None or worker.pending.first_failure is not None:
        return None
    result = worker.outcome
    if result is None or (result["status"] == "error" and result.get("target_failed")):
        return _failure(worker)
    return None


def _retry_note(item: _Pending) -> str:
    return "" if item.first_failure is None else \
        f"retried after: {item.first_failure}; then: "


def _outcome(worker: _Worker, store: Store, run_id: int, plan: Plan,
             digest: str) -> JobOutcome:
    job, result = worker.job, worker.outcome
    duration = time.perf_counter() - worker.clock
    retried = worker.pending.first_failure is not None
    note = _retry_note(worker.pending)
    if result is None or result["status"] == "error":
        outcome = JobOutcome(job, "error", worker.started, duration,
                             message=note + _failure(worker))
    elif result["status"] == "skipped":
        outcome = JobOutcome(job, "skipped", worker.started, duration,
                             message=note + result["message"])
    else:
        checks = [Check(**c) for c in result["checks"]]
        checks += regression_checks(store, run_id, job, digest, plan, result)
        outcome = JobOutcome(job, "pass" if all(c.passed for c in checks) else "fail",
                             worker.started, duration, checks, record=result["record"],
                             message=note.removesuffix("; then: ") or None)
    outcome.place, outcome.retried = worker.lease, retried
    return outcome


def regression_checks(store: Store, run_id: int, job: Job, digest: str, plan: Plan,
                      result: dict[str, Any]) -> list[Check]:
    """Against the last stored run of the same model file, board and variant: exact
    instruction counts, RAM and flash may not grow at all; the layers that grew are named."""
    found = store.previous(digest, job.board.name, job.variant, plan.vectors, plan.seed, run_id,
                           job.memory)
    if found is None:
        return []
    before, layers = found
    baseline = {"vectors": plan.vectors, "seed": plan.seed,
                "instructions": before.instructions, "cycles": before.cycles,
                "flash_bytes": before.flash_bytes, "ram_bytes": before.ram_bytes,
                "layer_instructions": [l["instructions"] for l in layers]}
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(before.started))
    checks = compare_baseline(baseline, result["figures"], 0.0)
    return [replace(c, name=c.name.replace("baseline.", "regression."),
                    detail=(c.detail + "; " if c.detail else "")
                    + f"previous: matrix run {before.matrix_run}, {when}") for c in checks]


def _store(store: Store, run_id: int, outcome: JobOutcome, digest: str, plan: Plan,
           commit: str | None) -> int:
    job, record = outcome.job, outcome.record or {}
    ram = record.get("ram_bytes") or {}
    cycles = record.get("cycles") or {}
    latency = record.get("latency_us") or {}
    fields = {
        "matrix_run": run_id, "job_key": job.key, "model": job.model.stem,
        "model_path": str(job.model), "model_sha256": digest, "board": job.board.name,
        "variant": job.variant, "memory": job.memory, "hilbench_version": __version__,
        "git_commit": commit,
        "started": outcome.started, "duration": round(outcome.duration, 3),
        "status": outcome.status, "message": outcome.message,
        "vectors": plan.vectors, "seed": plan.seed,
        "bit_exact": record.get("bit_exact"), "mismatches": record.get("mismatches"),
        "instructions": record.get("instructions"), "cycles": cycles.get("max"),
        "cycles_estimated": cycles.get("estimated"), "latency_us": latency.get("max"),
        "flash_bytes": record.get("flash_bytes"), "ram_static": ram.get("static"),
        "arena_bytes": ram.get("arena"), "stack_peak": ram.get("stack_peak"),
        "ram_bytes": ram.get("total"), "link_bytes_per_s": record.get("link_bytes_per_s"),
        "checks": json.dumps([asdict(c) for c in outcome.checks]),
        "record": json.dumps(record) if record else None,
        "place": None if outcome.place is None else outcome.place.place,
        "exporter": None if outcome.place is None else outcome.place.exporter,
        "exporter_host": None if outcome.place is None else outcome.place.host,
        "retried": int(outcome.retried),
    }
    return store.add_job(fields, record.get("layers") or [])


def _line(outcome: JobOutcome) -> str:
    colour = {"pass": "green", "fail": "red", "skipped": "yellow", "error": "red"}
    where = "" if outcome.place is None else f" on {outcome.place.place}"
    retried = ", retried" if outcome.retried else ""
    text = f"{outcome.status:7} {outcome.job.key}{where} ({outcome.duration:.1f} s{retried})"
    failed = [c for c in outcome.checks if not c.passed]
    if failed:
        text += ": " + "; ".join(f"{c.name} {c.actual} (limit {c.limit})"
                                 + (f" {c.detail}" if c.detail else "") for c in failed)
    elif outcome.message:
        text += f": {outcome.message}"
    return f"[{colour[outcome.status]}]{escape(text[:7])}[/]{escape(text[7:])}"
