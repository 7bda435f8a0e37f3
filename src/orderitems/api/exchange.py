"""One request as the dispatcher sees it: its id, its body as read, and the record of how it
was answered, for the access log, the metrics and the request log (docs/behaviour.md#errors)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import anyio
from starlette.requests import Request

from orderitems.api.request_detail import WindowAtRefusal
from orderitems.domain import errors as refusals
from orderitems.domain.errors import PayloadTooLarge

#: The status logged and counted for a client that left before sending its whole request
#: (nginx's convention; no answer reaches that client).
CLIENT_CLOSED = 499


async def read_body(request: Request, limit: int, *, seconds: float | None = None) -> bytes:
    """The whole body, refusing (413) as soon as it passes ``limit`` without reading the rest,
    and (408) when it has not all arrived ``seconds`` after the headers."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(seconds) as reading:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
    if reading.cancelled_caught:
        raise refusals.RequestTimeout(
            f"The request body did not arrive within {seconds:g} seconds ({size} bytes received)."
        )
    return b"".join(chunks)


def prefers_minimal(request: Request) -> bool:
    """``Prefer: return=minimal`` asks for 204 on an empty page or an empty answer."""
    prefer = request.headers.get("prefer", "")
    return any(
        part.strip().lower() == "return=minimal" for part in prefer.replace(";", ",").split(",")
    )


@dataclass
class Exchange:
    """What one request was and how it was answered: for logs, metrics and the request log."""

    request_id: str
    method: str
    path: str
    at_us: int
    started: float
    kind: str = "api"  # api | sandbox | console | metrics | contract | probe
    operation: str | None = None
    token_hash: bytes | None = None
    message: str | None = None
    fault_id: int | None = None
    body: bytes = b""
    field: str | None = None
    problems: list[str] | None = None
    window: WindowAtRefusal | None = None

    def fields(self, status: int, latency_ms: float) -> dict[str, object]:
        return {
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "status": status,
            "latency_ms": round(latency_ms, 3),
            "operation": self.operation,
            "token": None if self.token_hash is None else self.token_hash.hex()[:12],
            "fault": self.fault_id,
            "error": self.message,
        }


def new_request_id() -> str:
    """A random version-4 uuid for ``Request-Id``: it names a request, it guards nothing, so
    it comes from ``random`` (reseeded in a forked child) rather than a system call per
    request as ``uuid.uuid4`` makes, a visible share of a small page's time."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))
