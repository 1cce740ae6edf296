"""Headless Chromium (Debian's `chromium`) driven through the DevTools protocol over a WebSocket (python3-websocket):
enough of CDP to load a page, run a script in it, type, click, and take a screenshot. No npm, no downloaded browser.

`browser_or_fail()` is how a test gets one: where Chromium is missing the test FAILS, unless the environment says
COLONY_NO_BROWSER=1 (then it is skipped): CI must run the console's tests, never skip them quietly."""
import base64
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest
import websocket

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = pathlib.Path(__file__).resolve().parents[2]
# screenshots and measurements of the browser tests, kept after the run (CI artefacts)
ARTEFACTS = pathlib.Path(os.environ.get("COLONY_ARTEFACTS", ROOT / "build" / "test" / "artefacts" / "console"))


def browser_or_fail(**kw):
    if os.environ.get("COLONY_NO_BROWSER") == "1":
        pytest.skip("COLONY_NO_BROWSER=1: the browser tests are switched off")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium (scripts/deps.sh does), "
                    "or set COLONY_NO_BROWSER=1 to skip these tests on purpose")
    return Browser(**kw)


class CdpError(Exception):
    pass


class Browser:
    """One headless Chromium with one page. `problems` collects what the page reported: uncaught exceptions,
    console errors, and Content-Security-Policy refusals."""

    def __init__(self, width=1440, height=900, timeout=30):
        self.dir = tempfile.mkdtemp(prefix="colony-chromium-")
        self.log = open(os.path.join(self.dir, "chromium.log"), "w")
        # the flags of a closed machine: nothing of Chromium's own reaches for the network
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--no-default-browser-check", "--mute-audio",
             "--disable-features=Translate,MediaRouter,OptimizationHints", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={self.dir}/profile", f"--window-size={width},{height}",
             "about:blank"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        port_file = pathlib.Path(self.dir) / "profile" / "DevToolsActivePort"
        end = time.time() + timeout
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.time() > end:
                self.close()
                raise CdpError("chromium did not start: " + open(os.path.join(self.dir, "chromium.log")).read()[-2000:])
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout))
        page = next(p for p in pages if p["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.problems = []
        self.loads = 0
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    # ---- the protocol ----------------------------------------------------------------------------------------
    def _event(self, msg):
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.problems.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.problems.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            self.problems.append(f"log ({p['entry']['source']}): {p['entry']['text']}")
        elif method == "Page.loadEventFired":
            self.loads += 1

    def send(self, method, params=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        end = time.time() + timeout
        while time.time() < end:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)
        raise CdpError(f"{method}: no answer in {timeout}s")

    def pump(self):
        """Read the events that arrived meanwhile (exceptions, loads) without waiting."""
        self.ws.settimeout(0.01)
        try:
            while True:
                self._event(json.loads(self.ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.ws.settimeout(30)

    # ---- what a test does --------------------------------------------------------------------------------------
    def js(self, expression):
        """The value of a script run in the page (awaited when it is a promise)."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CdpError(f"{expression!r}: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r["result"].get("value")

    def wait(self, expression, timeout=20, what=None):
        """Poll a script until it is truthy; its value, or a failure naming what never happened."""
        end = time.time() + timeout
        while time.time() < end:
            v = self.js(expression)
            if v:
                return v
            time.sleep(0.05)
        self.pump()
        shot = self.screenshot(f"failed-{int(time.time() * 1000)}")
        raise AssertionError(f"not in {timeout}s: {what or expression} (page problems: {self.problems}; screenshot "
                             f"{shot})")

    def _load(self, start):
        before = self.loads
        start()
        end = time.time() + 30
        while self.loads == before and time.time() < end:
            self.pump()
            time.sleep(0.02)
        assert self.loads > before, "the page did not load"

    def goto(self, url):
        self._load(lambda: self.send("Page.navigate", {"url": url}))

    def reload(self):
        self._load(lambda: self.send("Page.reload", {"ignoreCache": False}))

    def click(self, selector):
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.wait(f"""(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;
            e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
            return r.width && r.height ? [r.left + r.width / 2, r.top + r.height / 2] : null; }})()""",
                        what=f"{selector} on the page")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1})

    def type(self, selector, text):
        """Focus a field and type into it as a keyboard would (input events included)."""
        self.wait(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (e) e.focus(); return e === document.activeElement; }})()",
                  what=f"{selector} focused")
        self.send("Input.insertText", {"text": text})

    def press_enter(self):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter",
                                                 "windowsVirtualKeyCode": 13, "text": "\r" if kind == "keyDown" else ""})

    def screenshot(self, name):
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"]))
        return path

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)
