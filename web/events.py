"""Server-sent events: each stream polls the store in a thread and sends the whole current state
when it changed. A new connection (a first visit, or EventSource reconnecting after the server
restarted) gets the full state at once, so a client never needs a replay of what it missed."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Callable

from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

RETRY_MS = 1000  # how soon a browser reconnects after the stream broke (server restarted)


class Shared:
    """One store read per key and period for every client of the same stream (20 tabs on one job
    cost one poll a second, not 20): a read younger than `every` seconds is reused."""

    def __init__(self, every: float):
        self.every, self._lock, self._locks, self._cache = every, threading.Lock(), {}, {}

    def read(self, key: str, read: Callable[[], object]) -> object:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # held while reading: the key's other clients wait for this read, not their own
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.every:
                return hit[1]
            data = read()
            self._cache[key] = (time.monotonic(), data)
            return data


def stream(request: Request, read: Callable[[], object], every: float, shared: Shared) -> EventSourceResponse:
    key = str(request.url)

    async def events():
        last = None
        while True:
            try:
                data = await run_in_threadpool(shared.read, key, read)
                text = json.dumps(data, sort_keys=True)
                event = "state"
            except Exception as exc:  # noqa: BLE001 - shown on the page, the stream goes on
                text, event = json.dumps({"error": " ".join(str(exc).split())}), "problem"
            if text != last:
                last = text
                yield {"event": event, "data": text, "retry": RETRY_MS}
            if await request.is_disconnected():
                return
            await asyncio.sleep(every)

    return EventSourceResponse(events(), ping=15)
