"""The ASGI application: ``create_app(settings)``; nothing is opened at import time.

One request, in order (docs/behaviour.md#addressing, #envelope, #errors, #limits,
#health-and-shutdown): the probes (``/healthz``, ``/readyz``: no token, no limit, no log line),
the path (404), its Content-Type (400), the body (413; 408 when it stops arriving; 499 logged
when the client leaves), decoded once, so that the sandbox, the limiter and the operation read
one AccessToken; in sandbox mode the injected fault and the clock; the rate limit (429, before
any database work); then the operation, whose database work is bounded by the deadline (408).
Every answer gets a ``Request-Id``, an access-log line and metrics; in sandbox mode (or with the
console), a line in the request log, with the request's detail for the console
(api/request_detail.py). ``/`` and ``/console/...`` are the console's (api/console/) when it is
on.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import anyio
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from orderitems.access.admin_token import accepted_admin_token, authorise_admin
from orderitems.access.limits import RateLimiter
from orderitems.access.tokens import hash_token
from orderitems.api import admin, sandbox
from orderitems.api.call import Call, system_clock
from orderitems.api.console import Console
from orderitems.api.contract import served_bytes
from orderitems.api.database_faults import unavailable_for
from orderitems.api.deadline import Watchdog, WorkLimits
from orderitems.api.drills import drilled_response
from orderitems.api.errors import domain_error_response, server_error_response
from orderitems.api.exchange import (
    CLIENT_CLOSED,
    Exchange,
    new_request_id,
    prefers_minimal,
    read_body,
)
from orderitems.api.health import PROBE_PATHS, Readiness, draining_of, probe_response
from orderitems.api.metrics import Metrics
from orderitems.api.metrics_listener import MetricsListener
from orderitems.api.read_limits import READ_LIMITS_STATE, ReadLimits
from orderitems.api.request_body import check_content_type, decode_body
from orderitems.api.request_detail import WindowAtRefusal, request_detail
from orderitems.api.routes import find_operation
from orderitems.domain import errors as refusals
from orderitems.domain.errors import (
    DomainError,
    NotFound,
    RateLimited,
    Unavailable,
)
from orderitems.settings import Settings
from orderitems.state.records import DrillSetting, LoggedRequest
from orderitems.state.shared import SharedState, open_state
from orderitems.store.connect_errors import open_existing

log = logging.getLogger(__name__)

API_PREFIX = "/api/connector/v1/"
#: The official contract with its errata (``orderitems.api.contract``), outside the API prefix.
CONTRACT_PATH = "/openapi.json"


class Dispatcher:
    """Every path and method lands here, so every answer has the error body and Request-Id."""

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: Metrics,
        rebuild_demo: admin.RebuildDemo | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.rebuild_demo = rebuild_demo
        self.sandboxed = settings.sandbox or settings.demo
        #: The admin API and the request log: read-only outside sandbox mode (the console).
        self.administered = self.sandboxed or settings.console
        self.admin_token = accepted_admin_token(settings)
        self.metrics_listener: MetricsListener | None = None
        self.watchdog = Watchdog(in_flight=metrics.in_flight)
        self.engine: Engine | None = None
        self.shared: SharedState | None = None
        self.limiter: RateLimiter | None = None
        self.admin: admin.Admin | None = None
        self.readiness: Readiness | None = None
        self.console: Console | None = None

    def open(self, engine: Engine) -> None:
        """Connect the shared stores (lazily) for this process; the lifespan calls it."""
        settings = self.settings
        self.engine = engine
        self.shared = open_state(settings, engine)
        if settings.rate_limit:
            self.limiter = RateLimiter(
                self.shared.window,
                limit=settings.rate_limit_requests,
                seconds=settings.rate_limit_window_seconds,
                fail_open=settings.rate_limit_store_failure == "open",
            )
        if settings.metrics and settings.metrics_address:
            self.metrics_listener = MetricsListener(self.metrics, settings.metrics_address)
            self.metrics_listener.start()
        if self.administered:
            self.admin = admin.Admin(
                settings,
                engine=engine,
                sandbox=self.shared.sandbox,
                window=self.shared.window,
                rebuild_demo=self.rebuild_demo,
            )
            self.console = Console(settings, self.admin)
        self.readiness = Readiness(
            # A connection of its own: a pool busy with requests must not fail the probe.
            open_existing(settings.database_url, pool_size=1),
            timeout=settings.readiness_timeout_seconds,
            ping_limiter=self.shared.ping,
            limiter_store=self.shared.name,
            check_limiter=settings.rate_limit or self.sandboxed,
        )

    async def close(self) -> None:
        self.watchdog.close()
        if self.metrics_listener is not None:
            self.metrics_listener.close()
        if self.readiness is not None:
            await self.readiness.close()
            self.readiness.engine.dispose()
        if self.shared is not None:
            await self.shared.close()

    @property
    def serves_metrics(self) -> bool:
        """``/metrics`` on the API port, to the admin token, unless it has an address of its
        own (docs/behaviour.md#admin-token)."""
        return self.settings.metrics and not self.settings.metrics_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        exchange = Exchange(
            request_id=new_request_id(),
            method=request.method,
            path=request.url.path,
            at_us=time.time_ns() // 1000,
            started=time.perf_counter(),
        )
        response = await self.respond(request, exchange)
        response.headers["Request-Id"] = exchange.request_id
        if draining_of(scope):
            response.headers["Connection"] = "close"  # the next request goes elsewhere
        latency_ms = (time.perf_counter() - exchange.started) * 1000
        await self.record(exchange, response, latency_ms)
        await response(scope, receive, send)

    async def record(self, exchange: Exchange, response: Response, latency_ms: float) -> None:
        """Access log and metrics; the request log before answering, so a client reads it."""
        if exchange.kind == "probe":
            return  # probes every second would drown the log; readiness logs its changes
        status = response.status_code
        fields = exchange.fields(status, latency_ms)
        # An open console reads the admin API twice a second: those reads are debug lines.
        quiet = exchange.kind in ("sandbox", "console") and exchange.method == "GET"
        log.log(
            logging.DEBUG if quiet and status < 400 else logging.INFO,
            "%s %s -> %d in %.1f ms rid=%s",
            exchange.method,
            exchange.path,
            status,
            latency_ms,
            exchange.request_id,
            extra={"access": fields},
        )
        if exchange.kind == "metrics":
            return
        label = exchange.operation or ("unknown" if exchange.kind == "api" else exchange.kind)
        self.metrics.observe(label, status, latency_ms / 1000)
        if exchange.kind != "api" or self.shared is None or not self.administered:
            return
        entry = LoggedRequest(
            at_us=exchange.at_us,
            request_id=exchange.request_id,
            method=exchange.method,
            path=exchange.path[:300],
            operation=None if exchange.operation is None else exchange.operation.lower(),
            token_hash=exchange.token_hash,
            status=status,
            latency_ms=latency_ms,
            message=exchange.message,
            fault_id=exchange.fault_id,
            detail=request_detail(
                exchange.body,
                bytes(response.body),
                field=exchange.field,
                problems=exchange.problems,
                window=exchange.window,
            ),
        )
        try:
            await self.shared.sandbox.log(entry)
        except Unavailable:
            pass  # the request log is best-effort; the store's failure is logged once there
        except Exception:
            log.warning("no request log line rid=%s", exchange.request_id, exc_info=True)

    async def respond(self, request: Request, exchange: Exchange) -> Response:
        development = self.settings.development
        try:
            return await self.route(request, exchange)
        except DomainError as exc:
            exchange.message = exc.message
            exchange.field, exchange.problems = exc.field, exc.problems or [exc.message]
            if isinstance(exc, RateLimited) and exchange.fault_id is None:
                self.metrics.rejections.labels(exchange.operation or "unknown").inc()
                exchange.window = WindowAtRefusal(
                    used=self.settings.rate_limit_requests,
                    limit=self.settings.rate_limit_requests,
                    window_seconds=self.settings.rate_limit_window_seconds,
                    oldest_leaves_in_seconds=exc.retry_after,
                )
            response = domain_error_response(exc, exchange.request_id, development=development)
            if isinstance(exc, refusals.RequestTimeout):
                response.headers["Connection"] = "close"  # the client stopped sending
            return response
        except ClientDisconnect:
            exchange.message = "The client closed the connection before sending its whole body."
            return Response(status_code=CLIENT_CLOSED)  # logged and counted; nobody reads it
        except Exception as exc:
            unavailable = unavailable_for(exc, self.settings.database_url, exchange.request_id)
            if unavailable is not None:
                exchange.message = unavailable.message
                return domain_error_response(
                    unavailable, exchange.request_id, development=development
                )
            exchange.message = "An unexpected error occurred."
            return server_error_response(exc, exchange.request_id, development=development)

    async def route(self, request: Request, exchange: Exchange) -> Response:
        path = request.url.path
        assert self.readiness is not None, "the lifespan opens the readiness checks"
        if path in PROBE_PATHS and request.method == "GET":
            exchange.kind = "probe"
            return await probe_response(path, request.scope, self.readiness)
        if path == admin.PREFIX or path.startswith(admin.PREFIX + "/"):
            exchange.kind = "sandbox"
            if self.admin is None:
                raise NotFound(f"No operation {request.method} {path}.")
            return await self.admin.respond(request)
        if self.console is not None and self.console.serves(path):
            exchange.kind = "console"
            return await self.console.respond(request)
        if path == "/metrics" and request.method == "GET" and self.serves_metrics:
            exchange.kind = "metrics"
            authorise_admin(request.headers.get("authorization"), self.admin_token)
            return self.metrics.response()
        if path == CONTRACT_PATH and request.method == "GET":
            exchange.kind = "contract"
            return Response(served_bytes(), media_type="application/json")
        route = find_operation(path, strict=self.settings.strict_paths)
        if route is None or request.method != "POST":
            raise NotFound(f"No operation {request.method} {path}.")
        exchange.operation = route.path.removeprefix(API_PREFIX)
        if not self.readiness.serving:
            raise refusals.Unavailable(
                "The server is starting and cannot serve yet (GET /readyz says why).", retry_after=5
            )
        if not self.settings.lenient_content_type:
            check_content_type(request.headers.get("content-type"))
        body = exchange.body = await read_body(
            request, self.settings.max_body_bytes, seconds=self.settings.body_timeout_seconds
        )
        decoded = decode_body(body, route.request_type, strict=self.settings.strict_json)
        token = decoded.access_token
        exchange.token_hash = None if token is None else hash_token(token)
        assert self.engine is not None, "the lifespan opens the engine"
        assert self.shared is not None, "the lifespan opens the shared stores"
        clock = system_clock
        database_delay = 0.0
        drill: DrillSetting | None = None
        if self.sandboxed:
            fault, setting, drill = await self.shared.sandbox.prepare(
                exchange.operation.lower(), exchange.token_hash
            )
            clock = sandbox.clock_for(setting)
            if fault is not None:
                exchange.fault_id = fault.id
                self.metrics.faults.labels(exchange.operation, sandbox.fault_name(fault)).inc()
                if fault.delay_ms:
                    await anyio.sleep(fault.delay_ms / 1000)
                answer = sandbox.fault_response(
                    fault, exchange.request_id, development=self.settings.development
                )
                if answer is not None:
                    exchange.message = sandbox.fault_message(fault, exchange.request_id)
                    return answer
                database_delay = fault.database_delay_ms / 1000
        if self.limiter is not None and token is not None:
            await self.limiter.check(token)
        call = Call(
            settings=self.settings,
            engine=self.engine,
            decoded=decoded,
            request_id=exchange.request_id,
            prefer_minimal=prefers_minimal(request),
            clock=clock,
            limits=WorkLimits.starting_now(
                self.watchdog, self.settings.deadline_seconds, database_delay=database_delay
            ),
        )
        response = await route.operation(call)
        if drill is not None and response.status_code == 200:
            response = drilled_response(response, drill)
        return response


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    rebuild_demo: admin.RebuildDemo | None = None,
    metrics_dir: str | None = None,
) -> Starlette:
    """The server for these settings; the engine is opened on startup unless one is given.

    ``rebuild_demo`` regenerates the demo data into emptied tables (the sandbox reset);
    ``metrics_dir`` is prometheus_client's multiprocess directory when several processes serve.
    """
    dispatcher = Dispatcher(
        settings, metrics=Metrics(multiprocess_dir=metrics_dir), rebuild_demo=rebuild_demo
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, object]]:
        owned = engine is None
        # A server never creates a database: a deleted SQLite file is a 503, not a new empty
        # file (the CLI creates one for --demo before the workers start).
        opened = engine or open_existing(
            settings.database_url,
            pool_size=settings.db_pool_size,
            busy_seconds=settings.lock_wait_seconds,
        )
        dispatcher.open(opened)
        assert dispatcher.readiness is not None
        try:
            # Ready before the first connection when the database answers; else the process
            # serves probes (503) and checks again every second until it can serve.
            await dispatcher.readiness.check()
            dispatcher.readiness.start_watching()
            # For the HTTP server's protocol: how long a request line and headers may take.
            yield {READ_LIMITS_STATE: ReadLimits.from_settings(settings)}
        finally:
            await dispatcher.close()
            if owned:
                opened.dispose()

    return Starlette(routes=[Mount("/", app=dispatcher)], lifespan=lifespan)
