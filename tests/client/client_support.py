"""Client test helpers: a tenant's client, and transports that inject faults into real traffic."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from conftest import ServerThread
from factories import Tenant
from orderitems.client import AsyncClient, Client, RetryPolicy

#: A fault: a canned answer, or an exception the transport raises instead of answering.
Fault = httpx.Response | Exception

NO_JITTER = RetryPolicy(jitter=False)


class Recorder:
    """What the client sent and what it waited, for assertions."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.statuses: list[int | None] = []
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def record(self, request: httpx.Request) -> None:
        self.bodies.append(json.loads(request.content))
        self.paths.append(request.url.path)


class FaultyTransport(httpx.BaseTransport):
    """Forwards to the real server, except that queued faults answer the next requests.

    ``when`` picks which requests a queued fault may answer (default: the next one).
    """

    def __init__(self, recorder: Recorder, faults: list[Fault] | None = None) -> None:
        self.recorder = recorder
        self.faults: deque[Fault] = deque(faults or [])
        self.when: Callable[[httpx.Request], bool] = lambda _request: True
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.recorder.record(request)
        if self.faults and self.when(request):
            fault = self.faults.popleft()
            if isinstance(fault, Exception):
                self.recorder.statuses.append(None)
                raise fault
            self.recorder.statuses.append(fault.status_code)
            return fault
        response = self.real.handle_request(request)
        response.read()
        self.recorder.statuses.append(response.status_code)
        return response

    def close(self) -> None:
        self.real.close()


class AsyncFaultyTransport(httpx.AsyncBaseTransport):
    """``FaultyTransport`` for ``AsyncClient``."""

    def __init__(self, recorder: Recorder, faults: list[Fault] | None = None) -> None:
        self.recorder = recorder
        self.faults: deque[Fault] = deque(faults or [])
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.recorder.record(request)
        if self.faults:
            fault = self.faults.popleft()
            if isinstance(fault, Exception):
                self.recorder.statuses.append(None)
                raise fault
            self.recorder.statuses.append(fault.status_code)
            return fault
        response = await self.real.handle_async_request(request)
        await response.aread()
        self.recorder.statuses.append(response.status_code)
        return response

    async def aclose(self) -> None:
        await self.real.aclose()


def error(status: int, message: str = "injected", **headers: str) -> httpx.Response:
    """An error answer in the API's shape, as the real server would send it."""
    body = {"Message": message, "RequestId": f"fault-{status}", "Details": None}
    return httpx.Response(status, json=body, headers={"Request-Id": f"fault-{status}", **headers})


def make_client(
    server: ServerThread,
    tenant: Tenant,
    *,
    recorder: Recorder | None = None,
    faults: list[Fault] | None = None,
    retry: RetryPolicy = NO_JITTER,
) -> Client:
    recorder = recorder or Recorder()
    return Client(
        base_url=server.base_url,
        client_token=tenant.client_token,
        access_token=tenant.access_token,
        client_name="orderitems client tests 1.0",
        retry=retry,
        transport=FaultyTransport(recorder, faults),
        sleep=recorder.sleep,
    )


def make_async_client(
    server: ServerThread,
    tenant: Tenant,
    *,
    recorder: Recorder | None = None,
    faults: list[Fault] | None = None,
    retry: RetryPolicy = NO_JITTER,
) -> AsyncClient:
    recorder = recorder or Recorder()
    return AsyncClient(
        base_url=server.base_url,
        client_token=tenant.client_token,
        access_token=tenant.access_token,
        client_name="orderitems client tests 1.0",
        retry=retry,
        transport=AsyncFaultyTransport(recorder, faults),
        sleep=recorder.async_sleep,
    )
