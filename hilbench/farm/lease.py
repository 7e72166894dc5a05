"""Places for jobs: a job's board is matched to the places tagged `board=<board name>`, one
is acquired (or waited for, up to a timeout, with a message naming who holds them), and
every place this process acquired is released on every way out: return, exception, SIGINT,
SIGTERM (turned into KeyboardInterrupt while a Farm is open). A SIGKILL cannot be caught:
the place stays acquired by this host/user until `labgrid-client -p PLACE release --kick`
(see docs/farm.md), which is what labgrid offers for stale locks.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import FrameType
from typing import Any

from hilbench.errors import PlaceError
from hilbench.farm.client import FarmClient, PlaceResource

BOARD_TAG = "board"
NEEDED = ("NetworkSerialPort", "HilbenchPyocdProbe")  # what a job uses on a place
POLL_SECONDS = 1.0
COOL_DOWN = 1.5  # seconds a released place rests: its exporter frees its resources meanwhile
RESOURCE_WAIT = 10.0  # seconds an acquired place's resources may take to become available


@dataclass(frozen=True)
class PlaceLease:
    """An acquired place, as a job needs it: plain data, so it crosses to a worker process."""
    place: str
    exporter: str
    host: str  # where the exporter serves the place's resources
    resources: tuple[PlaceResource, ...] = field(default=())

    def resource(self, cls: str) -> dict[str, Any]:
        for resource in self.resources:
            if resource.cls == cls:
                return resource.params
        raise PlaceError(f"place {self.place} has no {cls} resource")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlaceLease:
        return cls(data["place"], data["exporter"], data["host"],
                   tuple(PlaceResource(**r) for r in data["resources"]))


class Farm:
    """The places this process holds on one coordinator; a context manager that releases
    them all on leaving, and turns SIGTERM into KeyboardInterrupt meanwhile."""

    def __init__(self, client: FarmClient) -> None:
        self.client = client
        self.held: dict[str, PlaceLease] = {}
        self.unusable: dict[str, str] = {}  # place -> why, for this run
        self.attempted: set[str] = set()  # acquired, or asked for: released on leaving
        self.released: dict[str, float] = {}  # place -> when this process released it
        self._previous_handler: Any = None

    def places_for(self, board: str) -> list[str]:
        return [p.name for p in self.client.places() if p.tags.get(BOARD_TAG) == board]

    def try_acquire(self, board: str, exclude: frozenset[str] = frozenset()) \
            -> PlaceLease | None:
        """A free, usable place tagged for `board` (not in `exclude`), acquired; or None."""
        for place in self.client.places():
            if (place.tags.get(BOARD_TAG) != board or place.acquired or place.name in exclude
                    or place.name in self.unusable
                    or time.monotonic() - self.released.get(place.name, -COOL_DOWN) < COOL_DOWN):
                continue
            self.attempted.add(place.name)
            try:
                self.client.acquire(place.name)
            except PlaceError:
                continue  # another client was quicker
            try:
                lease = self._lease(place.name)
            except PlaceError as exc:
                self.client.release(place.name)
                self.attempted.discard(place.name)
                if not self.client.exported(place.name):
                    self.unusable[place.name] = str(exc)  # its exporter is gone
                # else: its exporter was still freeing the resources from the last lease,
                # and the coordinator gave the place none of them; try again later
                continue
            self.held[place.name] = lease
            return lease
        return None

    def _lease(self, name: str) -> PlaceLease:
        # right after an acquire the exporter may still be (re)starting a resource's server
        # (ser2net): it shows as unavailable for a moment
        deadline = time.monotonic() + RESOURCE_WAIT
        while True:
            try:
                resources = tuple(self.client.resources(name))
                break
            except PlaceError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        classes = {r.cls for r in resources}
        missing = [cls for cls in NEEDED if cls not in classes]
        if missing:
            raise PlaceError(f"place {name} lacks {', '.join(missing)} (its exporter gone?)")
        serial = next(r for r in resources if r.cls == "NetworkSerialPort")
        return PlaceLease(name, serial.exporter, str(serial.params.get("host")), resources)

    def blocked_message(self, board: str, exclude: frozenset[str] = frozenset()) -> str:
        """Why no place for `board` can be had now: who holds each, or that none exists."""
        places = [p for p in self.client.places() if p.tags.get(BOARD_TAG) == board]
        if not places:
            return f"no place on the labgrid coordinator {self.client.address} is tagged " \
                   f"{BOARD_TAG}={board}"
        reasons = []
        for place in places:
            if place.name in exclude:
                reasons.append(f"{place.name} failed this job before")
            elif place.name in self.unusable:
                reasons.append(f"{place.name} unusable: {self.unusable[place.name]}")
            elif place.acquired:
                reasons.append(f"{place.name} held by {place.acquired}")
        return f"no free place tagged {BOARD_TAG}={board}: " + "; ".join(reasons)

    def acquire(self, board: str, timeout: float, exclude: frozenset[str] = frozenset()) \
            -> PlaceLease:
        """A place for `board`, waiting up to `timeout` seconds for one to be released."""
        deadline = time.monotonic() + timeout
        while True:
            lease = self.try_acquire(board, exclude)
            if lease is not None:
                return lease
            if not self.waitable(board, exclude) or time.monotonic() >= deadline:
                raise PlaceError(f"{self.blocked_message(board, exclude)} (waited "
                                 f"{timeout:.0f} s)")
            time.sleep(POLL_SECONDS)

    def waitable(self, board: str, exclude: frozenset[str] = frozenset()) -> bool:
        """Some place for `board` may become free (it is held, not failed or broken)."""
        return any(p.tags.get(BOARD_TAG) == board and p.name not in exclude
                   and p.name not in self.unusable for p in self.client.places())

    def release(self, lease: PlaceLease) -> None:
        self.held.pop(lease.place, None)
        self.attempted.discard(lease.place)
        self.client.release(lease.place)
        self.released[lease.place] = time.monotonic()

    def release_all(self) -> None:
        """Every place this process holds, including one whose acquire an interrupt cut
        short (acquired on the coordinator, never handed to a job)."""
        errors = []
        for lease in list(self.held.values()):
            try:
                self.release(lease)
            except PlaceError as exc:
                errors.append(str(exc))
        try:
            stray = [p.name for p in self.client.places()
                     if p.name in self.attempted and p.acquired == self.client.identity]
            for name in stray:
                self.client.release(name)
        except PlaceError as exc:
            errors.append(str(exc))
        if errors:
            raise PlaceError("; ".join(errors))

    def __enter__(self) -> Farm:
        self._previous_handler = signal.signal(signal.SIGTERM, _interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.release_all()
        finally:
            signal.signal(signal.SIGTERM, self._previous_handler or signal.SIG_DFL)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def open_farm(spec: str) -> Iterator[Farm]:
    """`--farm labgrid[:HOST:PORT]` -> an open Farm; everything held is released after."""
    from hilbench.farm.client import FarmClient, coordinator_address

    with FarmClient(coordinator_address(spec)) as client, Farm(client) as farm:
        yield farm
