#!/usr/bin/env python3
"""fetchmany test HTTP/1.1 server (standard library only).

Usage: httpd.py [--host ADDR] [--port N] [--root DIR] [--lifetime S]
                [--ignore-stdin] [--verbose] [--no-keepalive]
                [--tls-cert FILE --tls-key FILE] [--tls-delay S] [--tls12]
                [--also-listen N] [--proxy]

Prints exactly one line "PORT <n>" on stdout once it listens, then serves
until its standard input reaches end of file (unless --ignore-stdin) or
--lifetime seconds (default 120) have passed, whichever comes first.

With --tls-cert FILE --tls-key FILE (PEM), a connection whose first byte is a
TLS handshake record is served over TLS (HTTPS) with that certificate; any
other connection on the same port is still served as plain HTTP, so the
/_* routes stay reachable over http:// (the test harness uses them). The TLS
handshake runs in the connection's own thread; a failed handshake (a client
rejecting the certificate) is counted in /_stats but never logged as a
request. With --tls-delay S the server waits S seconds (float) before it
answers a client's first handshake message: a slow TLS set-up.

With --also-listen N, the server also listens on 127.0.1.1 ... 127.0.1.N,
on the same port as the --host socket: one listening socket per address,
each served by its own thread, all sharing the one state (so /_stats counts
them all) and all stopped together. Linux routes all of 127.0.0.0/8 to the
loopback interface, so these bind without any set-up; when one cannot be
bound the server exits with status 2 and says which. A test can so offer
many host names (the addresses) on one server.

With --proxy, the server is also a forward proxy (for tests of a client's
proxy support): a request whose target is an absolute http:// URL is sent
on to that origin (without the hop-by-hop headers, Proxy-Authorization
among them) and its answer relayed; CONNECT host:port opens a tunnel and
relays bytes both ways (HTTPS through the proxy). Both are logged in /_log
like any request ("path" is the absolute URL, or host:port for CONNECT,
"headers" what the proxy received), so a test sees what went through.

With --no-keepalive, every response carries "Connection: close" and the
server closes the connection after it, so a client never keeps an idle
connection open (the soak test compares the client's open descriptors at
the start and at the end of a run).

Routes (GET and HEAD):

  /data/<anything>?size=N      200, Content-Length N (default 1000); the body
                               is the request path without the query followed
                               by "\\n", repeated and cut to N bytes.
    query options (combinable):
      delay=S        sleep S seconds (float) before sending anything
      barrier=N      before sending anything (after delay=), wait until
                     N requests (any path) have been running at once, i.e.
                     until max_concurrent has reached N (a latch: once
                     reached, every later request passes at once), or
                     barrier_timeout=S (default 5) seconds have passed. The
                     peak is then a fact about the client even when the
                     kernel's socket buffers would swallow a whole response
                     at once
      chunked=1      chunked transfer encoding, no Content-Length
      status=CODE    answer CODE with a short text body instead
      fail=K         the first K requests for this exact path+query fail,
                     later ones are served normally (counted per path+query).
                     How they fail: reset=1 / truncate=1 / stall=S when one
                     of those is given, else status fail_status.
      fail_status=C  status of a failing response (default 503)
      retry_after=V  Retry-After: V on failing (fail= or status=) responses
      reset=1        close the socket with an RST, no response at all
      truncate=1     announce the full Content-Length, send half, close
      stall=S        send headers and the first half, sleep S, send the rest
      trickle=S      send the body in pieces of 1 KiB with S seconds (float)
                     between them (a slow but steady body)
      hdrdrip=S      send the status line and headers one byte at a time,
                     S seconds (float) apart (no header line is complete
                     for a while, yet bytes keep coming)
      lm=HTTP-DATE   Last-Modified header (If-Modified-Since answered by 304)
      etag=X         ETag header, quoted unless already quoted or weak
                     (If-None-Match answered by 304)
      cd=VALUE       Content-Disposition header, verbatim
      gzip=1         when the request's Accept-Encoding names gzip, send the
                     body gzip-compressed (Content-Encoding: gzip, Content-
                     Length of the compressed bytes, or chunked with
                     chunked=1); otherwise send it plain. No Range then.
      gzip=always    send it gzip-compressed whatever Accept-Encoding says.
                     The compressed bytes are deterministic (gzip mtime 0)
                     and equal what /_gzip returns.
      norange=1      ignore Range requests: answer 200 with the whole body.
                     Otherwise a Range header holding one range,
                     "bytes=A-B", "bytes=A-" or "bytes=-N" (the last N
                     bytes), is answered 206 with "Content-Range: bytes
                     A-B/SIZE" (B cut to SIZE-1), or 416 with "Content-
                     Range: bytes */SIZE" when it is unsatisfiable (A >=
                     SIZE, or N = 0, or SIZE = 0); any other Range (several
                     ranges, B < A, another unit, bad syntax) is ignored
                     (200). With If-Range the range is honoured only when
                     If-Range equals the ETag sent (a strong one: a weak
                     ETag never matches) or, for a date, the Last-Modified
                     sent, string for string; otherwise 200, whole body.
                     truncate=1 and a compressed gzip= body ignore Range
      accept_ranges=V  an "Accept-Ranges: V" header (none by default), e.g.
                     bytes with norange=1: a server that advertises ranges
                     and ignores them
      rate=B         pace the body to B bytes a second (a number, > 0), per
                     request and so per connection (a connection serves
                     one request at a time), like nginx's limit_rate: the
                     body goes out in pieces of 16 KiB (B/20 bytes when
                     that is smaller, at least 1), none handed to the
                     kernel before the time the rate allows, so a body of
                     N bytes takes about N/B seconds and several concurrent
                     (ranged) requests get B each. Paces trickle='s
                     pieces, stall='s two halves and fail_range='s half
      etag_after=N   a new version after N requests: the first N requests
                     for this exact path+query (counted per path+query from
                     the start, any method, failing ones included) are
                     answered from the first version, every later one from
                     the second: ETag etag2= and Last-Modified lm2= (each
                     when given, else as for the first), size size2=
                     (default size=), and the body of the path P followed
                     by "~2" (the two bodies first differ at offset
                     len(P); /_sha256?path=P~2 gives the second one's
                     digest). If-None-Match, If-Modified-Since and
                     If-Range are checked against the version that answers
      expire_after=N a presigned URL that expires: the first N requests
                     for this exact path+query are served, every later
                     one is answered 403 ("Request has expired"), as S3
                     answers a signature past its X-Amz-Expires (see
                     /presign, which mints a new one each time)
      etag2=Y        see etag_after= (quoted like etag=)
      lm2=HTTP-DATE  see etag_after=
      size2=N        see etag_after=
      fail_range=S   a GET that would be answered 206 with a range
                     starting at byte S (any byte: S "any") fails the
                     first fail_times=
                     (default 1) such times (counted per path+query): the
                     206 headers and the first half of the range (rounded
                     down) are sent, then after 50 ms the connection is
                     closed with an RST. Every other request, and the later
                     ones for S, are served normally
      fail_times=K   see fail_range=
      drop_next=rst  after this response, keep the connection open, but
                     when the next request (any path) arrives on it, read
                     it and close the connection without answering, with
                     an RST (SO_LINGER 0). A server that closes idle
                     connections just as the client reuses them. Such
                     requests are neither logged nor counted in
                     "requests"; /_stats counts them in "dropped"
      drop_next=fin  the same, closed with a FIN (an orderly close)
      extra=N        after the response, wait 20 ms and send N more bytes
                     ("junk..."), keeping the connection open: the next
                     response on it starts with that junk
    Without fail=, reset/truncate/stall apply to every request.

  /redirect?to=URL&code=302    redirect to URL (code default 302)
  /presign?to=PATH             302 to PATH with "&sig=N" appended (PATH
                               must hold a query), N counting up from 1
                               over the server's life: each request mints a
                               new URL, as a release page redirects to a
                               freshly signed object URL; with
                               expire_after= in PATH each URL expires alone
  /chain/<name>?n=K&...        K > 0: 302 to /chain/<name>?n=K-1&... (the
                               rest of the query kept, relative Location);
                               n=0 (or absent): served like /data, with the
                               body pattern of the path /chain/<name>. So
                               n=K is a chain of exactly K redirects.
  head_status=C on any route:  a HEAD request is answered C (405, 501: a
                               server that refuses HEAD); GET as usual
  setcookie=V on any route:    a "Set-Cookie: V" header in the answer
                               (a redirect's too)
  /static/<path>               file under --root (404 if missing or outside);
                               takes delay=S, and fail=K (fail_status=C,
                               default 503) as /data does
  /_log                        JSON array of the requests seen (not /_*),
                               in arrival order, each {"n" (1, 2, ...),
                               "method", "path" (with the query),
                               "headers" (names in lower case, repeated
                               ones joined by ", "), "peer" (client
                               "addr:port"), "t_start", "t_end"
                               (time.monotonic() at its start and end;
                               t_end null while it runs), "status" (the
                               status answered, null if none), "range",
                               "if_range" (its Range and If-Range headers,
                               null when absent), "content_range" (the
                               Content-Range answered, null if none)}
  /_stats                      {"requests", "max_concurrent", "concurrent",
                                "max_concurrent_by_host", "connections",
                                "connections_by_addr", "reconnects_by_addr",
                                "tls_handshakes", "tls_resumed",
                                "tls_failures", "dropped", "ranged",
                                "max_concurrent_ranged"}:
                               max_concurrent_by_host maps each Host header
                               (its name, without the port, lower case) to
                               the peak number of running requests for it;
                               connections counts accepted TCP connections
                               (the /_* ones included); connections_by_addr
                               maps each local address that clients
                               connected to (getsockname of the accepted
                               socket, without the port) to its accepted
                               connections; reconnects_by_addr maps such
                               an address to the connections accepted on
                               it after an earlier one to it had ended
                               (closed by either side): a client that keeps
                               its idle connections has none until it is
                               done (a count that may miss a reconnection
                               made before the server saw the close, but
                               never counts one that was not);
                               tls_handshakes and tls_failures count
                               completed and failed TLS handshakes,
                               and tls_resumed those of the completed ones
                               that resumed an earlier session (an
                               abbreviated handshake: a TLS 1.3 session
                               ticket or a TLS 1.2 session id or ticket;
                               the server issues tickets, OpenSSL's
                               default), so tls_handshakes - tls_resumed
                               is the number of full handshakes; dropped
                               counts the requests dropped by drop_next=;
                               ranged counts the requests that carried a
                               Range header (honoured or not), and
                               max_concurrent_ranged is the peak number of
                               them running at once.
  /_gzip?path=P&size=N         the gzip=always body for P and N, as is
  /_sha256?path=P&size=N       hex SHA-256 of the /data body for P and N
  anything else                404

A request counts as running from the moment its request line and headers
have been read until just before the last byte of its response is handed to
the kernel (so that a client can never observe completion before the
counter went down). /_* requests are neither logged nor counted.
"""

import argparse
import gzip
import hashlib
import itertools
import http.server
import json
import os
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

CHUNK = 64 * 1024
PACE_PIECE = 16 * 1024     # rate=: the largest piece sent at once


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.log = []
        self.requests = 0
        self.concurrent = 0
        self.max_concurrent = 0
        self.by_host = {}
        self.max_by_host = {}
        self.connections = 0
        self.connections_by_addr = {}
        self.closed_addrs = set()
        self.reconnects_by_addr = {}
        self.tls_handshakes = 0
        self.tls_resumed = 0
        self.tls_failures = 0
        self.dropped = 0
        self.ranged = 0
        self.concurrent_ranged = 0
        self.max_concurrent_ranged = 0
        self.fail_counts = {}

    def begin(self, entry, host):
        with self.lock:
            self.requests += 1
            entry["n"] = self.requests
            self.log.append(entry)
            self.concurrent += 1
            if self.concurrent > self.max_concurrent:
                self.max_concurrent = self.concurrent
            self.cond.notify_all()
            n = self.by_host.get(host, 0) + 1
            self.by_host[host] = n
            if n > self.max_by_host.get(host, 0):
                self.max_by_host[host] = n
            if entry["range"] is not None:
                self.ranged += 1
                self.concurrent_ranged += 1
                self.max_concurrent_ranged = max(self.max_concurrent_ranged,
                                                 self.concurrent_ranged)

    def end(self, entry, host):
        with self.lock:
            self.concurrent -= 1
            self.by_host[host] -= 1
            if entry["range"] is not None:
                self.concurrent_ranged -= 1

    def wait_concurrent(self, n, timeout):
        with self.lock:
            return self.cond.wait_for(lambda: self.max_concurrent >= n,
                                      timeout)

    def count(self, attr):
        with self.lock:
            setattr(self, attr, getattr(self, attr) + 1)

    def count_connection(self, addr):
        with self.lock:
            self.connections += 1
            n = self.connections_by_addr.get(addr, 0) + 1
            self.connections_by_addr[addr] = n
            if addr in self.closed_addrs:
                n = self.reconnects_by_addr.get(addr, 0) + 1
                self.reconnects_by_addr[addr] = n

    def connection_closed(self, addr):
        with self.lock:
            self.closed_addrs.add(addr)

    def next_count(self, key):
        with self.lock:
            n = self.fail_counts.get(key, 0) + 1
            self.fail_counts[key] = n
            return n

    def log_json(self):
        with self.lock:
            return json.dumps(self.log)

    def stats_json(self):
        with self.lock:
            return json.dumps({"requests": self.requests,
                               "max_concurrent": self.max_concurrent,
                               "concurrent": self.concurrent,
                               "max_concurrent_by_host": self.max_by_host,
                               "connections": self.connections,
                               "connections_by_addr":
                                   self.connections_by_addr,
                               "reconnects_by_addr":
                                   self.reconnects_by_addr,
                               "tls_handshakes": self.tls_handshakes,
                               "tls_resumed": self.tls_resumed,
                               "tls_failures": self.tls_failures,
                               "dropped": self.dropped,
                               "ranged": self.ranged,
                               "max_concurrent_ranged":
                                   self.max_concurrent_ranged})


def body_pattern(path):
    return (path + "\n").encode("utf-8", "surrogateescape")


def body_range(pattern, start, end):
    """Yields the bytes [start, end) of the infinite repetition of pattern,
    in pieces of at most CHUNK bytes."""
    plen = len(pattern)
    block = pattern * (CHUNK // plen + 2)
    pos = start
    while pos < end:
        off = pos % plen
        n = min(end - pos, CHUNK)
        yield block[off:off + n]
        pos += n


def client_gone(conn, wait):
    """Waits up to wait seconds, or less if the client at the other end of
    conn closes it: returns True then (a paced response notices at once
    that the client stopped reading, so that its request stops counting as
    running at that moment, not after the writes that fail later).  Bytes
    from the client (a pipelined request) are left for later.  Over TLS
    (no peeking at the stream) it only waits."""
    if isinstance(conn, ssl.SSLSocket):
        time.sleep(wait)
        return False
    try:
        ready, _, _ = select.select([conn], [], [], wait)
        if ready and conn.recv(1, socket.MSG_PEEK) == b"":
            return True
    except OSError:
        return True
    if ready:  # data, not EOF: sleep the rest without looking again
        time.sleep(wait)
    return False


def paced(pieces, rate, conn=None):
    """pieces (an iterable of bytes) cut to at most PACE_PIECE bytes, or
    rate/20 when smaller, each yielded no earlier than t0 + (bytes yielded
    before it) / rate: rate bytes a second from the first call on.  A rate
    of 0 or less yields pieces as they are.  With conn (the client's
    socket), a client that closes the connection while a piece waits ends
    it at once (ConnectionResetError)."""
    if rate <= 0:
        yield from pieces
        return
    step = max(1, min(PACE_PIECE, int(rate / 20)))
    t0 = time.monotonic()
    sent = 0
    for piece in pieces:
        for i in range(0, len(piece), step):
            wait = t0 + sent / rate - time.monotonic()
            if wait > 0:
                if conn is None:
                    time.sleep(wait)
                elif client_gone(conn, wait):
                    raise ConnectionResetError("the client went away")
            part = piece[i:i + step]
            sent += len(part)
            yield part


RANGE_RE = re.compile(r"bytes=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)",
                      re.ASCII | re.IGNORECASE)


def parse_range(value, size):
    """The part of a body of size bytes that a Range header value asks
    for: (start, end), end exclusive; () when the range is unsatisfiable
    (a 416); None when the header is to be ignored (a 200): not exactly one
    "bytes=" range, or malformed."""
    m = RANGE_RE.fullmatch(value.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    a, b = m.group(1), m.group(2)
    if not a:                                   # bytes=-N: the last N
        n = int(b)
        return () if n == 0 or size == 0 else (max(0, size - n), size)
    start = int(a)
    if b and int(b) < start:
        return None
    if start >= size:
        return ()
    return (start, min(size, int(b) + 1) if b else size)


def if_range_matches(value, etag, lm):
    """Does an If-Range value name the representation that has this ETag
    (quoted, or None) and Last-Modified (or None)?  An entity tag must be
    strong and equal; a date must equal Last-Modified string for string."""
    v = value.strip()
    if v.startswith('"') or v.startswith("W/"):
        return etag is not None and not etag.startswith("W/") and v == etag
    return lm is not None and v == lm


def body_bytes(pattern, size):
    return b"".join(body_range(pattern, 0, size))


def gzip_bytes(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def host_key(value):
    """The host name of a Host header: without the port, lower case."""
    h = (value or "").strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[:end + 1] if end > 0 else h
    return h.rsplit(":", 1)[0] if ":" in h else h


def parse_float(v, default):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def parse_int(v, default):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def quote_etag(e):
    if e.startswith('"') or e.startswith("W/"):
        return e
    return '"' + e + '"'


def http_date_to_ts(s):
    try:
        from email.utils import parsedate_to_datetime
        return parsedate_to_datetime(s).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fm-test-httpd/1"
    timeout = 60

    # ------------------------------------------------------------ plumbing

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("httpd: %s - %s\n" % (self.address_string(),
                                                   fmt % args))

    def setup(self):
        self._reset = False
        self._tls = False
        self._drop_next = None
        try:
            local = self.request.getsockname()[0]
        except OSError:
            local = "?"
        self._local = local
        self.server.state.count_connection(local)
        ctx = self.server.ssl_ctx
        if ctx is not None:
            self.request.settimeout(10)
            try:
                first = self.request.recv(1, socket.MSG_PEEK)
            except OSError:
                first = b""
            if first == b"\x16":
                if self.server.tls_delay > 0:
                    time.sleep(self.server.tls_delay)
                try:
                    self.request = ctx.wrap_socket(self.request,
                                                   server_side=True)
                except (ssl.SSLError, OSError):
                    self.server.state.count("tls_failures")
                    raise
                self._tls = True
                self.server.state.count("tls_handshakes")
                if self.request.session_reused:
                    self.server.state.count("tls_resumed")
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.server.state.connection_closed(self._local)
        if self._reset or self._tls:
            # All file objects are closed now, so this really closes the
            # descriptor; with SO_LINGER {1, 0} the kernel sends an RST.
            # (A TLS socket is a new object the server does not close.)
            try:
                self.connection.close()
            except OSError:
                pass

    def _peer(self):
        a = self.client_address
        if ":" in a[0]:
            return "[%s]:%d" % (a[0], a[1])
        return "%s:%d" % (a[0], a[1])

    def _begin(self):
        self._entry = None
        self._done = True
        self._hdrdrip = 0.0
        if self.path.startswith("/_"):
            return
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        self._entry = {"n": 0, "method": self.command, "path": self.path,
                       "headers": headers, "t_start": time.monotonic(),
                       "t_end": None, "peer": self._peer(), "status": None,
                       "range": self.headers.get("Range"),
                       "if_range": self.headers.get("If-Range"),
                       "content_range": None}
        self._done = False
        self._host = host_key(self.headers.get("Host"))
        self.server.state.begin(self._entry, self._host)

    def _release(self):
        """Ends the request's running time (idempotent)."""
        if not self._done:
            self._done = True
            self.server.state.end(self._entry, self._host)

    def _finish_entry(self):
        self._release()
        if self._entry is not None:
            self._entry["t_end"] = time.monotonic()

    def send_response(self, code, message=None):
        if self._entry is not None:
            self._entry["status"] = code
        super().send_response(code, message)
        if self.server.no_keepalive:
            # send_header() sets close_connection for this value.
            self.send_header("Connection", "close")

    def send_header(self, keyword, value):
        if getattr(self, "_entry", None) is not None and \
                keyword.lower() == "content-range":
            self._entry["content_range"] = value
        super().send_header(keyword, value)

    def _send_all(self, parts):
        """Writes parts (an iterable of bytes); releases the running count
        just before the last write."""
        it = iter(parts)
        cur = next(it, None)
        while cur is not None:
            nxt = next(it, None)
            if nxt is None:
                self._release()
            self.wfile.write(cur)
            cur = nxt

    def end_headers(self):
        cookie = getattr(self, "_setcookie", None)
        if cookie:
            self._setcookie = None
            self.send_header("Set-Cookie", cookie)
        drip = getattr(self, "_hdrdrip", 0.0)
        if drip <= 0:
            super().end_headers()
            return
        # hdrdrip=: the whole head, one byte per segment.
        self._headers_buffer.append(b"\r\n")
        head = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY,
                                   1)
        for i in range(len(head)):
            if i:
                time.sleep(drip)
            self.wfile.write(head[i:i + 1])
            self.wfile.flush()

    def _end_headers_last(self):
        """end_headers() when nothing follows the headers."""
        self._release()
        self.end_headers()

    def _simple(self, code, text, extra=(), head=False):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        for k, v in extra:
            self.send_header(k, v)
        if code in (204, 304) or code < 200:
            self._end_headers_last()
            return
        self.send_header("Content-Length", str(len(body)))
        if head or not body:
            self._end_headers_last()
            return
        self.end_headers()
        self._send_all([body])

    # ------------------------------------------------------------ dispatch

    def do_GET(self):
        self._handle(head=False)

    def do_HEAD(self):
        self._handle(head=True)

    def do_CONNECT(self):
        """--proxy: a tunnel to host:port (logged), bytes relayed both
        ways until either side closes."""
        if not self.server.proxy:
            self.send_error(405)
            return
        self._begin()
        try:
            host, _, port = self.path.rpartition(":")
            up = socket.create_connection((host, int(port)), timeout=10)
        except (OSError, ValueError):
            self._simple(502, "cannot connect\n")
            self._finish_entry()
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self._entry["status"] = 200
        self.close_connection = True
        conns = [self.connection, up]
        try:
            while True:
                ready, _, _ = select.select(conns, [], [], 30)
                if not ready:
                    break
                for c in ready:
                    data = c.recv(65536)
                    if not data:
                        raise ConnectionResetError
                    (up if c is self.connection else
                     self.connection).sendall(data)
        except OSError:
            pass
        finally:
            up.close()
            self._finish_entry()

    def _forward(self, head):
        """--proxy: an absolute-form request, sent on to its origin as it
        came but for the hop-by-hop headers (Proxy-Authorization is the
        proxy's own, as a real proxy's), the answer relayed."""
        import http.client
        u = urllib.parse.urlsplit(self.path)
        hop = {"connection", "proxy-connection", "keep-alive",
               "proxy-authorization", "te", "trailer", "upgrade"}
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                              timeout=10)
            target = u.path + ("?" + u.query if u.query else "")
            conn.putrequest(self.command, target or "/", skip_host=True,
                            skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in hop:
                    conn.putheader(k, v)
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read()
        except OSError:
            self._simple(502, "bad gateway\n", head=head)
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in hop | {"content-length", "server",
                                       "date", "transfer-encoding"}:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self._send_all([body])
        conn.close()

    def _drop(self):
        """drop_next=: reads nothing more, answers nothing, closes."""
        self.server.state.count("dropped")
        self.close_connection = True
        if self._drop_next == "rst":
            self._reset = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))

    def _handle(self, head):
        if self._drop_next:
            self._drop()
            return
        self._begin()
        try:
            if self.server.proxy and self.path.startswith("http://"):
                self._forward(head)
                return
            self._route(head)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                socket.timeout):
            self.close_connection = True
        finally:
            self._finish_entry()

    def _route(self, head):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        self._setcookie = q.get("setcookie")
        p = u.path
        if head and "head_status" in q and not p.startswith("/_"):
            # head_status=: a server that refuses HEAD (405, 501)
            self._simple(parse_int(q["head_status"], 405), "no HEAD\n",
                         head=True)
            return
        if p == "/_log":
            self._json(self.server.state.log_json(), head)
        elif p == "/_stats":
            self._json(self.server.state.stats_json(), head)
        elif p == "/_sha256":
            pat = body_pattern(q.get("path", "/"))
            d = hashlib.sha256()
            for piece in body_range(pat, 0, parse_int(q.get("size"), 1000)):
                d.update(piece)
            self._simple(200, d.hexdigest(), head=head)
        elif p == "/_gzip":
            pat = body_pattern(q.get("path", "/"))
            data = gzip_bytes(body_bytes(pat, parse_int(q.get("size"),
                                                        1000)))
            self._json_bytes(data, "application/gzip", head)
        elif p.startswith("/data/"):
            self._data(p, q, head)
        elif p.startswith("/chain/"):
            n = parse_int(q.get("n"), 0)
            if n > 0:
                rest = [(k, v) for k, v in
                        urllib.parse.parse_qsl(u.query,
                                               keep_blank_values=True)
                        if k != "n"]
                to = "%s?%s" % (p, urllib.parse.urlencode(
                    [("n", str(n - 1))] + rest))
                self._simple(302, "redirect to %s\n" % to,
                             extra=[("Location", to)], head=head)
            else:
                self._data(p, q, head)
        elif p == "/presign":
            to = "%s&sig=%d" % (q.get("to", "/?"),
                                self.server.state.next_count(("presign",)))
            self._simple(302, "redirect to %s\n" % to,
                         extra=[("Location", to)], head=head)
        elif p == "/redirect":
            code = parse_int(q.get("code"), 302)
            to = q.get("to", "/")
            self._simple(code, "redirect to %s\n" % to,
                         extra=[("Location", to)], head=head)
        elif p.startswith("/static/") and self.server.root:
            self._static(p[len("/static/"):], head, q)
        else:
            self._simple(404, "not found\n", head=head)

    def _json(self, text, head):
        self._json_bytes(text.encode(), "application/json", head)

    def _json_bytes(self, body, ctype, head):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _static(self, rel, head, q):
        delay = parse_float(q.get("delay"), 0.0)
        if delay > 0:
            time.sleep(delay)
        if "fail" in q and (self.server.state.next_count(self.path) <=
                            parse_int(q.get("fail"), 0)):
            code = parse_int(q.get("fail_status"), 503)
            self._simple(code, "failing on purpose: %d\n" % code,
                         head=head)
            return
        root = os.path.realpath(self.server.root)
        full = os.path.realpath(os.path.join(root,
                                             urllib.parse.unquote(rel)))
        if (not full.startswith(root + os.sep)) or not os.path.isfile(full):
            self._simple(404, "not found\n", head=head)
            return
        with open(full, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        if head or not data:
            self._end_headers_last()
            return
        self.end_headers()
        self._send_all(data[i:i + CHUNK] for i in range(0, len(data), CHUNK))

    # ------------------------------------------------------------ /data

    def _data(self, path, q, head):
        if q.get("drop_next") in ("rst", "fin"):
            self._drop_next = q["drop_next"]
        size = max(0, parse_int(q.get("size"), 1000))
        etag = quote_etag(q["etag"]) if q.get("etag") else None
        lm = q.get("lm") or None
        pattern = body_pattern(path)
        if "etag_after" in q:
            # etag_after=: the second version from the (N+1)th request on.
            n = self.server.state.next_count(("version", self.path))
            if n > parse_int(q.get("etag_after"), 0):
                size = max(0, parse_int(q.get("size2"), size))
                if q.get("etag2"):
                    etag = quote_etag(q["etag2"])
                lm = q.get("lm2") or lm
                pattern = body_pattern(path + "~2")
        if "expire_after" in q and (
                self.server.state.next_count(("expire", self.path)) >
                parse_int(q.get("expire_after"), 0)):
            self._simple(403, "Request has expired\n", head=head)
            return
        delay = parse_float(q.get("delay"), 0.0)
        if delay > 0:
            time.sleep(delay)
        if "barrier" in q:
            self.server.state.wait_concurrent(
                parse_int(q.get("barrier"), 1),
                parse_float(q.get("barrier_timeout"), 5.0))

        failing = True
        if "fail" in q:
            k = parse_int(q.get("fail"), 0)
            failing = self.server.state.next_count(self.path) <= k
        retry_after = q.get("retry_after")
        ra = [("Retry-After", retry_after)] if retry_after else []

        reset = q.get("reset") == "1" and failing
        truncate = q.get("truncate") == "1" and failing
        stall = parse_float(q.get("stall"), 0.0) if failing else 0.0
        trickle = parse_float(q.get("trickle"), 0.0)
        rate = parse_float(q.get("rate"), 0.0)
        self._hdrdrip = parse_float(q.get("hdrdrip"), 0.0)

        if reset:
            self._reset_connection()
            self._release()
            return
        if "fail" in q and failing and not truncate and stall <= 0:
            code = parse_int(q.get("fail_status"), 503)
            self._simple(code, "failing on purpose: %d\n" % code,
                         extra=ra, head=head)
            return
        if "status" in q:
            code = parse_int(q.get("status"), 200)
            self._simple(code, "status %d\n" % code, extra=ra, head=head)
            return

        validators = []
        if etag:
            validators.append(("ETag", etag))
        if lm:
            validators.append(("Last-Modified", lm))
        if q.get("cd"):
            validators.append(("Content-Disposition", q["cd"]))
        if q.get("accept_ranges"):
            validators.append(("Accept-Ranges", q["accept_ranges"]))

        # Conditional GET.
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        not_modified = False
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            not_modified = etag is not None and ("*" in tags or etag in tags)
        elif ims is not None and lm:
            t_ims, t_lm = http_date_to_ts(ims), http_date_to_ts(lm)
            not_modified = (t_ims is not None and t_lm is not None
                            and t_lm <= t_ims)
        if not_modified:
            self.send_response(304)
            for k, v in validators:
                self.send_header(k, v)
            self._end_headers_last()
            return

        chunked = q.get("chunked") == "1"
        gz = q.get("gzip")
        if gz == "always" or (gz == "1" and "gzip" in self.headers.get(
                "Accept-Encoding", "").lower()):
            data = gzip_bytes(body_bytes(pattern, size))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
            for k, v in validators:
                self.send_header(k, v)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(data)))
            if head:
                self._end_headers_last()
                return
            self.end_headers()
            pieces = [data[i:i + 1024] for i in range(0, len(data), 1024)]
            if chunked:
                pieces = [b"%x\r\n" % len(x) + x + b"\r\n" for x in pieces]
                pieces.append(b"0\r\n\r\n")
            self._send_all(pieces)
            return

        # Range (and If-Range).
        start, end, code = 0, size, 200
        rng = self.headers.get("Range")
        if rng is not None and q.get("norange") != "1" and not truncate:
            if_range = self.headers.get("If-Range")
            if if_range is None or if_range_matches(if_range, etag, lm):
                r = parse_range(rng, size)
                if r == ():
                    self._simple(416, "range not satisfiable\n",
                                 extra=[("Content-Range",
                                         "bytes */%d" % size)],
                                 head=head)
                    return
                if r is not None:
                    start, end = r
                    code = 206
        fail_range = False
        if code == 206 and not head and "fail_range" in q and \
                (q.get("fail_range") == "any" or
                 start == parse_int(q.get("fail_range"), -1)):
            fail_range = self.server.state.next_count(
                ("fail_range", self.path)) <= parse_int(q.get("fail_times"),
                                                        1)

        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in validators:
            self.send_header(k, v)
        if code == 206:
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (start, end - 1, size))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(end - start))
        if truncate and not self.server.no_keepalive:
            self.send_header("Connection", "close")
        if truncate:
            self.close_connection = True
        if truncate:
            end = start + (end - start) // 2
        if head or (end == start and not chunked):
            self._end_headers_last()
            return

        half = start + (end - start) // 2
        self.end_headers()

        def trickled(pieces):
            if trickle <= 0:
                yield from pieces
                return
            first = True
            for piece in pieces:
                for i in range(0, len(piece), 1024):
                    if not first:
                        time.sleep(trickle)
                    first = False
                    yield piece[i:i + 1024]

        def frame(pieces):
            for piece in pieces:
                if chunked:
                    yield b"%x\r\n" % len(piece) + piece + b"\r\n"
                else:
                    yield piece

        if fail_range:
            # fail_range=: half the range, then an RST.
            for piece in frame(paced(body_range(pattern, start, half),
                                     rate, self.connection)):
                self.wfile.write(piece)
            time.sleep(0.05)
            self._reset_connection()
            return
        if stall > 0:
            for piece in frame(paced(body_range(pattern, start, half),
                                     rate, self.connection)):
                self.wfile.write(piece)
            time.sleep(stall)
            start = half
        tail = frame(paced(trickled(body_range(pattern, start, end)), rate,
                           self.connection))
        if chunked and not truncate:
            tail = itertools.chain(tail, [b"0\r\n\r\n"])
        self._send_all(tail)
        self._release()
        extra = parse_int(q.get("extra"), 0)
        if extra > 0 and not truncate:
            time.sleep(0.02)
            self.wfile.write((b"junk" * (extra // 4 + 1))[:extra])

    def _reset_connection(self):
        """Closes the connection with an RST once the handler returns
        (SO_LINGER {1, 0}; finish() closes the descriptor)."""
        self.close_connection = True
        self._reset = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup (getfqdn).
        import socketserver
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="fetchmany test HTTP server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--root", default=None)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--ignore-stdin", action="store_true",
                    help="do not stop at end of standard input")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--no-keepalive", action="store_true",
                    help="close every connection after its response")
    ap.add_argument("--tls-cert", default=None,
                    help="PEM certificate (chain): serve HTTPS as well")
    ap.add_argument("--tls-key", default=None, help="PEM private key")
    ap.add_argument("--tls12", action="store_true",
                    help="TLS 1.2 at most (sessions known at the end of "
                    "the handshake, as nginx's)")
    ap.add_argument("--tls-delay", type=float, default=0.0,
                    help="seconds to wait before each TLS handshake")
    ap.add_argument("--proxy", action="store_true",
                    help="also a forward proxy: absolute-form requests and "
                    "CONNECT tunnels (logged in /_log)")
    ap.add_argument("--also-listen", type=int, default=0, metavar="N",
                    help="also listen on 127.0.1.1 ... 127.0.1.N, same port")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if not 0 <= args.also_listen <= 254:
        ap.error("--also-listen takes 0 to 254")

    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    cls = type("BoundServer", (Server,), {"address_family": fam})
    srv = cls((args.host, args.port), Handler)
    srv.state = State()
    srv.verbose = args.verbose
    srv.proxy = args.proxy
    srv.no_keepalive = args.no_keepalive
    srv.root = args.root
    srv.ssl_ctx = None
    srv.tls_delay = args.tls_delay
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        srv.ssl_ctx = ctx

    # --also-listen: more listening sockets on the same port, the same
    # state and settings, each served by a thread of its own.
    extra = []
    for i in range(1, args.also_listen + 1):
        addr = "127.0.1.%d" % i
        xcls = type("BoundServer", (Server,),
                    {"address_family": socket.AF_INET})
        try:
            x = xcls((addr, srv.server_address[1]), Handler)
        except OSError as e:
            sys.stderr.write("httpd: --also-listen: cannot listen on "
                             "%s:%d: %s\n" % (addr, srv.server_address[1],
                                              e.strerror or e))
            sys.stderr.flush()
            os._exit(2)
        for attr in ("state", "verbose", "no_keepalive", "root", "ssl_ctx",
                     "proxy",
                     "tls_delay"):
            setattr(x, attr, getattr(srv, attr))
        extra.append(x)
    for x in extra:
        threading.Thread(target=x.serve_forever, kwargs={
            "poll_interval": 0.05}, daemon=True).start()

    stop_once = threading.Lock()

    def shutdown_all():
        # In parallel: each shutdown() waits for its loop's next poll.
        ts = [threading.Thread(target=x.shutdown, daemon=True)
              for x in extra + [srv]]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def stop(reason):
        if stop_once.acquire(blocking=False):
            if args.verbose:
                sys.stderr.write("httpd: stopping (%s)\n" % reason)
            threading.Thread(target=shutdown_all, daemon=True).start()

    if not args.ignore_stdin:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            stop("stdin closed")
        threading.Thread(target=watch_stdin, daemon=True).start()

    timer = threading.Timer(args.lifetime, stop, args=("lifetime",))
    timer.daemon = True
    timer.start()

    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    srv.server_close()
    for x in extra:
        x.server_close()
    sys.stdout.flush()
    sys.stderr.flush()
    # Connection threads are daemons; do not wait for stalled ones.
    os._exit(0)


if __name__ == "__main__":
    main()
