"""The coordinator, from hilbench's side: one labgrid ClientSession on its own event-loop
thread, so that the synchronous matrix runner can call it at any time and gRPC keepalives
are answered while jobs run.

Only what a job needs: the places and their tags, who holds one, acquire, release, and (for
setting up a farm or a test) defining a place. labgrid's own errors become PlaceError or
ConfigError with one line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hilbench.errors import ConfigError, PlaceError

DEFAULT_PORT = 20408  # labgrid's coordinator port
CALL_TIMEOUT = 30.0
T = TypeVar("T")


@dataclass(frozen=True)
class PlaceInfo:
    """A place as the coordinator shows it."""
    name: str
    tags: dict[str, str]
    acquired: str | None  # "host/user" of the holder, or None
    reservation: str | None = None


@dataclass(frozen=True)
class PlaceResource:
    """One resource of an acquired place: its labgrid class and construction arguments."""
    exporter: str
    group: str
    name: str
    cls: str
    params: dict[str, Any] = field(default_factory=dict)


def coordinator_address(spec: str) -> str:
    """`labgrid` or `labgrid:HOST[:PORT]` (as --farm takes it) -> HOST:PORT; without a
    host, LG_COORDINATOR or labgrid's default on this machine."""
    kind, _, address = spec.partition(":")
    if kind != "labgrid":
        raise ConfigError(f"unknown farm {spec!r}: the only farm kind is labgrid "
                          f"(--farm labgrid or --farm labgrid:HOST:PORT)")
    address = address or os.environ.get("LG_COORDINATOR", "") or f"127.0.0.1:{DEFAULT_PORT}"
    host, _, port = address.rpartition(":")
    if not host:
        return f"{address}:{DEFAULT_PORT}"
    if not port.isdigit():
        raise ConfigError(f"bad coordinator address {address!r}: expected HOST:PORT")
    return address


class FarmClient:
    """A session with a labgrid coordinator; close() ends it (a context manager)."""

    def __init__(self, address: str) -> None:
        # labgrid logs a lost coordinator on the root logger; hilbench reports it as one
        # line (PlaceError), so Python's last-resort handler must not print it too
        root = logging.getLogger()
        if not root.handlers:
            root.addHandler(logging.NullHandler())
        from labgrid.remote.client import ClientSession

        self.address = address
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="labgrid-client",
                                        daemon=True)
        self._thread.start()

        async def start() -> Any:
            session = ClientSession(address, self.loop)
            await session.start()
            return session

        try:
            self.session = self._call(start(), f"connect to the labgrid coordinator {address}")
        except BaseException:
            self._stop_loop()
            raise

    @property
    def identity(self) -> str:
        """What the coordinator calls this client in `acquired`: host/user."""
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    def _call(self, coroutine: Coroutine[Any, Any, T], what: str,
              timeout: float = CALL_TIMEOUT) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except KeyboardInterrupt:  # SIGINT/SIGTERM: let the call end, so it can be undone
            try:
                future.result(CALL_TIMEOUT)
            except Exception:
                pass
            raise
        except TimeoutError:
            future.cancel()
            raise PlaceError(f"cannot {what}: no answer within {timeout:.0f} s") from None
        except Exception as exc:  # grpc's and labgrid's errors: one line
            detail = getattr(exc, "details", None)
            text = detail() if callable(detail) else str(exc)
            raise PlaceError(f"cannot {what}: {text or type(exc).__name__}") from None

    def _rpc(self, method: str, request: Any, what: str) -> None:
        async def call() -> None:
            await getattr(self.session.stub, method)(request)
            await self.session.sync_with_coordinator()

        self._call(call(), what)

    def sync(self) -> None:
        async def call() -> bool:
            return await self.session.sync_with_coordinator()

        if not self._call(call(), "reach the labgrid coordinator"):
            raise PlaceError(f"lost the labgrid coordinator {self.address}")

    def places(self) -> list[PlaceInfo]:
        self.sync()
        return [PlaceInfo(name, dict(place.tags), place.acquired, place.reservation)
                for name, place in sorted(self.session.places.items())]

    def place(self, name: str) -> PlaceInfo:
        for place in self.places():
            if place.name == name:
                return place
        raise PlaceError(f"no place {name!r} on the labgrid coordinator {self.address}")

    def acquire(self, name: str) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        self._rpc("AcquirePlace", pb2.AcquirePlaceRequest(placename=name),
                  f"acquire place {name}")

    def release(self, name: str) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        self._rpc("ReleasePlace", pb2.ReleasePlaceRequest(placename=name),
                  f"release place {name}")

    def resources(self, name: str) -> list[PlaceResource]:
        """The resources the coordinator gave an acquired place, with their parameters
        (host and port of a NetworkSerialPort, a probe's unique ID, ...)."""
        self.sync()
        place = self.session.places[name]
        found = []
        for exporter, group, cls, resource in place.acquired_resources:
            try:
                entry = self.session.resources[exporter][group][resource]
            except KeyError:
                raise PlaceError(f"place {name}: resource {exporter}/{group}/{resource} is "
                                 f"gone (exporter {exporter} disconnected?)") from None
            if not entry.avail:
                raise PlaceError(f"place {name}: resource {exporter}/{group}/{resource} is "
                                 f"not available on its exporter")
            found.append(PlaceResource(exporter, group, resource, entry.cls,
                                       dict(entry.args)))
        return found

    def exported(self, name: str) -> bool:
        """Whether any exporter now publishes a resource the place matches."""
        self.sync()
        place = self.session.places[name]
        return any("cls" in entry.data  # an entry without one was deleted
                   and place.hasmatch((exporter, group, entry.cls, resource))
                   for exporter, groups in self.session.resources.items()
                   for group, entries in groups.items()
                   for resource, entry in entries.items())

    def define_place(self, name: str, tags: dict[str, str], matches: list[str]) -> None:
        """Create a place (if new) with these tags and resource matches
        ("exporter/group/class/name" patterns)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        if name not in {p.name for p in self.places()}:
            self._rpc("AddPlace", pb2.AddPlaceRequest(name=name), f"create place {name}")
        self._rpc("SetPlaceTags", pb2.SetPlaceTagsRequest(placename=name, tags=tags),
                  f"tag place {name}")
        for pattern in matches:
            self._rpc("AddPlaceMatch", pb2.AddPlaceMatchRequest(placename=name,
                                                                pattern=pattern),
                      f"add match {pattern} to place {name}")

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    def close(self) -> None:
        async def stop() -> None:
            await self.session.stop()
            await self.session.close()

        try:
            self._call(stop(), "close the coordinator session", timeout=5)
        except PlaceError:
            pass  # closing must not hide the error that got us here
        finally:
            self._stop_loop()

    def __enter__(self) -> FarmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
