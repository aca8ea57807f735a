"""A third-party SSE server for interop: sse-starlette under uvicorn.

Serves GET /events: events with ids 1..TOTAL (data "event <n>", type "tick"), resuming after the
Last-Event-ID header, with a retry hint on every event. sse-starlette writes CRLF line endings and
sends ": ping" comments as keep-alives. Every request is logged to stdout with the Last-Event-ID
it carried, so a test can check what a client resumed from.

With --stop-after K the process exits abruptly (os._exit, no goodbye) right after sending event K:
for a client this is a server restart in the middle of a stream.

usage: starlette_server.py --port PORT [--total N] [--stop-after K] [--every SECONDS]
                           [--ssl-certfile PEM --ssl-keyfile PEM]
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
    last = request.headers.get("last-event-id")
    start = int(last) + 1 if last is not None and last.isdigit() else 1
    print(f"starlette: GET /events last-event-id={last!r}", flush=True)

    async def stream():
        yield ServerSentEvent(comment="hello from sse-starlette")
        for n in range(start, args.total + 1):
            await asyncio.sleep(args.every)
            yield ServerSentEvent(data=f"event {n}", event="tick", id=str(n), retry=200)
            if args.stop_after and n == args.stop_after:
                # Let the event reach the socket, then die without closing the stream.
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
    parser.add_argument("--every", type=float, default=0.02)
    parser.add_argument("--ssl-certfile", default=None, help="serve https with this chain (PEM)")
    parser.add_argument("--ssl-keyfile", default=None, help="the key of --ssl-certfile (PEM)")
    args = parser.parse_args()
    app = Starlette(routes=[Route("/events", events)])
    print(f"starlette: listening on http://127.0.0.1:{args.port}/events", flush=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
    )


if __name__ == "__main__":
    main()
