"""uvicorn's httptools protocol with the limits it lacks (docs/behaviour.md#limits).

uvicorn bounds only the idle time between keep-alive requests: a client that connects and
says nothing, or sends its headers a byte at a time, holds a connection (and a file
descriptor) for as long as it likes, and headers of any size are buffered. This protocol
arms one timer per request: from the connection (or the request's first byte) until the end
of its headers (``header_timeout_seconds``), then until the end of its body
(``body_timeout_seconds`` plus a margin: the app answers a late body 408 itself, this only
closes connections whose body the app never reads). Headers past ``max_header_bytes`` answer
431. What uvicorn answers in text/plain (a request it cannot parse) gets the API's error body
and a ``Request-Id`` instead. Limits come from the app's lifespan state (``api/read_limits``).

Why a subclass: uvicorn has no such option (its keep-alive timer is reset by every byte, and
httptools' header buffer is not configurable: encode/uvicorn#157), and ASGI middleware runs only
once the headers are complete. Switching servers for three timers would leave behind the one
every benchmark and test here measured; a reverse proxy in front (nginx's
``client_header_timeout``) does the same and remains a good idea on the open internet.
"""

from __future__ import annotations

import asyncio
import http
import logging
import time
from typing import Any

import httptools
import msgspec
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from orderitems.api.errors import ErrorBody
from orderitems.api.exchange import new_request_id
from orderitems.api.read_limits import DEFAULT_READ_LIMITS, READ_LIMITS_STATE, ReadLimits

log = logging.getLogger("orderitems.api.app")  # the access log: one line per answer

#: Seconds past the body timeout before a body the app never reads closes its connection.
BODY_MARGIN = 5.0
#: Seconds a refused request's connection keeps reading (and dropping) before it closes.
LINGER = 2.0


class _Refusal(Exception):
    """Raised from a parser callback to answer at once with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parser_refusal(exc: httptools.HttpParserError) -> _Refusal:
    """What a request the parser refuses is told: 413 for a length past any limit, else 400."""
    reason = str(exc) or "malformed request"
    if "content-length" in reason.lower() and "overflow" in reason.lower():
        return _Refusal(413, "The declared Content-Length is larger than any body accepted.")
    return _Refusal(400, f"The request is not valid HTTP/1.1: {reason}.")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One connection: uvicorn's parsing and ASGI cycle, plus read timeouts and size limits."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = app_state.get(READ_LIMITS_STATE, DEFAULT_READ_LIMITS)
        self.limits: ReadLimits = limits
        self.read_timer: asyncio.TimerHandle | None = None
        self.header_bytes = 0
        self.request_started: float | None = None
        self.in_headers = True
        self.refusal: _Refusal | None = None
        self.lingering = False

    # Timers

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.read_timer = self.loop.call_later(seconds, self._read_timed_out)

    def _disarm(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def _read_timed_out(self) -> None:
        self.read_timer = None
        if self.transport.is_closing():
            return
        if self.in_headers:
            if self.request_started is None:  # connected and silent: nobody to answer
                self.transport.close()
                return
            seconds = self.limits.header_seconds
            self.refuse(408, f"The request headers did not arrive within {seconds:g} seconds.")
            return
        # The body is still arriving long after the app had its chance: close.
        if self.cycle is not None and not self.cycle.response_started:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()

    # Connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # the rest of a refused request: read, so that closing sends no reset
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
            if self.in_headers:  # all of it was request line and headers, still incomplete
                self._count(len(data))
        except _Refusal as refused:  # raised by ``_count`` outside the parser
            self.refuse(refused.status, refused.message)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            # A callback's own exception reaches here wrapped; the refusal it raised is kept.
            refusal = self.refusal or parser_refusal(exc)
            self.refuse(refusal.status, refusal.message)

    def send_400_response(self, msg: str) -> None:
        self.refuse(400, f"The request is not valid HTTP/1.1: {msg}")

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_headers = True
        self.header_bytes = 0
        self.request_started = time.perf_counter()
        self._arm(self.limits.header_seconds)

    def _count(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > self.limits.max_header_bytes:
            self.refusal = _Refusal(
                431, f"The request line and headers are over {self.limits.max_header_bytes} bytes."
            )
            raise self.refusal

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_headers = False
        self._arm(self.limits.body_seconds + BODY_MARGIN)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self.request_started = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle is not None and self.cycle.more_body:
            # Answered before the body ended (e.g. 404): the body still has its deadline.
            return
        self.in_headers = True

    # Answers of the server's own

    def _close_lingering(self) -> None:
        """Close after the answer, reading what the client still sends for up to
        ``LINGER`` seconds: closing a socket with unread input sends a reset, which can
        destroy the answer before the client reads it (Apache's "lingering close")."""
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.lingering = True
        self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)

    def refuse(self, status: int, message: str) -> None:
        """Answer with the API's error body and a Request-Id, log it, close the connection."""
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete and not self.in_headers:
            # The app is answering this request; it must not be answered twice.
            self.transport.close()
            return
        request_id = new_request_id()
        body = msgspec.json.encode(ErrorBody(message=message, request_id=request_id))
        phrase = http.HTTPStatus(status).phrase.encode()
        head = [b"HTTP/1.1 %d %s\r\n" % (status, phrase)]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"request-id: " + request_id.encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self._close_lingering()
        started = self.request_started
        latency_ms = 0.0 if started is None else (time.perf_counter() - started) * 1000
        log.info(
            "%s %s -> %d in %.1f ms rid=%s",
            "-",
            "-",
            status,
            latency_ms,
            request_id,
            extra={"access": {"request_id": request_id, "status": status, "error": message}},
        )
