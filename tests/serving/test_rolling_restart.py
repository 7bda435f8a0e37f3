"""A rolling restart of two server processes behind a balancer loses no request (issue 20).

The balancer is a small proxy run by the test, behaving as the usual ones do: it sends each
request to a backend whose ``/readyz`` last answered 200 (polled every 50 ms), and tries the
other backend when a connection is refused (nothing was sent, so that is safe). Each server is
stopped with SIGTERM and a drain delay longer than the poll, then replaced by a new process."""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from processes import ServerProcess, Stores
from steady_traffic import Traffic, assert_cancels_all_or_nothing, make_cancel_tenant

pytestmark = pytest.mark.slow

POLL = 0.05
DRAIN_DELAY = 1.0


class Balancer:
    """Round robin over the backends that are ready; refused connections go to the next one."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.ready: set[str] = set()
        self.served: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.turn = itertools.count()
        self.stop = threading.Event()
        self.client = httpx.Client(timeout=60, limits=httpx.Limits(max_keepalive_connections=0))

    def poll(self) -> None:
        with httpx.Client(timeout=1) as probe:
            while not self.stop.is_set():
                for backend in list(self.backends):
                    try:
                        ok = probe.get(f"{backend}/readyz").status_code == 200
                    except httpx.TransportError:
                        ok = False
                    with self.lock:
                        (self.ready.add if ok else self.ready.discard)(backend)
                time.sleep(POLL)

    def pick(self, tried: set[str]) -> str | None:
        with self.lock:
            candidates = [b for b in self.backends if b in self.ready and b not in tried]
        return candidates[next(self.turn) % len(candidates)] if candidates else None

    def forward(
        self, method: str, path: str, body: bytes, content_type: str | None
    ) -> httpx.Response | None:
        tried: set[str] = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            backend = self.pick(tried)
            if backend is None:
                tried.clear()
                time.sleep(POLL)
                continue
            try:
                headers = {} if content_type is None else {"Content-Type": content_type}
                response = self.client.request(
                    method, backend + path, content=body, headers=headers
                )
            except httpx.ConnectError:
                tried.add(backend)
                continue
            self.served[backend] += 1
            return response
        return None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        balancer = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    response = balancer.forward(
                        "POST", self.path, body, self.headers.get("Content-Type")
                    )
                except httpx.TransportError:  # sent and then lost: a failed request
                    response = None
                if response is None:
                    self.send_error(502)
                    return
                self.send_response(response.status_code)
                self.send_header("Content-Type", response.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            def log_message(self, *args: object) -> None:
                pass

        return Forward


@contextmanager
def balancing(*backends: str) -> Iterator[tuple[Balancer, str]]:
    balancer = Balancer()
    balancer.backends.extend(backends)
    front = ThreadingHTTPServer(("127.0.0.1", 0), balancer.handler())
    threads = [threading.Thread(target=balancer.poll), threading.Thread(target=front.serve_forever)]
    for thread in threads:
        thread.start()
    try:
        yield balancer, f"http://127.0.0.1:{front.server_address[1]}"
    finally:
        balancer.stop.set()
        front.shutdown()
        for thread in threads:
            thread.join()
        front.server_close()
        balancer.client.close()


def wait_until(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_rolling_restart_of_two_processes_loses_no_request(
    kind: str, stores: Stores, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = stores.get(kind, request)
    tenant = make_cancel_tenant(store.engine, 1500)

    def new_server() -> ServerProcess:
        server = ServerProcess(
            store.database_url, tmp_path, rate_limit=False, drain_delay_seconds=DRAIN_DELAY
        )
        server.spawn()
        server.wait_ready()
        return server

    servers = [new_server(), new_server()]
    stopped: list[ServerProcess] = []
    try:
        with balancing(*(s.base_url for s in servers)) as (balancer, front):
            wait_until(lambda: len(balancer.ready) == 2)
            traffic = Traffic(front, tenant, clients=4, stop_on_error=False)
            traffic.start()
            traffic.wait_for(50)
            for index, old in enumerate(list(servers)):
                assert old.process is not None
                old.process.send_signal(signal.SIGTERM)
                assert old.process.wait(timeout=30) == 0, old.log.read_text()
                stopped.append(old)
                replacement = new_server()
                servers[index] = replacement
                balancer.backends[index] = replacement.base_url
                wait_until(lambda r=replacement: r.base_url in balancer.ready)
                answered = sum(s.complete for s in list(traffic.sent))
                traffic.wait_for(answered + 50)
            traffic.finish()
    finally:
        for server in servers + stopped:
            server.stop()
    assert len(traffic.sent) > 150
    lost = [s for s in traffic.sent if not s.complete or s.status != 200]
    assert not lost, lost[:5]
    assert all(balancer.served[s.base_url] > 0 for s in servers)
    assert_cancels_all_or_nothing(store.engine, traffic.sent)
