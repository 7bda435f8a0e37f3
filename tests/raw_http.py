"""Requests written byte for byte on a socket, for what an HTTP client library will not send:
silent connections, headers a byte at a time, bodies that stop, unparseable requests."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RawAnswer:
    status: int | None
    headers: dict[str, str]
    body: bytes
    #: Seconds from the last byte sent until the server closed the connection.
    closed_after: float

    def json(self) -> Any:
        return json.loads(self.body)


def parse(raw: bytes, closed_after: float) -> RawAnswer:
    if not raw:
        return RawAnswer(None, {}, b"", closed_after)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(status, headers, body, closed_after)


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return received
        if not chunk:
            return received
        received += chunk


def exchange(port: int, data: bytes, *, timeout: float = 30) -> RawAnswer:
    """Send ``data`` as it is, then read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        if data:
            sock.sendall(data)
        sent = time.monotonic()
        raw = read_until_closed(sock, timeout)
        return parse(raw, time.monotonic() - sent)


def request_head(path: str, *, length: int | None = None, method: str = "POST") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    return (head + "\r\n").encode()


def wait_for_line(server: Any, text: str, *, timeout: float = 10) -> str:
    """The first line of the server's log containing ``text``, once it has been written."""
    deadline = time.monotonic() + timeout
    while True:
        for line in server.log.read_text().splitlines():
            if text in line:
                return str(line)
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line with {text!r}:\n{server.log.read_text()}")
        time.sleep(0.05)
