"""Server-sent events: each stream polls the store in a thread and sends the whole current state
when it changed. A new connection (a first visit, or EventSource reconnecting after the server
restarted) gets the full state at once, so a client never needs a replay of what it missed."""
from __future__ import annotations

import asyncio
import json
from typing import Callable

from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

RETRY_MS = 1000  # how soon a browser reconnects after the stream broke (server restarted)


def stream(request: Request, read: Callable[[], object], every: float) -> EventSourceResponse:
    async def events():
        last = None
        while True:
            try:
                data = await run_in_threadpool(read)
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
