"""JSON Lines of order items decoded into rows by worker processes, for a bulk load.

Decoding and validating a line and re-encoding it as the stored document cost several times
what writing the finished row costs the loading process, and a machine has more than one
core. So the lines go in blocks (``BLOCK_BYTES`` of whole lines) to a pool of worker
processes, which hand back rows already in the writer's form (bulk_rows.py), in order, with
the service orders the block names and the first bad line, if any, by its number. The loading
process only reads blocks, passes rows on and keeps the one transaction (loading.py).
This module imports nothing heavy, so a worker starts in a fraction of a second.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import msgspec

from orderitems.domain.enterprises import ServiceOrder, ServiceOrderKind
from orderitems.domain.items import OrderItem, OrderItemType
from orderitems.store.bulk_rows import EncodedItems, ItemEncoder, order_key

#: Bytes of whole lines per block handed to a worker: about 600 items of the API's shape.
BLOCK_BYTES = 1 << 20
#: Blocks sent ahead of the one being written, per worker: enough to keep every worker busy.
BLOCKS_AHEAD = 3

#: Items whose service order is a reservation when an import has to create the order.
RESERVATION_TYPES = frozenset(
    {OrderItemType.SPACE_ORDER, OrderItemType.NIGHT_REBATE, OrderItemType.CITY_TAX}
)


@dataclass(frozen=True, slots=True)
class DecodedBlock:
    """A block's rows, with the enterprises and service orders its items name (first seen
    in the block), or its first bad line and nothing else."""

    rows: EncodedItems
    order_keys: list[bytes]  # each of ``rows.service_orders``' primary key
    enterprises: list[tuple[uuid.UUID, str]]  # id and currency
    size: int  # bytes of the block, for a progress bar
    lines: int  # lines in the block (newlines)
    problem: str | None = None  # "line N: why", N counted from the start of the stream
    problem_offset: int = 0  # the bad line's place in the block, from 0


@dataclass(frozen=True, slots=True)
class FileSpan:
    """Where a block lies in a file: a worker reads it itself, so it need not be sent."""

    path: str
    start: int
    end: int


Block = bytes | FileSpan

_decoder = msgspec.json.Decoder(OrderItem)


def _service_order(item: OrderItem) -> ServiceOrder:
    """The order an imported item names, as far as the item tells."""
    return ServiceOrder(
        enterprise_id=item.enterprise_id,
        id=item.service_order_id,
        service_id=item.service_id,
        kind=ServiceOrderKind.RESERVATION
        if item.type in RESERVATION_TYPES
        else ServiceOrderKind.PRODUCT_SERVICE_ORDER,
        account_id=item.account_id,
        start_utc=None,
        end_utc=None,
    )


_in_worker = False
#: Files a worker process keeps open between its blocks (until it exits).
_worker_files: dict[str, BinaryIO] = {}


def read_block(block: Block) -> bytes:
    """A block's bytes, read from its file by the process that decodes it."""
    if isinstance(block, bytes):
        return block
    if not _in_worker:
        with open(block.path, "rb") as once:
            return _read_span(once, block)
    kept: BinaryIO | None = _worker_files.get(block.path)
    if kept is None:
        kept = _worker_files[block.path] = open(block.path, "rb")  # kept open until exit
    return _read_span(kept, block)


def _read_span(stream: BinaryIO, span: FileSpan) -> bytes:
    stream.seek(span.start)
    return stream.read(span.end - span.start)


def decode_block(encoder: ItemEncoder, block: Block) -> DecodedBlock:
    """Decode every line of ``block`` and encode its rows. A bad line's number is counted
    from the block's start here, and from the stream's start by ``decoded_blocks``."""
    data = read_block(block)
    lines = data.count(b"\n")
    items: list[OrderItem] = []
    for offset, line in enumerate(data.split(b"\n")):
        if not line.strip():
            continue
        try:
            items.append(_decoder.decode(line))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return DecodedBlock(encoder((), ()), [], [], len(data), lines, str(exc), offset)
    enterprises: dict[uuid.UUID, str] = {}
    orders: dict[tuple[uuid.UUID, uuid.UUID], ServiceOrder] = {}
    for item in items:
        enterprises.setdefault(item.enterprise_id, item.amount.currency)
        key = (item.enterprise_id, item.service_order_id)
        if key not in orders:
            orders[key] = _service_order(item)
    new_orders = list(orders.values())
    return DecodedBlock(
        encoder(items, new_orders),
        [order_key(order) for order in new_orders],
        list(enterprises.items()),
        len(data),
        lines,
    )


class _IdOnly(msgspec.Struct):
    Id: uuid.UUID


_id_decoder = msgspec.json.Decoder(_IdOnly)


def lines_with_id(source: Path, item_id: uuid.UUID, *, most: int = 2) -> list[int]:
    """Numbers of the first ``most`` lines whose item has this ``Id``, for a message after a
    failed load (the load itself keeps no ids): the id's text is searched for in each block,
    and only the lines that contain it are decoded."""
    wanted = str(item_id).encode()
    found: list[int] = []
    first_line = 1
    for block in split_blocks(source):
        data = read_block(block)
        lowered = data.lower()  # a uuid may be written in capitals
        start = lowered.find(wanted)
        while start >= 0 and len(found) < most:
            begin = data.rfind(b"\n", 0, start) + 1
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            with suppress(msgspec.ValidationError, msgspec.DecodeError):
                if _id_decoder.decode(data[begin:end]).Id == item_id:
                    found.append(first_line + data.count(b"\n", 0, begin))
            start = lowered.find(wanted, end)
        if len(found) >= most:
            break
        first_line += data.count(b"\n")
    return found


def split_blocks(source: Path | BinaryIO, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """Blocks of whole lines: spans of a file, found by reading only around each boundary,
    or the bytes of a stream."""
    if isinstance(source, Path):
        with source.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            start = 0
            while start < size:
                stream.seek(start + block_bytes)
                stream.readline()  # on to the end of the line the boundary cut
                end = min(stream.tell(), size)
                yield FileSpan(str(source), start, end)
                start = end
        return
    while chunk := source.read(block_bytes):
        yield chunk + source.readline()


def _watch_parent(parent: int) -> None:
    """A worker whose loading process died (``kill -9``) has nobody to answer: it leaves."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _start_worker(parent: int) -> None:
    """Ctrl-C reaches the whole process group; the loading process alone handles it. Without
    the cyclic collector, as in the loading process (bulk.py): a worker of ``orderitems
    import`` has imported the whole command line, and the collector walked all of it again
    and again while a block's items piled up, which made decoding several times slower."""
    global _in_worker
    _in_worker = True
    gc.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by _start_pool
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def decoded_blocks(
    source: Path | BinaryIO,
    encoder: ItemEncoder,
    *,
    workers: int,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[DecodedBlock]:
    """Every block decoded, in the source's order; ``workers=0`` decodes in this process."""
    first_line = 1
    for block in _decode_in_order(split_blocks(source, block_bytes), encoder, workers):
        if block.problem is not None:
            number = first_line + block.problem_offset
            block = replace(block, problem=f"line {number}: {block.problem}")
        first_line += block.lines
        yield block


def _decode_in_order(
    blocks: Iterator[Block], encoder: ItemEncoder, workers: int
) -> Iterator[DecodedBlock]:
    if workers == 0:
        for block in blocks:
            yield decode_block(encoder, block)
        return
    pool = _start_pool(workers)
    pending: deque[Future[DecodedBlock]] = deque()
    try:
        for block in blocks:
            pending.append(pool.submit(decode_block, encoder, block))
            if len(pending) > BLOCKS_AHEAD * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BaseException:
        # Failed or interrupted: drop the queued blocks; running ones end on their own.
        with suppress(RuntimeError):  # interrupted while the pool was starting a thread
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _start_pool(workers: int) -> ProcessPoolExecutor:
    """Every worker started at once, with Ctrl-C blocked until it ignores it: an interrupt
    that reached a worker still starting up made it print a fatal error of its own."""
    # A fresh interpreter per worker, never a fork of this one (threads, open connections).
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    # Blocked, not ignored, here: an interrupt meanwhile waits, then stops the load.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for _ in range(workers):
            pool.submit(int)  # each submit with no idle worker starts one
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return pool
