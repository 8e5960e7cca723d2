"""A real headless Chromium, driven over the DevTools protocol (CDP) with the standard library only.

Chromium is started with ``--remote-debugging-pipe``: CDP messages are JSON texts, each ended by a
NUL byte, read from the browser's fd 3 and written by it to fd 4. No websocket client, no port.

``chromium`` fixture: a `Browser` (send commands, collect events). Skips when no Chromium binary
is found, unless the environment variable CI is set: then it fails (CI must install it; on
Debian/Ubuntu ``apt-get install chromium``). GANCTL_CHROMIUM names a binary explicitly.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
              "headless_shell", "chrome-headless-shell")

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
    "--metrics-recording-only", "--mute-audio", "--hide-scrollbars", "--password-store=basic",
    "--use-mock-keychain", "--remote-debugging-pipe", "--window-size=1280,1600",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_chromium() -> str | None:
    explicit = os.environ.get("GANCTL_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else shutil.which(explicit)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    """A CDP connection over the pipe pair. `send` blocks for the reply; events pile up in
    `events` (a list of (method, params, sessionId))."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int, stderr_path: Path):
        self.proc, self.stderr_path = proc, stderr_path
        self._out = os.fdopen(to_browser, "wb", buffering=0)
        self._in = os.fdopen(from_browser, "rb", buffering=0)
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self.events: list[tuple[str, dict, str | None]] = []
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        buf = b""
        try:
            while True:
                chunk = self._in.read(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\0" in buf:
                    raw, buf = buf.split(b"\0", 1)
                    msg = json.loads(raw)
                    with self._cond:
                        if "id" in msg:
                            self._replies[msg["id"]] = msg
                        else:
                            self.events.append((msg.get("method"), msg.get("params", {}), msg.get("sessionId")))
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        with self._lock:
            self._next_id += 1
            mid = self._next_id
            msg: dict = {"id": mid, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            self._out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if self._closed:
                    raise CDPError(f"browser closed the pipe while waiting for {method}\n{self.stderr_tail()}")
                if left <= 0:
                    raise CDPError(f"no reply to {method} within {timeout}s")
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None = None, timeout: float = 30.0,
                   start: int = 0) -> dict:
        """The first event `method` (for `session`) at index >= start in `events`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m, params, sid in self.events[start:]:
                    if m == method and (session is None or sid == session):
                        return params
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"no {method} event within {timeout}s")
                if self._closed:
                    raise CDPError(f"browser closed the pipe while waiting for {method}\n{self.stderr_tail()}")
                self._cond.wait(left)

    def events_of(self, *methods: str, session: str | None = None) -> list[dict]:
        with self._cond:
            return [p for m, p, sid in self.events if m in methods and (session is None or sid == session)]

    def stderr_tail(self, n: int = 3000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", timeout=5)
                except CDPError:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            for f in (self._out, self._in):
                try:
                    f.close()
                except OSError:
                    pass


@pytest.fixture
def chromium(tmp_path):
    """A started headless Chromium (its own throwaway profile), closed after the test."""
    binary = find_chromium()
    if binary is None:
        reason = ("Chromium not found (looked for " + ", ".join(CANDIDATES) + "; set GANCTL_CHROMIUM or "
                  "`apt-get install chromium`)")
        if _in_ci():
            pytest.fail(f"CI={os.environ.get('CI')}: the browser tests need Chromium: {reason}")
        pytest.skip(reason)

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    stderr_path = tmp_path / "chromium.stderr"
    # Our ends: we write to_browser_w, read from_browser_r. The browser's: fd 3 reads, fd 4 writes.
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    # bash, not sh: dash cannot redirect file descriptors above 9.
    cmd = [shutil.which("bash") or "/bin/bash", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} '
                       f'{to_browser_r}<&- {from_browser_w}>&-',
           binary, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "about:blank"]
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                pass_fds=(to_browser_r, from_browser_w), start_new_session=True)
    os.close(to_browser_r)
    os.close(from_browser_w)
    browser = Browser(proc, to_browser_w, from_browser_r, stderr_path)
    try:
        browser.send("Browser.getVersion", timeout=60)  # the pipe answers once the browser is up
        yield browser
    finally:
        browser.close()
