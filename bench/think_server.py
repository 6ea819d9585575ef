#!/usr/bin/env python3
"""Think-time HTTP/1.1 server for bench/run's `think` workloads.

Serves the files of one directory under /think/NAME, each response held back
by a fixed delay of 0.5-5 s that depends only on the file name (delay()), like
the Fluent Python flags `slow_server.py` -- but on asyncio with a listen
backlog of 4096, so that a thousand requests sleeping at once cost it nothing
and the server is never what limits a client.  Keep-alive as HTTP/1.1 says, and
said in a header as nginx does (wget2 closes the connection without it);
GET and HEAD.  /think_status answers at once with "ACCEPTS REQUESTS", the
connections accepted and requests answered so far (bench/run reads it before
and after a run, like nginx's stub_status).

It stops by itself: on SIGTERM/SIGINT (bench/run sends it), when its parent
goes away, or after --idle seconds without a connection.  Python standard
library only; bench/run imports delay() from here, so the schedule it calls
ideal is computed from exactly the delays served.
"""

import argparse
import asyncio
import os
import random
import resource
import signal
import sys
import time

DELAY_MIN, DELAY_MAX = 0.5, 5.0


def delay(name, seed):
    """Seconds file NAME's response is held back: uniform in 0.5-5 s, in whole
    milliseconds, from a PRNG keyed by the name and the seed alone."""
    rng = random.Random("think:%s:%d" % (name, seed))
    return round(rng.uniform(DELAY_MIN, DELAY_MAX), 3)


class State:
    accepts = 0
    requests = 0
    open = 0
    last = time.monotonic()


async def read_request(reader):
    """(method, path, keep_alive) of the next request, or None at EOF."""
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        raise ConnectionError("bad request line")
    method, target, version = parts
    keep = version == "HTTP/1.1"
    while True:
        h = await reader.readline()
        if not h:
            return None
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        if k.strip().lower() == "connection":
            v = v.strip().lower()
            keep = "keep-alive" in v if version == "HTTP/1.0" else "close" not in v
    return method, target.split("?", 1)[0], keep


def make_handler(files, delays, state):
    async def handle(reader, writer):
        state.accepts += 1
        state.open += 1
        try:
            while True:
                req = await read_request(reader)
                if req is None:
                    break
                method, path, keep = req
                state.last = time.monotonic()
                name = path[len("/think/"):] if path.startswith("/think/") else None
                if path == "/think_status":
                    status, body = "200 OK", b"%d %d\n" % (state.accepts,
                                                           state.requests)
                elif name in files:
                    await asyncio.sleep(delays[name])
                    status, body = "200 OK", files[name]
                else:
                    status, body = "404 Not Found", b"not found\n"
                head = ("HTTP/1.1 %s\r\nContent-Type: application/octet-stream"
                        "\r\nContent-Length: %d\r\n%s\r\n"
                        % (status, len(body), "Connection: keep-alive\r\n"
                           if keep else "Connection: close\r\n")).encode()
                writer.write(head if method == "HEAD" else head + body)
                await writer.drain()
                state.requests += 1
                state.last = time.monotonic()
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass                        # shutting down mid-delay
        finally:
            state.open -= 1
            state.last = time.monotonic()
            writer.close()
    return handle


async def serve(a):
    files = {}
    for fn in sorted(os.listdir(a.dir)):
        with open(os.path.join(a.dir, fn), "rb") as f:
            files[fn] = f.read()
    delays = {fn: delay(fn, a.seed) for fn in files}
    state = State()
    server = await asyncio.start_server(make_handler(files, delays, state),
                                        a.host, a.port, backlog=4096,
                                        reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    print("think server: %d files on http://%s:%d/think/" % (len(files),
          a.host, a.port), flush=True)
    async with server:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
            idle = state.open == 0 and time.monotonic() - state.last > a.idle
            if os.getppid() != parent or idle:
                break


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="files served as /think/NAME")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--idle", type=float, default=600,
                    help="exit after this many seconds without a connection")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(serve(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
