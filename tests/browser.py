"""Open a page in Debian's headless chromium through the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on file descriptors 3 and 4, no websocket
library), and collect console messages, exceptions, network requests and a screenshot."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    console: list[str] = field(default_factory=list)  # console calls, log entries, exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    screenshot: bytes = b""
    text: str = ""


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int) -> None:
        self.write_fd, self.read_fd = write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def receive(self) -> dict:
        while b"\0" not in self.buffer:
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event["method"] == method:
                    self.events.remove(event)
                    return event
            self.receive()
        raise TimeoutError(method)


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The pipe's ends moved above 9, so that placing them on 3 and 4 never overwrites one."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved  # type: ignore[return-value]


def visit(url: str, width: int = 1300, height: int = 1600) -> PageVisit:
    assert CHROMIUM, "chromium is not installed (make test installs it)"
    to_browser_r, to_browser_w = _high(os.pipe())
    from_browser_r, from_browser_w = _high(os.pipe())
    profile = tempfile.mkdtemp(prefix="hilbench-chromium-")

    # chromium reads commands on fd 3 and answers on fd 4: a trampoline puts the pipes there
    trampoline = (f"import os, sys; os.dup2({to_browser_r}, 3); os.dup2({from_browser_w}, 4); "
                  f"os.execv(sys.argv[1], sys.argv[1:])")
    process = subprocess.Popen(
        [sys.executable, "-c", trampoline, CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
         f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "--no-first-run", "--disable-background-networking", "--disable-sync",
         "--disable-component-update", "--disable-default-apps", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        pass_fds=(to_browser_r, from_browser_w))
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = _Pipe(to_browser_w, from_browser_r)
    result = PageVisit()
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session)
        pipe.events.clear()
        pipe.send("Page.navigate", {"url": url}, session=session)
        pipe.wait_for("Page.loadEventFired")
        time.sleep(0.5)  # anything the page would fetch late
        result.text = pipe.send("Runtime.evaluate", {
            "expression": "document.body.innerText", "returnByValue": True},
            session=session)["result"]["value"]
        shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session=session)
        result.screenshot = base64.b64decode(shot["data"])
        for event in pipe.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.consoleAPICalled":
                result.console.append(" ".join(str(a.get("value", a.get("description")))
                                               for a in params.get("args", [])))
            elif event["method"] == "Runtime.exceptionThrown":
                result.console.append(str(params.get("exceptionDetails")))
            elif event["method"] == "Log.entryAdded":
                entry = params["entry"]
                result.console.append(f"{entry['level']}: {entry['text']} {entry.get('url')}")
            elif event["method"] == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
        try:
            pipe.send("Browser.close")
        except RuntimeError:
            pass
    finally:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        os.close(to_browser_w)
        os.close(from_browser_r)
        shutil.rmtree(profile, ignore_errors=True)
    return result


def save(visit_result: PageVisit, path: Path) -> Path:
    path.write_bytes(visit_result.screenshot)
    return path
