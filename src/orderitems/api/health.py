"""``GET /healthz``, ``GET /readyz`` and the drain flag (docs/behaviour.md#health-and-shutdown).

``/healthz`` answers from the event loop alone. ``/readyz`` asks the database (does it answer,
is its schema this version's) and the limiter's store, each within the readiness timeout, on a
connection of its own so that a busy pool never makes a loaded process look dead. One run at a
time per process: probes that arrive meanwhile share its answer, so a hung database never piles
up threads. A process logs when its readiness changes, never per probe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
import msgspec
from sqlalchemy.engine import Connection, Engine
from starlette.responses import Response
from starlette.types import Scope

from orderitems.store import readiness as store

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
PROBE_PATHS = (HEALTH_PATH, READY_PATH)
#: Key of the server's ``Drain`` in the ASGI lifespan state (every request's ``scope["state"]``).
DRAIN_STATE = "orderitems.drain"
#: Seconds between readiness checks while a process has not yet been ready (start-up).
STARTUP_INTERVAL = 1.0


@dataclass
class Drain:
    """Set by the server when SIGTERM or SIGINT arrives: from then on ``/readyz`` is 503 and
    every answer closes its connection, so clients and balancers go elsewhere."""

    since: float | None = None

    @property
    def started(self) -> bool:
        return self.since is not None

    def begin(self) -> None:
        if self.since is None:
            self.since = time.monotonic()


class Check(msgspec.Struct, rename="pascal", omit_defaults=True):
    name: str
    ok: bool
    ms: float
    problem: str | None = None


class Report(msgspec.Struct, rename="pascal"):
    status: str  # Ready | NotReady | Draining
    failing: str | None
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return self.failing is None


_encoder = msgspec.json.Encoder()


def health_response() -> Response:
    return Response(b'{"Status":"Alive"}', media_type="application/json")


def report_response(report: Report) -> Response:
    status = 200 if report.ready else 503
    return Response(_encoder.encode(report), status_code=status, media_type="application/json")


def draining_report() -> Report:
    check = Check(
        "Shutdown", False, 0.0, "stopping: finishing the requests in flight, then exiting"
    )
    return Report("Draining", check.name, [check])


class NotReady(Exception):
    """A check failed; ``problem`` is safe to show (no URL, password or token)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _unreachable(exc: BaseException) -> NotReady:
    return NotReady(f"unreachable ({type(exc).__name__})")


@dataclass
class _Progress:
    """Checks a worker thread has finished, read by the awaiting probe when it times out."""

    done: list[Check] = field(default_factory=list)
    detail: str | None = None


def _first_line(exc: BaseException) -> str | None:
    return str(exc).splitlines()[0] if str(exc) else None


def _database_checks(
    engine: Engine, expected: str | None, limiter_table: bool, progress: _Progress
) -> None:
    """Database, Schema (and Limiter when the limiter lives in the database), in order."""
    steps: list[tuple[str, Callable[[Connection], None]]] = [
        ("Database", store.ping),
        ("Schema", lambda connection: _check_schema(connection, expected)),
    ]
    if limiter_table:
        steps.append(("Limiter", store.limiter_table_answers))
    started = time.perf_counter()
    try:
        connection = engine.connect()
    except Exception as exc:
        progress.detail = _first_line(exc)
        progress.done.append(_failed("Database", started, _unreachable(exc)))
        return
    with connection:
        for name, step in steps:
            try:
                step(connection)
            except NotReady as exc:
                progress.done.append(_failed(name, started, exc))
                return
            except Exception as exc:
                progress.detail = _first_line(exc)
                progress.done.append(_failed(name, started, _unreachable(exc)))
                return
            progress.done.append(Check(name, True, _ms(started)))
            started = time.perf_counter()


def _check_schema(connection: Connection, expected: str | None) -> None:
    found = store.schema_revision(connection)
    if found != expected:
        raise NotReady(
            "no schema: run orderitems db upgrade"
            if found is None
            else f"schema at revision {found}, this version needs {expected}"
            " (orderitems db upgrade, or a newer server)"
        )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _failed(name: str, started: float, exc: NotReady) -> Check:
    return Check(name, False, _ms(started), exc.problem)


class Readiness:
    """The readiness of one server process, checked on demand and while starting."""

    def __init__(
        self,
        engine: Engine,
        *,
        timeout: float,
        ping_limiter: Callable[[], Awaitable[object]] | None = None,
        limiter_store: str = "Redis",
        check_limiter: bool = True,
    ) -> None:
        self.engine = engine
        self.timeout = timeout
        #: The limiter's own store (Redis, or SQLite's state file), named ``limiter_store`` in
        #: problems; without one its table is checked in the database.
        self.ping_limiter = ping_limiter
        self.limiter_store = limiter_store
        self.check_limiter = check_limiter
        self.expected = store.expected_revision()
        #: Once ready, a process serves; before, API requests answer 503 (start-up only).
        self.serving = False
        self._last: Report | None = None
        #: The driver's first line for the last failure: for the log, never for the body.
        self._detail: str | None = None
        self._running: asyncio.Future[Report] | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def check(self) -> Report:
        """The current report; a probe arriving during a run waits for that run's answer."""
        if self._running is None:
            self._running = asyncio.get_running_loop().create_future()
            try:
                report = await self._run()
            except BaseException as exc:
                self._running.set_exception(exc)
                self._running.exception()  # retrieved: waiters get it, nobody else must
                raise
            finally:
                running, self._running = self._running, None
            running.set_result(report)
            self._note(report)
            return report
        return await asyncio.shield(self._running)

    async def _run(self) -> Report:
        progress = _Progress()
        limiter_table = self.check_limiter and self.ping_limiter is None
        with anyio.move_on_after(self.timeout):
            await anyio.to_thread.run_sync(
                _database_checks,
                self.engine,
                self.expected,
                limiter_table,
                progress,
                abandon_on_cancel=True,
            )
        checks = list(progress.done)
        names = ["Database", "Schema"] + (["Limiter"] if limiter_table else [])
        if len(checks) < len(names) and all(c.ok for c in checks):
            problem = f"did not answer within {self.timeout:g} s"
            checks.append(Check(names[len(checks)], False, self.timeout * 1000, problem))
        if self.check_limiter and self.ping_limiter is not None and all(c.ok for c in checks):
            checks.append(await self._ping_limiter(progress))
        failing = next((c.name for c in checks if not c.ok), None)
        self._detail = progress.detail if failing is not None else None
        return Report("Ready" if failing is None else "NotReady", failing, checks)

    async def _ping_limiter(self, progress: _Progress) -> Check:
        assert self.ping_limiter is not None
        started = time.perf_counter()
        store = self.limiter_store
        try:
            with anyio.fail_after(self.timeout):
                await self.ping_limiter()
        except TimeoutError:
            problem = f"{store} did not answer within {self.timeout:g} s"
            return Check("Limiter", False, _ms(started), problem)
        except Exception as exc:
            progress.detail = _first_line(exc)
            return Check("Limiter", False, _ms(started), f"{store} {_unreachable(exc).problem}")
        return Check("Limiter", True, _ms(started))

    def _note(self, report: Report) -> None:
        """Log a change of readiness (and why), never a repeat."""
        previous = self._last
        self._last = report
        if report.ready:
            self.serving = True
        if previous is not None and (previous.failing, _problem(previous)) == (
            report.failing,
            _problem(report),
        ):
            return
        if report.ready:
            log.info(
                "ready: %s",
                ", ".join(f"{c.name.lower()} {c.ms:.1f} ms" for c in report.checks),
            )
            return
        log.warning(
            "not ready: %s: %s%s",
            (report.failing or "").lower(),
            _problem(report),
            f" ({self._detail})" if self._detail else "",
        )

    async def watch_until_ready(self) -> None:
        """While starting: check every second until ready (each change logged), then stop."""
        while not self.serving:
            await self.check()
            if not self.serving:
                await anyio.sleep(STARTUP_INTERVAL)

    def start_watching(self) -> None:
        if not self.serving and self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self.watch_until_ready())

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(self._watcher, return_exceptions=True)


def _problem(report: Report) -> str:
    return next((c.problem or "" for c in report.checks if not c.ok), "")


def draining_of(scope: Scope) -> bool:
    """Whether the server serving this request has begun to drain (SIGTERM or SIGINT)."""
    drain = scope.get("state", {}).get(DRAIN_STATE)
    return isinstance(drain, Drain) and drain.started


async def probe_response(path: str, scope: Scope, readiness: Readiness) -> Response:
    """``/healthz``: alive; ``/readyz``: the checks' report, or draining."""
    if path == HEALTH_PATH:
        return health_response()
    if draining_of(scope):
        return report_response(draining_report())
    return report_response(await readiness.check())
