"""A loopback HTTP proxy that injects faults between the agent and moto: outages, latency, stalls, cuts and 403s.

It understands just enough HTTP/1.1 (Content-Length bodies, keep-alive) to tell one AWS operation from another,
so a test can say "cut the next two GetObject bodies" or "deny ReceiveMessage". `down()` closes the listening
socket and every open connection, so the port refuses connections exactly as a stopped server's would, while
moto keeps its state in memory behind it; `up()` listens on the same port again.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

S3_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
             b"<Message>Access Denied</Message><RequestId>FAULT</RequestId></Error>")
S3_SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                b"<Message>Please reduce your request rate.</Message><RequestId>FAULT</RequestId></Error>")
STS_INVALID_TOKEN = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                     b"<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
                     b"</Message></Error><RequestId>FAULT</RequestId></ErrorResponse>")
"""What STS answers (in `canned`, for its "POST other" requests) to an access key that does not exist."""
SQS_DENIED = (b'{"__type": "com.amazon.coral.service#AccessDeniedException", '
              b'"message": "User is not authorized to perform: sqs:ReceiveMessage"}')


@dataclass
class Faults:
    """What to do to the traffic now. Counters are "the next N matching responses"."""

    latency: float = 0.0
    deny: set[str] = field(default_factory=set)  # operation names answered with 403 AccessDenied
    busy: set[str] = field(default_factory=set)  # S3 operation names answered with 503 SlowDown (a brownout)
    drop: dict[str, int] = field(default_factory=dict)  # operation -> how many more requests to drop unanswered
    cut_bodies: int = 0  # GetObject: send half the body, then close the connection
    truncate_bodies: int = 0  # GetObject: send half the body with a matching Content-Length (a "clean" short body)
    stall_bodies: int = 0  # GetObject: send half the body, pause `stall_seconds`, then the rest
    stall_seconds: float = 0.0
    date_offset: float | None = None  # add a Date header this many seconds away from now (a server with a skewed clock)
    canned: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)  # operation -> (status, content type, body)


class FaultProxy:
    """Forwards 127.0.0.1:port to an upstream endpoint, applying `faults` to each request."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults = Faults()
        self.seen: Counter[str] = Counter()  # operations that reached the proxy
        self.refused_while_down = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ lifecycle

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="proxy-accept", daemon=True).start()

    def down(self) -> None:
        """Refuse connections from now on, and break every open one (as a crashed server would)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the blocked accept(); close() alone would let it take one more
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            connections, self._connections = set(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def count(self, operation: str) -> int:
        with self._lock:
            return self.seen[operation]

    # ------------------------------------------------------------ serving

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name="proxy-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        reader = conn.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                method, target, headers, body = request
                operation = _operation(method, target, headers)
                with self._lock:
                    self.seen[operation] += 1
                if self.faults.latency:
                    time.sleep(self.faults.latency)
                with self._lock:
                    dropping = self.faults.drop.get(operation, 0) > 0
                    if dropping:
                        self.faults.drop[operation] -= 1
                if dropping:
                    return  # close the connection without an answer
                if operation in self.faults.deny:
                    kind = "application/xml" if operation in ("GetObject", "HeadObject") else "application/x-amz-json-1.0"
                    _send(conn, 403, [("Content-Type", kind)],
                          S3_DENIED if operation in ("GetObject", "HeadObject") else SQS_DENIED)
                    continue
                if operation in self.faults.canned:
                    status, kind, payload = self.faults.canned[operation]
                    _send(conn, status, [("Content-Type", kind)], payload)
                    continue
                if operation in self.faults.busy:
                    _send(conn, 503, [("Content-Type", "application/xml")], b"" if method == "HEAD" else S3_SLOW_DOWN)
                    continue
                upstream.request(method, target, body=body, headers={k: v for k, v in headers if k.lower() != "connection"})
                response = upstream.getresponse()
                payload = response.read()
                out_headers = [(k, v) for k, v in response.getheaders()
                               if k.lower() not in ("transfer-encoding", "content-length", "connection", "server", "date")]
                if self.faults.date_offset is not None:
                    out_headers.append(("Date", email.utils.formatdate(time.time() + self.faults.date_offset, usegmt=True)))
                if operation == "GetObject" and response.status in (200, 206) and len(payload) > 1:
                    if self._take("cut_bodies"):
                        _send(conn, response.status, out_headers, payload[: len(payload) // 2], length=len(payload))
                        return  # the connection drops mid-body
                    if self._take("truncate_bodies"):  # no checksum header either: only the agent's size check can tell
                        plain = [(k, v) for k, v in out_headers if not k.lower().startswith("x-amz-checksum")]
                        _send(conn, response.status, plain, payload[: len(payload) // 2])
                        continue
                    if self._take("stall_bodies"):
                        half = len(payload) // 2
                        _send(conn, response.status, out_headers, payload[:half], length=len(payload))
                        time.sleep(self.faults.stall_seconds)
                        conn.sendall(payload[half:])
                        continue
                if method == "HEAD":  # no body, but the object's real length
                    _send(conn, response.status, out_headers, b"", length=int(response.getheader("Content-Length") or 0))
                    continue
                _send(conn, response.status, out_headers, payload)
        except (OSError, http.client.HTTPException):
            return
        finally:
            upstream.close()
            with self._lock:
                self._connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _take(self, name: str) -> bool:
        with self._lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False


def _read_request(reader: object) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    line = reader.readline()  # type: ignore[attr-defined]
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        raw = reader.readline()  # type: ignore[attr-defined]
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    length = int(next((v for k, v in headers if k.lower() == "content-length"), "0") or 0)
    body = reader.read(length) if length else b""  # type: ignore[attr-defined]
    return method, target, headers, body


def _operation(method: str, target: str, headers: list[tuple[str, str]]) -> str:
    amz_target = next((v for k, v in headers if k.lower() == "x-amz-target"), "")
    if amz_target:
        return amz_target.rsplit(".", 1)[-1]  # AmazonSQS.ReceiveMessage -> ReceiveMessage
    path, _, query = target.partition("?")
    segments = [s for s in path.split("/") if s]
    if method == "GET" and len(segments) >= 2:
        return "GetObject"
    if method == "HEAD" and len(segments) >= 2:
        return "HeadObject"
    if method == "GET" and "list-type" in query:
        return "ListObjectsV2"
    return f"{method} other"


def _send(conn: socket.socket, status: int, headers: list[tuple[str, str]], body: bytes, length: int | None = None) -> None:
    reason = http.client.responses.get(status, "Status")
    head = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers),
            f"Content-Length: {len(body) if length is None else length}", "", ""]
    conn.sendall("\r\n".join(head).encode("latin-1") + body)
