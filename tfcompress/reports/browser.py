"""Does a report render? Headless Chromium driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: no port, no extra package), reporting what a reader would see:
the images and their sizes, the tables, console errors and any request that left the machine;
and a screenshot, the README's.

Every wait has a deadline, and the browser (with its helper processes) is always reaped.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tfcompress.errors import TfcompressError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@dataclass
class RenderedPage:
    title: str
    images: list[dict]  # {"alt", "natural_width", "natural_height", "width", "height", "complete"}
    tables: int
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)  # anything not file: or data:
    screenshot: bytes | None = field(default=None, repr=False)


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


class _DevTools:
    """The DevTools protocol over Chromium's pipe: NUL-terminated JSON messages on fds 3 (in) and 4 (out)."""

    def __init__(self, browser: str, timeout: float):
        self.timeout, self._next_id, self._buffer, self.events = timeout, 0, b"", []
        self._profile = tempfile.TemporaryDirectory(prefix="tfcompress-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes():  # in the child: the pipes on the fds Chromium reads and writes (via fds above 4,
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)  # so neither lands on the other's target)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [browser, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                "--disable-background-networking", "--disable-dev-shm-usage", f"--user-data-dir={self._profile.name}",
                "about:blank"]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, close_fds=False, preexec_fn=wire_pipes,
                                        start_new_session=True)  # our fds are not inheritable (PEP 446)
        os.close(to_browser_r)
        os.close(from_browser_w)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._read_until(lambda m: m.get("id") == self._next_id, f"the reply to {method}")
        if "error" in reply:
            raise TfcompressError(f"Chromium: {method} failed: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_for(self, method: str) -> dict:
        for k, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(k)
        return self._read_until(lambda m: m.get("method") == method, method, keep=False)

    def _read_until(self, wanted, what: str, keep: bool = True) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    return message
                if "method" in message:
                    self.events.append(message)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TfcompressError(f"Chromium did not send {what} within {self.timeout:g} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise TfcompressError(f"Chromium exited (code {self.process.poll()}) before sending {what}")
            self._buffer += chunk

    def close(self) -> None:
        try:
            os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:  # the helpers (renderer, GPU, zygote) share the browser's process group
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._profile.cleanup()


_INSPECT = """JSON.stringify({
  title: document.title,
  tables: document.querySelectorAll("table").length,
  images: Array.from(document.images).map(i => ({alt: i.alt, natural_width: i.naturalWidth,
    natural_height: i.naturalHeight, width: i.width, height: i.height, complete: i.complete}))
})"""


def render(html_path: str | Path, screenshot: bool = False, width: int = 1200, height: int | None = None,
           timeout: float = 60.0, browser: str | None = None) -> RenderedPage:
    """Loads `html_path` in headless Chromium and reports what rendered; `screenshot`: a PNG of the
    page at `width` CSS pixels, `height` high (default: the whole page)."""
    path = Path(html_path).resolve()
    if not path.is_file():
        raise TfcompressError(f"{html_path}: no such file")
    browser = browser or find_browser()
    if browser is None:
        raise TfcompressError("no Chromium found (apt-get install chromium; ./setup.sh installs it)")
    tools = _DevTools(browser, timeout)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable", session=session)
        tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height or 900,
                                                          "deviceScaleFactor": 1, "mobile": False}, session)
        tools.send("Page.navigate", {"url": path.as_uri()}, session)
        tools.wait_for("Page.loadEventFired")
        found = json.loads(tools.send("Runtime.evaluate", {"expression": _INSPECT, "returnByValue": True},
                                      session)["result"]["value"])
        page = RenderedPage(found["title"], found["images"], found["tables"])
        shot = None
        if screenshot:
            full = height or int(tools.send("Page.getLayoutMetrics", session=session)["cssContentSize"]["height"])
            tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": full, "deviceScaleFactor": 1,
                                                              "mobile": False}, session)
            shot = base64.b64decode(tools.send("Page.captureScreenshot", {"format": "png"}, session)["data"])
        page.screenshot = shot
        for event in tools.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                page.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                page.console_errors.append(" ".join(str(a.get("value", "")) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                page.console_errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    page.external_requests.append(url)
        return page
    finally:
        tools.close()


def main(argv=None) -> int:
    """`python -m tfcompress.reports.browser PAGE [--screenshot PNG]`: what rendered, and a screenshot."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tfcompress.reports.browser", description=main.__doc__)
    parser.add_argument("page")
    parser.add_argument("--screenshot", help="write a PNG of the page here")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=None, help="default: the whole page")
    args = parser.parse_args(argv)
    rendered = render(args.page, screenshot=bool(args.screenshot), width=args.width, height=args.height)
    sizes = ", ".join(f"{i['natural_width']}x{i['natural_height']}" for i in rendered.images)
    print(f"{rendered.title}: {rendered.tables} tables, {len(rendered.images)} images ({sizes}), "
          f"{len(rendered.console_errors)} console errors, {len(rendered.external_requests)} external requests")
    for line in rendered.console_errors + rendered.external_requests:
        print("  " + line)
    if args.screenshot:
        Path(args.screenshot).write_bytes(rendered.screenshot)
    broken = [i for i in rendered.images if not i["natural_width"]]
    return 1 if rendered.console_errors or rendered.external_requests or broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
