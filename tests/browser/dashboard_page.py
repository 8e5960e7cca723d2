"""A page in the CDP-driven Chromium of conftest.py: navigate, evaluate, wait for a condition."""
from __future__ import annotations

import json
import time


class Page:
    def __init__(self, chromium, domains=("Page", "Runtime")):  # + "Log", "Network" to collect those events
        self.b = chromium
        target = chromium.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = chromium.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in domains:
            chromium.send(f"{domain}.enable", session=self.s)

    def goto(self, url: str) -> None:
        mark = len(self.b.events)
        self.b.send("Page.navigate", {"url": url}, session=self.s)
        self.b.wait_event("Page.loadEventFired", session=self.s, start=mark, timeout=60)

    def js(self, expr: str):
        r = self.b.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                        session=self.s, timeout=60)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expr: str, timeout: float, what: str, every: float = 0.2):
        """The first truthy value of `expr`, polled; AssertionError naming `what` after timeout."""
        deadline, value = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            value = self.js(expr)
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"{what}: not within {timeout} s (last {json.dumps(value)[:300]})")

    def screenshot(self, path) -> None:
        import base64

        shot = self.b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False}, session=self.s)
        path.write_bytes(base64.b64decode(shot["data"]))
