"""Headless Chromium driven through the DevTools protocol, for the tests: no library, a pipe.

Chromium started with `--remote-debugging-pipe` reads the protocol's commands (JSON, each ended by a NUL
byte) on its file descriptor 3 and writes its answers and events on 4: the way Playwright drives it, without
a port to open or a websocket client to install. `Browser.page(url, ...)` loads a page at a viewport and a
colour scheme and records what a test asks about: every request the page made, every console message and
uncaught exception, the DOM read back through `evaluate`, a screenshot, a PDF.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)


class ProtocolError(Exception):
    pass


class Browser:
    """One headless Chromium, closed as the `with` block ends."""

    def __init__(self, executable: str = CHROMIUM or "chromium", timeout: float = 30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="credits-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def on_3_and_4():  # in the child, before exec: its fd 3 reads our commands, its fd 4 writes back
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [
            executable,
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--mute-audio",
            "--disable-dev-shm-usage",  # a container's /dev/shm is often too small for its pages
            "--hide-scrollbars",
            "--font-render-hinting=none",
        ]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
        self.log = Path(self.profile) / "chromium.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [*args, "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(3, 4),
                preexec_fn=on_3_and_4,
            )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._ids = iter(range(1, 1 << 30))
        self.events: list[dict] = []

    # -- the protocol ---------------------------------------------------------------------------------

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and wait for its answer (recording the events that come before it)."""
        n = next(self._ids)
        message = {"id": n, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            m = self._next(time.monotonic() + self.timeout)
            if m.get("id") == n:
                if "error" in m:
                    raise ProtocolError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_for(self, method: str, session: str | None = None, timeout: float | None = None) -> dict:
        """The first event `method` (of `session`) not yet waited for."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for e in self.events:
                if e["method"] == method and e.get("sessionId") == session and not e.get("_waited"):
                    e["_waited"] = True
                    return e
            m = self._next(deadline)
            if "method" in m:
                self.events.append(m)

    def _next(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer in time; its log:\n{self.log.read_text()[-2000:]}")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise ProtocolError(f"Chromium closed the pipe; its log:\n{self.log.read_text()[-2000:]}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    # -- pages ----------------------------------------------------------------------------------------

    def page(self, url: str, *, width: int = 1280, height: int = 900, dark: bool = False, mobile: bool = False):
        """A new tab showing `url` at that viewport (a phone's: `mobile`) in the light or dark scheme,
        loaded (its load event fired)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        page.send(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
        )
        page.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired", session)
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))", await_promise=True)
        return page

    def close(self) -> None:
        with contextlib.suppress(ProtocolError, TimeoutError, OSError):  # it may close the pipe before answering
            self.send("Browser.close")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def _events(self, *methods: str) -> list[dict]:
        return [e for e in self.browser.events if e.get("sessionId") == self.session and e["method"] in methods]

    @property
    def requests(self) -> list[str]:
        """The URL of every request the page made, the page's own included."""
        return [e["params"]["request"]["url"] for e in self._events("Network.requestWillBeSent")]

    @property
    def errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and the browser's own error log entries (a
        blocked or failed load, a Content-Security-Policy violation)."""
        self.evaluate("0")  # collect what came in so far
        out = []
        for e in self._events("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded"):
            p = e["params"]
            if e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning", "assert"):
                out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a)) for a in p["args"]))
            elif e["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"{p['entry']['source']} {p['entry']['level']}: {p['entry']['text']}")
        return out

    def evaluate(self, expression: str, *, await_promise: bool = False):
        r = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": await_promise}
        )
        if "exceptionDetails" in r:
            raise ProtocolError(f"{expression[:60]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """The whole page (beyond the viewport) as a PNG."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def pdf(self, path: Path) -> Path:
        """The page printed (print media, the page size its CSS asks for)."""
        data = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
        path.write_bytes(base64.b64decode(data["data"]))
        return path
