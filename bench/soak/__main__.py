"""``python -m bench.soak``: the rounds, the checks and the report (see bench/soak/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.soak import faults, traffic
from bench.soak.world import (
    LIMIT,
    Data,
    RedisServer,
    Server,
    item_states,
    populate,
    postgres_schema,
)

ROOT = Path(__file__).resolve().parents[2]
DATABASES = ["sqlite", "postgres", "postgres+redis"]
#: Time kept back from ``--max-seconds`` for the last slow clients, the checks and stopping
#: everything (the server stops within 30 s, or is killed).
TEARDOWN_SECONDS = 120


def planned_rounds(requests: int) -> int:
    """Rounds of about 2,000 mixed requests and one burst; at least two (one to warm up)."""
    return max(2, round(requests / 2250))


def interrupted(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--db", choices=DATABASES, required=True)
    parser.add_argument("--requests", type=int, default=100_000, help="at least this many")
    parser.add_argument("--max-seconds", type=float, default=3600, help="bound on the whole run")
    parser.add_argument(
        "--items", type=int, help="generated items (default: 2.5 per request, at least 20,000)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="mixed-phase loops")
    parser.add_argument("--sample-seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "ORDERITEMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="where the soak makes its schema (default: $ORDERITEMS_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--out", type=Path, help="default: bench/results/soak-<db>.json")
    args = parser.parse_args(argv)
    if args.items is None:  # about 6 % of generated items are Open or Inactive: enough of
        args.items = max(20_000, args.requests * 5 // 2)  # them that cancels keep fresh ids
    return args


async def recovered(base_url: str, data: Data, deadline: float) -> float:
    """Seconds until a read is answered 200 or 429 again (the stores are back)."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        while time.monotonic() < deadline:
            probe = random.Random()
            body = traffic.read_body(probe, probe.choice(data.tokens), data)
            try:
                response = await client.post(traffic.GET_ALL, json=body)
                if response.status_code in {200, 429}:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)  # the poll's interval, under the deadline
    return -1.0


async def soak(
    args: argparse.Namespace,
    server: Server,
    redis: RedisServer | None,
    data: Data,
    admin: tuple[str, str] | None,
    deadline: float,
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    tally = traffic.Tally()
    rounds = planned_rounds(args.requests)
    mixed_per_round = max(100, -(-args.requests // rounds) - traffic.BURST)
    sampler = faults.Sampler(server)
    state = {"round": 0}
    watcher = asyncio.create_task(
        sampler.run(args.sample_seconds, lambda: (state["round"], tally.sent))
    )
    bursts: list[dict[str, Any]] = []
    happened: list[faults.Fault] = []
    slow: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:
        for number in range(rounds):
            if time.monotonic() > deadline or number >= len(data.burst_tokens):
                break
            state["round"] = number

            async def fault(number: int = number) -> None:
                await asyncio.sleep(rng.uniform(1, 5))  # somewhere inside the mixed phase
                at = time.monotonic() - sampler.started
                if redis is not None and number % 2 == 0:
                    down = await faults.restart_redis(redis)
                    happened.append(faults.Fault(number, at, "redis killed and restarted", down))
                elif admin is not None:
                    killed = await asyncio.to_thread(faults.terminate_backends, *admin)
                    kind = "postgres backends terminated"
                    happened.append(faults.Fault(number, at, kind, killed))

            chaos = asyncio.create_task(fault()) if redis is not None or admin else None
            await traffic.mixed(
                client,
                port=server.port,
                rng=rng,
                data=data,
                tally=tally,
                requests=mixed_per_round,
                concurrency=args.concurrency,
                deadline=deadline,
                slow=slow,
            )
            if chaos is not None:
                await chaos
            if time.monotonic() > deadline:
                break
            back = await recovered(server.base_url, data, deadline)
            answers = await traffic.burst(server.base_url, data.burst_tokens[number], tally)
            bursts.append(
                {
                    "round": number,
                    "recovered_seconds": round(back, 2),
                    "answers": dict(answers),
                    "exact": answers["200"] == LIMIT and answers["429"] == traffic.BURST - LIMIT,
                }
            )
            sampler.sample(number, tally.sent)
        if slow:  # each ends within SLOW_HOLD_SECONDS; past the deadline, they are cut
            await asyncio.wait(slow, timeout=traffic.SLOW_HOLD_SECONDS + 10)
    watcher.cancel()
    return {
        "tally": tally,
        "rounds": len(bursts),
        "bursts": bursts,
        "faults": [asdict(f) for f in happened],
        "samples": sampler.samples,
    }


def check_cancels(url: str, cancels: list[traffic.CancelSent]) -> dict[str, Any]:
    """Whole or nothing: a 200 canceled every id; a refusal (a Closed id) none; any other end
    (an error, a 503) all of them or none. No id was sent twice, so none can be mixed up."""
    ids = [i for sent in cancels for i in sent.ids]
    states = item_states(url, ids)
    partial, lost, applied_refused = [], [], []
    for sent in cancels:
        canceled = [states.get(i) == "Canceled" for i in sent.ids]
        if any(canceled) and not all(canceled):
            partial.append(sent)
        elif sent.outcome == "200" and not all(canceled):
            lost.append(sent)
        elif sent.closed_id is not None and any(canceled):
            applied_refused.append(sent)
    return {
        "requests": len(cancels),
        "answered_200": sum(1 for s in cancels if s.outcome == "200"),
        "refused_400": sum(1 for s in cancels if s.outcome == "400"),
        "other": sum(1 for s in cancels if s.outcome not in {"200", "400"}),
        "partial": len(partial),
        "answered_200_not_applied": len(lost),
        "refused_but_applied": len(applied_refused),
        "ok": not (partial or lost or applied_refused),
        "examples": [
            {"ids": [str(i) for i in s.ids], "outcome": s.outcome}
            for s in (partial + lost + applied_refused)[:5]
        ],
    }


def summarise(args: argparse.Namespace, ran: dict[str, Any], seconds: float) -> dict[str, Any]:
    tally: traffic.Tally = ran["tally"]
    by_kind: dict[str, dict[str, int]] = {}
    for (kind, outcome), n in sorted(tally.outcomes.items()):
        by_kind.setdefault(kind, {})[outcome] = n
    answered = sum(tally.outcomes.values())
    return {
        "db": args.db,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests_asked": args.requests,
        "requests_sent": tally.sent,
        "answered_or_ended": answered,
        "seconds": round(seconds, 1),
        "requests_per_second": round(answered / max(seconds, 1e-9), 1),
        "answers_500": tally.total("500"),
        "answers_5xx": sum(n for (_k, o), n in tally.outcomes.items() if o.startswith("5")),
        "transport_errors": sum(n for (_k, o), n in tally.outcomes.items() if ":" in o),
        "cancels_without_fresh_ids": tally.cancel_pool_empty,
        "surprising_answers": tally.examples,
        "outcomes": by_kind,
        "rounds": ran["rounds"],
        "bursts": ran["bursts"],
        "bursts_exact": sum(1 for b in ran["bursts"] if b["exact"]),
        "faults": ran["faults"],
        "resources": faults.resource_trend(ran["samples"]),
        "samples": ran["samples"],
    }


def report(result: dict[str, Any]) -> None:
    """The figures as counts and rates, one check a line."""
    print(
        f"soak {result['db']}: {result['answered_or_ended']:,} requests in {result['seconds']:.0f}"
        f" s ({result['requests_per_second']:.0f}/s), {result['rounds']} rounds"
    )
    for kind, outcomes in result["outcomes"].items():
        print(f"  {kind:7} " + ", ".join(f"{o}: {n:,}" for o, n in outcomes.items()))
    print(f"500 answers: {result['answers_500']} (all 5xx: {result['answers_5xx']})")
    print(f"transport errors: {result['transport_errors']}")
    exact, bursts = result["bursts_exact"], len(result["bursts"])
    print(f"bursts exact ({LIMIT} of {traffic.BURST} accepted): {exact} of {bursts}")
    for burst in result["bursts"]:
        if not burst["exact"]:
            print(f"  round {burst['round']}: {burst['answers']}")
    kinds: dict[str, int] = {}
    for fault in result["faults"]:
        kinds[fault["kind"]] = kinds.get(fault["kind"], 0) + 1
    print("faults: " + (", ".join(f"{k}: {n}" for k, n in kinds.items()) or "none"))
    trend = result["resources"]
    print(f"resources flat after warm-up: {trend['flat']}")
    for pid, figures in trend["processes"].items():
        rss, files = figures["rss_mb"], figures["open_files"]
        print(
            f"  pid {pid}: RSS {rss['first']:.0f} -> {rss['last']:.0f} MB (max {rss['max']:.0f}),"
            f" open files {files['first']} -> {files['last']} (max {files['max']})"
        )
    cancels = result["cancels"]
    print(
        f"cancels: {cancels['requests']:,} ({cancels['answered_200']:,} answered 200,"
        f" {cancels['refused_400']:,} refused, {cancels['other']:,} other); partial:"
        f" {cancels['partial']}, 200 not applied: {cancels['answered_200_not_applied']},"
        f" refused but applied: {cancels['refused_but_applied']}"
    )
    if result["cancels_without_fresh_ids"]:
        print(f"  sent as reads, no fresh Open id left: {result['cancels_without_fresh_ids']:,}")
    for what, texts in result["surprising_answers"].items():
        print(f"  e.g. {what}: {texts[0][:200]}")
    held = result["outcomes"].get("slow", {}).get("held", 0)
    print(f"slow clients still held after {traffic.SLOW_HOLD_SECONDS:.0f} s: {held}")
    print(f"worker processes replaced by uvicorn's supervisor: {trend['processes_replaced']}")
    exceptions = ", ".join(f"{k}: {n}" for k, n in result["log_exceptions"].items())
    print(f"server log ({result['log']}): tracebacks: {exceptions or 'none'}")
    print("PASS" if result["passed"] else "FAIL")


def main(argv: list[str]) -> int:
    args = arguments(argv)
    started = time.monotonic()
    deadline = started + max(args.max_seconds - TEARDOWN_SECONDS, 10)
    # SIGTERM unwinds like Ctrl-C, so that every process started here is stopped.
    signal.signal(signal.SIGTERM, interrupted)
    name = args.db.replace("+", "-")
    log = ROOT / "bench" / "out" / f"soak-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        application_name = f"orderitems-soak-{uuid.uuid4().hex[:8]}"
        admin = None
        if args.db == "sqlite":
            url = f"sqlite:///{directory / 'soak.db'}"
        else:
            url = stack.enter_context(postgres_schema(args.postgres_url, application_name))
            admin = (args.postgres_url, application_name)
        rounds = planned_rounds(args.requests)
        print(f"soak {args.db}: generating {args.items:,} items, {rounds} rounds planned")
        data = populate(url, items=args.items, tokens=300, bursts=rounds)
        fresh = sum(len(ids) for ids in data.cancelable.values())
        print(f"soak {args.db}: {fresh:,} items Open or Inactive, for the cancels")
        redis = None
        if args.db == "postgres+redis":
            redis = RedisServer(directory)
            stack.callback(redis.stop)
            redis.start()
        server = Server(url, log, redis_url=redis.url if redis else "")
        stack.callback(server.stop)
        server.start()
        traffic_started = time.monotonic()
        # The traffic ends at ``deadline``; slow clients then have their own bound to end.
        bound = deadline + traffic.SLOW_HOLD_SECONDS + 15 - traffic_started
        try:
            ran = asyncio.run(
                asyncio.wait_for(soak(args, server, redis, data, admin, deadline), bound)
            )
        except TimeoutError:
            print(
                f"the soak overran its bound ({bound:.0f} s of traffic): no result", file=sys.stderr
            )
            return 2
        seconds = time.monotonic() - traffic_started
        server.stop()  # nothing may still commit while the cancels are checked
        result = summarise(args, ran, seconds)
        result["cancels"] = check_cancels(url, ran["tally"].cancels)
    result["log"] = str(log.relative_to(ROOT))
    result["log_exceptions"] = faults.log_exceptions(log.read_text(errors="replace"))
    result["passed"] = bool(
        result["answers_500"] == 0
        and result["bursts_exact"] == len(result["bursts"])
        and result["resources"]["flat"]
        and result["cancels"]["ok"]
        and result["answered_or_ended"] >= args.requests
    )
    out = args.out or ROOT / "bench" / "results" / f"soak-{name}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    report(result)
    print(f"written: {out}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # the processes and the schema are gone by now (ExitStack)
        print("soak interrupted: no result; everything it started is stopped", file=sys.stderr)
        sys.exit(130)
