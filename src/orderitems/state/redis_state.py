"""State shared by every server process, in Redis: limiter windows and the sandbox's state.

Every key starts with a prefix of the server's own (derived from its database URL unless
set), so servers on different databases can share one Redis. Each change that must not
interleave with another process's runs as one Lua script, which Redis executes atomically.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any, cast

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from orderitems.state.failures import redis_state
from orderitems.state.records import (
    SYSTEM_CLOCK,
    ClockSetting,
    DrillSetting,
    FaultRule,
    LoggedRequest,
)

# Sliding window on a sorted set scored by time: drop what left the window, then admit while
# below the limit. Returns -1 when admitted, else microseconds until the oldest leaves.
_HIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
  return -1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window - now
"""

# A counted fault is used up once: decrement only while positive (1 used, 0 spent, -1 gone).
_USE_ONCE = """
local left = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if left == nil then return -1 end
if left <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
return 1
"""


class _StoredFault(msgspec.Struct, frozen=True):
    id: int
    status: int | None
    retry_after: int | None
    delay_ms: int
    database_delay_ms: int
    counted: bool
    percent: float
    operation: str | None
    token_hash: str | None
    message: str | None


class _StoredRequest(msgspec.Struct, frozen=True):
    at_us: int
    request_id: str
    method: str
    path: str
    operation: str | None
    token_hash: str | None
    status: int
    latency_ms: float
    message: str | None
    fault_id: int | None
    detail: str | None = None


def _to_stored(rule: FaultRule) -> _StoredFault:
    return _StoredFault(
        id=rule.id,
        status=rule.status,
        retry_after=rule.retry_after,
        delay_ms=rule.delay_ms,
        database_delay_ms=rule.database_delay_ms,
        counted=rule.remaining is not None,
        percent=rule.percent,
        operation=rule.operation,
        token_hash=None if rule.token_hash is None else rule.token_hash.hex(),
        message=rule.message,
    )


def _from_stored(stored: _StoredFault, remaining: int | None) -> FaultRule:
    return FaultRule(
        id=stored.id,
        status=stored.status,
        retry_after=stored.retry_after,
        delay_ms=stored.delay_ms,
        database_delay_ms=stored.database_delay_ms,
        remaining=remaining if stored.counted else None,
        percent=stored.percent,
        operation=stored.operation,
        token_hash=None if stored.token_hash is None else bytes.fromhex(stored.token_hash),
        message=stored.message,
    )


def connect_redis(url: str, *, max_connections: int, timeout: float) -> aioredis.Redis:
    """A client on a blocking pool of ``max_connections``; opens nothing until first use.

    A request waits up to ``timeout`` seconds for a free connection (redis-py's default pool
    refuses at once past its cap: 500s under a burst), and as long to connect or get a reply.
    A command on a connection found broken (Redis restarted) is retried once on a new one: had
    a hit been recorded before the break, it counts twice, which only ever refuses early. A
    timeout is not retried.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
    )
    return aioredis.Redis.from_pool(pool)


class RedisState:
    """One server's keys in one Redis; every method is a single round trip or script."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._hit = client.register_script(_HIT)
        self._use_once = client.register_script(_USE_ONCE)

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def close(self) -> None:
        await self.client.aclose()

    @redis_state
    async def record_hit(
        self, key: bytes, *, now_us: int, window_us: int, limit: int
    ) -> int | None:
        member = f"{now_us}:{secrets.token_hex(4)}"
        result = await self._hit(
            keys=[self._key("window", key.hex())], args=[now_us, window_us, limit, member]
        )
        wait = int(cast(int, result))
        return None if wait < 0 else max(wait, 0)

    @redis_state
    async def window_usage(self, cutoff_us: int) -> dict[bytes, tuple[int, int]]:
        """Each window's hits after ``cutoff_us``: how many, and the oldest (for the console)."""
        keys = [key async for key in self.client.scan_iter(match=self._key("window", "*"))]
        if not keys:
            return {}
        async with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrangebyscore(key, f"({cutoff_us}", "+inf", withscores=True)
            answers = await pipe.execute()
        usage: dict[bytes, tuple[int, int]] = {}
        for key, hits in zip(keys, answers, strict=True):
            if hits:
                name = key.decode() if isinstance(key, bytes) else str(key)
                usage[bytes.fromhex(name.rpartition(":")[2])] = (len(hits), int(hits[0][1]))
        return usage

    @redis_state
    async def clear_windows(self) -> None:
        await self._delete_matching(self._key("window", "*"))

    async def _delete_matching(self, pattern: str) -> None:
        keys = [key async for key in self.client.scan_iter(match=pattern, count=500)]
        if keys:
            await self.client.delete(*keys)

    @redis_state
    async def add_fault(self, rule: FaultRule) -> FaultRule:
        fault_id = int(await self.client.incr(self._key("faults", "next")))
        stored = replace(rule, id=fault_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key("faults"), str(fault_id), msgspec.json.encode(_to_stored(stored)))
            if stored.remaining is not None:
                pipe.hset(self._key("faults", "remaining"), str(fault_id), stored.remaining)
            await pipe.execute()
        return stored

    @redis_state
    async def faults(self) -> list[FaultRule]:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key("faults"))
            pipe.hgetall(self._key("faults", "remaining"))
            stored, remaining = await pipe.execute()
        return self._decode_faults(stored, remaining)

    @staticmethod
    def _decode_faults(stored: dict[Any, Any], remaining: dict[Any, Any]) -> list[FaultRule]:
        left = {int(k): int(v) for k, v in remaining.items()}
        rules = [msgspec.json.decode(v, type=_StoredFault) for v in stored.values()]
        return sorted((_from_stored(r, left.get(r.id, 0)) for r in rules), key=lambda rule: rule.id)

    @redis_state
    async def remove_fault(self, fault_id: int) -> bool:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key("faults"), str(fault_id))
            pipe.hdel(self._key("faults", "remaining"), str(fault_id))
            removed, _ = await pipe.execute()
        return bool(removed)

    @redis_state
    async def clear_faults(self) -> None:
        await self.client.delete(self._key("faults"), self._key("faults", "remaining"))

    @redis_state
    async def use_once(self, fault_id: int) -> bool:
        used = await self._use_once(keys=[self._key("faults", "remaining")], args=[fault_id])
        return int(cast(int, used)) == 1

    @redis_state
    async def faults_clock_and_drill(
        self,
    ) -> tuple[list[FaultRule], ClockSetting, DrillSetting | None]:
        """What every sandboxed request needs, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key("faults"))
            pipe.hgetall(self._key("faults", "remaining"))
            pipe.get(self._key("clock"))
            pipe.get(self._key("drill"))
            stored, remaining, clock, drill = await pipe.execute()
        faults = self._decode_faults(stored, remaining)
        return faults, self._decode_clock(clock), self._decode_drill(drill)

    @staticmethod
    def _decode_drill(raw: bytes | str | None) -> DrillSetting | None:
        return None if raw is None else msgspec.json.decode(raw, type=DrillSetting)

    @redis_state
    async def drill(self) -> DrillSetting | None:
        return self._decode_drill(await self.client.get(self._key("drill")))

    @redis_state
    async def set_drill(self, drill: DrillSetting | None) -> None:
        if drill is None:
            await self.client.delete(self._key("drill"))
        else:
            await self.client.set(self._key("drill"), msgspec.json.encode(drill))

    @staticmethod
    def _decode_clock(raw: bytes | str | None) -> ClockSetting:
        return SYSTEM_CLOCK if raw is None else msgspec.json.decode(raw, type=ClockSetting)

    @redis_state
    async def clock(self) -> ClockSetting:
        return self._decode_clock(await self.client.get(self._key("clock")))

    @redis_state
    async def set_clock(self, clock: ClockSetting | None) -> None:
        if clock is None or clock == SYSTEM_CLOCK:
            await self.client.delete(self._key("clock"))
        else:
            await self.client.set(self._key("clock"), msgspec.json.encode(clock))

    @redis_state
    async def append_request(self, entry: LoggedRequest, *, keep: int) -> None:
        stored = _StoredRequest(
            at_us=entry.at_us,
            request_id=entry.request_id,
            method=entry.method,
            path=entry.path,
            operation=entry.operation,
            token_hash=None if entry.token_hash is None else entry.token_hash.hex(),
            status=entry.status,
            latency_ms=entry.latency_ms,
            message=entry.message,
            fault_id=entry.fault_id,
            detail=entry.detail,
        )
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.lpush(self._key("requests"), msgspec.json.encode(stored))
            pipe.ltrim(self._key("requests"), 0, keep - 1)
            await pipe.execute()

    @redis_state
    async def recent_requests(self, limit: int) -> list[LoggedRequest]:
        """Newest first, unlabelled (the labels live in the database)."""
        raw = await self.client.lrange(self._key("requests"), 0, limit - 1)
        entries = [msgspec.json.decode(item, type=_StoredRequest) for item in raw]
        return [
            LoggedRequest(
                at_us=e.at_us,
                request_id=e.request_id,
                method=e.method,
                path=e.path,
                operation=e.operation,
                token_hash=None if e.token_hash is None else bytes.fromhex(e.token_hash),
                status=e.status,
                latency_ms=e.latency_ms,
                message=e.message,
                fault_id=e.fault_id,
                detail=e.detail,
            )
            for e in entries
        ]

    @redis_state
    async def clear_requests(self) -> None:
        await self.client.delete(self._key("requests"))

    @redis_state
    async def clear_all(self) -> None:
        """Everything under this server's prefix (the sandbox reset)."""
        await self._delete_matching(self._key("*"))
