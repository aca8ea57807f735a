"""A third-party SSE server for interop: sse-starlette under uvicorn.

Serves GET /events: events with ids 1..TOTAL (data "event <n>", type "tick"), resuming after the
Last-Event-ID header, with a retry hint. sse-starlette writes CRLF line endings. With
--stop-after K the process exits (a "server restart" for the test) after sending event K.

usage: starlette_server.py --port PORT [--total N] [--stop-after K]
"""

import argparse
import asyncio
import os

import uvicorn
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

args = None


async def events(request: Request):
    last = request.headers.get("last-event-id", "")
    start = int(last) + 1 if last.isdigit() else 1
    print(f"starlette: GET /events last-event-id={last!r}", flush=True)

    async def stream():
        yield ServerSentEvent(comment="hello from sse-starlette")
        for n in range(start, args.total + 1):
            await asyncio.sleep(0.02)
            yield ServerSentEvent(data=f"event {n}", event="tick", id=str(n), retry=200)
            if args.stop_after and n == args.stop_after:
                await asyncio.sleep(0.05)
                print(f"starlette: stopping after event {n}", flush=True)
                os._exit(0)
        # Keep the stream open, as a live server would.
        while True:
            await asyncio.sleep(1)

    return EventSourceResponse(stream(), ping=5)


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--total", type=int, default=20)
    parser.add_argument("--stop-after", type=int, default=0)
    args = parser.parse_args()
    app = Starlette(routes=[Route("/events", events)])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
