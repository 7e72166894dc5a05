"""The labgrid board farm, end to end on loopback: a real coordinator, two QEMU exporter
hosts (hilbench.farm.qemu_exporter: labgrid-exporter, ser2net, QEMU) serving four places of
two board kinds, and a plain labgrid exporter describing a real board whose probe is not
attached. Every process is started in its own session and the module checks at the end
that none of those sessions has a process left."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import SHARED_MODELS, assert_one_line_error, hilbench

pytestmark = [pytest.mark.hil, pytest.mark.xdist_group("farm")]

import hilbench.farm as _grpc_fork_safe  # noqa: E402,F401 - imported before labgrid

labgrid = pytest.importorskip("labgrid")
BIN = Path(sys.executable).parent
BOARDS = ("qemu-mps2-an386", "qemu-mps2-an385")
HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
SPEECH = SHARED_MODELS / "tflm_micro_speech_int8.tflite"
AD = SHARED_MODELS / "ad_autoencoder_int8.tflite"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _session_processes(sessions: set[int]) -> list[str]:
    """Processes still alive in the sessions the fixture started."""
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            name = (proc / "comm").read_text().strip()
        except (OSError, IndexError):
            continue
        if int(fields[3]) in sessions and fields[0] != "Z":  # field 6 of stat: session
            left.append(f"{proc.name} {name}")
    return left


class Farm:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.address = f"127.0.0.1:{_free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], ready: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "w+")
        process = subprocess.Popen(command, cwd=self.folder, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, **(env or {})})
        self.processes[name] = process
        deadline = time.monotonic() + 60
        while ready is not None and ready not in (self.folder / f"{name}.log").read_text():
            assert process.poll() is None and time.monotonic() < deadline, \
                (self.folder / f"{name}.log").read_text()[-3000:]
            time.sleep(0.2)
        return process

    def qemu_exporter(self, name: str, places: list[str]) -> subprocess.Popen:
        args = [a for place in places for a in ("--place", place)]
        return self.start(name, [sys.executable, "-m", "hilbench.farm.qemu_exporter",
                                 "--coordinator", self.address, "--name", name,
                                 "--define-places", "--workdir", str(self.folder / name),
                                 *args], ready="ready:")

    def kill(self, name: str) -> None:
        """The whole exporter host at once, as when it loses power."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    def stop(self) -> list[str]:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        sessions = {p.pid for p in self.processes.values()}
        left = _session_processes(sessions)
        for pid in sessions:  # whatever did not stop is killed, then reported
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left

    def client(self, *args: str, user: str = "alice") -> subprocess.CompletedProcess:
        """labgrid's own client, as another user of the farm."""
        return subprocess.run([str(BIN / "labgrid-client"), "-x", self.address, *args],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "LG_USERNAME": user})

    def hold(self, place: str) -> None:
        """Acquire as alice; right after a release the exporter may still be freeing the
        place's resources, so try for a few seconds."""
        deadline = time.monotonic() + 15
        while (done := self.client("-p", place, "acquire")).returncode != 0:
            assert time.monotonic() < deadline, done.stdout + done.stderr
            time.sleep(0.5)

    def in_use(self, place: str) -> bool:
        """Acquired with its resources (not an acquire the coordinator gave none)."""
        from hilbench.farm.client import FarmClient

        with FarmClient(self.address) as client:
            client.sync()
            return bool(client.session.places[place].acquired_resources)

    def holders(self) -> dict[str, str | None]:
        from hilbench.farm.client import FarmClient

        with FarmClient(self.address) as client:
            return {p.name: p.acquired for p in client.places()}


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    farm = Farm(tmp_path_factory.mktemp("farm"))
    try:
        farm.start("coordinator", [str(BIN / "labgrid-coordinator"), "-l", farm.address])
        time.sleep(1.0)
        for host in ("ex1", "ex2"):
            farm.qemu_exporter(host, [f"{host}-an386=qemu-mps2-an386",
                                      f"{host}-an385=qemu-mps2-an385"])
        # a lab's real board, with a probe that is not attached to this machine
        (farm.folder / "lab.yaml").write_text(
            "nucleo-1:\n"
            "  NetworkSerialPort: {host: 127.0.0.1, port: 9, speed: 115200}\n"
            "  HilbenchPyocdProbe: {unique_id: '0669FF3530324B4E43DEAD01', "
            "board: nucleo-f401re, target_type: stm32f401retx}\n")
        farm.start("lab", [str(BIN / "labgrid-exporter"), "-c", farm.address, "--name", "lab",
                           "--hostname", "127.0.0.1", "lab.yaml"], ready="Exporter ready")
        from hilbench.farm.client import FarmClient

        with FarmClient(farm.address) as client:
            client.define_place("nucleo-1", {"board": "nucleo-f401re"}, ["lab/nucleo-1/*"])
        yield farm
    finally:
        left = farm.stop()
    assert not left, f"farm processes left running: {left}"


def _plan(folder: Path, models: list[Path], boards: tuple[str, ...], vectors: int) -> Path:
    plan = folder / "plan.toml"
    plan.write_text("[matrix]\n"
                    f"models = [{', '.join(repr(str(m)) for m in models)}]\n"
                    f"boards = [{', '.join(repr(b) for b in boards)}]\n"
                    f"vectors = {vectors}\ntimeout = 20\n")
    return plan


def _jobs(db: Path) -> list[dict]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in connection.execute("SELECT * FROM jobs ORDER BY id")]
        except sqlite3.OperationalError:  # the store is still being made
            return []


def test_plan_spreads_over_places_bit_exact_and_releases(farm: Farm, tmp_path: Path):
    db = tmp_path / "results.sqlite"
    result = hilbench("matrix", _plan(tmp_path, [HELLO, SPEECH, AD], BOARDS, 1), "-j", "4",
                      "--db", db, "--farm", f"labgrid:{farm.address}")
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = _jobs(db)
    assert len(jobs) == 6 and all(j["status"] == "pass" and j["bit_exact"] for j in jobs)
    assert {j["place"] for j in jobs} == {"ex1-an386", "ex1-an385", "ex2-an386", "ex2-an385"}
    assert all(j["place"].endswith(j["board"].rsplit("-", 1)[1]) for j in jobs)
    assert {j["exporter"] for j in jobs} == {"ex1", "ex2"}
    assert {j["exporter_host"] for j in jobs} == {"127.0.0.1"}
    assert not any(j["retried"] for j in jobs)
    assert not any(farm.holders().values())  # every place released


def test_place_held_by_another_client_times_out_then_waits(farm: Farm, tmp_path: Path):
    for place in ("ex1-an385", "ex2-an385"):
        farm.hold(place)
    try:
        result = hilbench("run", HELLO, "--board", "qemu-mps2-an385", "--vectors", "1",
                          "--farm", f"labgrid:{farm.address}", "--place-timeout", "2")
        assert_one_line_error(result, "no free place tagged board=qemu-mps2-an385",
                              "ex1-an385 held by", "/alice", "waited 2 s")
        waiting = subprocess.Popen(
            [sys.executable, "-m", "hilbench", "run", str(HELLO), "--board", "qemu-mps2-an385",
             "--vectors", "1", "--farm", f"labgrid:{farm.address}", "--place-timeout", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(2)
        assert waiting.poll() is None  # still waiting for a place
        assert farm.client("-p", "ex2-an385", "release").returncode == 0
        output, _ = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, output
        assert "on place ex2-an385" in output and "bit-exact" in output
    finally:
        for place in ("ex1-an385", "ex2-an385"):
            farm.client("-p", place, "release")
    assert not any(farm.holders().values())


def test_sigterm_releases_sigkill_leaves_a_stale_lock(farm: Farm):
    """SIGTERM (and SIGINT) release the place; a SIGKILLed hilbench cannot, and the place
    stays acquired by its host/user until labgrid's release clears it."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        process = subprocess.Popen(
            [sys.executable, "-m", "hilbench", "run", str(AD), "--board", "qemu-mps2-an386",
             "--vectors", "3", "--farm", f"labgrid:{farm.address}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not any(farm.holders().values()):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signum)
        process.wait(timeout=30)
        held = {p: h for p, h in farm.holders().items() if h}
        if signum == signal.SIGTERM:
            assert process.returncode == 130 and not held, (held, process.stderr.read())
        else:
            assert len(held) == 1, held
            place, holder = held.popitem()
            # the same user on the same host can release it; anyone else needs --kick
            user = holder.split("/")[1]
            assert "--kick" in farm.client("-p", place, "release").stderr
            assert farm.client("-p", place, "release", user=user).returncode == 0
    assert not any(farm.holders().values())


def test_exporter_killed_mid_run_retries_elsewhere(farm: Farm, tmp_path: Path):
    farm.qemu_exporter("ex3", ["ex3-an386=qemu-mps2-an386"])
    for place in ("ex1-an386", "ex2-an386"):  # so the plan starts on ex3
        farm.hold(place)
    db = tmp_path / "results.sqlite"
    matrix = subprocess.Popen(
        [sys.executable, "-m", "hilbench", "matrix",
         str(_plan(tmp_path, [HELLO, SPEECH], BOARDS[:1], 2)), "-j", "1", "--db", str(db),
         "--farm", f"labgrid:{farm.address}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while not _jobs(db) or not farm.in_use("ex3-an386"):
            assert matrix.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        farm.kill("ex3")  # while the second job runs on ex3-an386
        for place in ("ex1-an386", "ex2-an386"):
            assert farm.client("-p", place, "release").returncode == 0
        output, _ = matrix.communicate(timeout=300)
    finally:
        if matrix.poll() is None:
            matrix.kill()
            matrix.wait()
        for place in ("ex1-an386", "ex2-an386"):  # whatever happened above
            farm.client("-p", place, "release")
    assert matrix.returncode == 0, output
    jobs = _jobs(db)
    assert len(jobs) == 2 and all(j["status"] == "pass" and j["bit_exact"] for j in jobs)
    assert jobs[0]["place"] == "ex3-an386" and not jobs[0]["retried"]  # kept as it was
    retried = [j for j in jobs if j["retried"]]
    assert len(retried) == 1 and retried[0]["place"] in ("ex1-an386", "ex2-an386"), \
        (output, [(j["place"], j["retried"], j["message"]) for j in jobs])
    assert "place ex3-an386 (exporter ex3 on 127.0.0.1)" in retried[0]["message"]
    assert "once more on another place" in output
    assert not any(farm.holders().values())


def test_run_names_the_unattached_probe(farm: Farm):
    result = hilbench("run", HELLO, "--board", "nucleo-f401re", "--vectors", "1",
                      "--farm", f"labgrid:{farm.address}")
    assert_one_line_error(result, "debug probe 0669FF3530324B4E43DEAD01 is not attached")
    assert not any(farm.holders().values())
