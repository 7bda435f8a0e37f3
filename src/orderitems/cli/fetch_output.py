"""The files ``orderitems fetch`` writes: JSON Lines as fetched, or one flat row per item.

``fetch`` appends every page to a JSON Lines spool so that it can resume; ``finish`` turns the
spool into the output, keeping the last copy of an item fetched twice (an item updated while
the fetch ran shows up again in a later ``UpdatedUtc`` window, newer).
"""

from __future__ import annotations

import csv
import enum
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

ROW_GROUP = 10_000


class Format(enum.StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


class Kind(enum.Enum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    TIME = "time"
    BOOLEAN = "boolean"
    JSON = "json"


_S, _I, _N, _T, _B, _J = Kind.TEXT, Kind.INTEGER, Kind.NUMBER, Kind.TIME, Kind.BOOLEAN, Kind.JSON


def _amount(name: str) -> list[tuple[str, Kind]]:
    return [
        (f"{name}.Currency", _S),
        (f"{name}.NetValue", _N),
        (f"{name}.GrossValue", _N),
        (f"{name}.TaxValues", _J),
        (f"{name}.Breakdown", _J),
    ]


#: Flat columns, in the schema's order; nested lists and ``Data`` are JSON text.
COLUMNS: list[tuple[str, Kind]] = [
    ("Id", _S),
    ("EnterpriseId", _S),
    ("AccountId", _S),
    ("AccountType", _S),
    ("ServiceId", _S),
    ("ServiceOrderId", _S),
    ("Notes", _S),
    ("BillId", _S),
    ("AccountingCategoryId", _S),
    ("BillingName", _S),
    ("ExternalIdentifier", _S),
    ("UnitCount", _I),
    *_amount("UnitAmount"),
    *_amount("Amount"),
    *_amount("OriginalAmount"),
    ("RevenueType", _S),
    ("CreatorProfileId", _S),
    ("UpdaterProfileId", _S),
    ("CreatedUtc", _T),
    ("UpdatedUtc", _T),
    ("ConsumedUtc", _T),
    ("CanceledUtc", _T),
    ("ClosedUtc", _T),
    ("StartUtc", _T),
    ("ClaimedUtc", _T),
    ("AccountingState", _S),
    ("Type", _S),
    ("Options.CanceledWithReservation", _B),
    ("Data.Discriminator", _S),
    ("Data", _J),
    ("TaxExemptionReason", _S),
    ("TaxExemptionLegalReference", _S),
    ("Extra", _J),
]
_TOP_LEVEL = {name.split(".", 1)[0] for name, _ in COLUMNS}

_decoder = msgspec.json.Decoder(float_hook=Decimal)
_json_text = msgspec.json.Encoder(decimal_format="number")


class _Keyed(msgspec.Struct, rename="pascal"):
    id: str


_id_decoder = msgspec.json.Decoder(_Keyed)


def _lookup(document: dict[str, Any], name: str) -> Any:
    if name == "Extra":
        extra = {k: v for k, v in document.items() if k not in _TOP_LEVEL}
        return extra or None
    value: Any = document
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _typed(value: Any, kind: Kind) -> Any:
    """The value as Parquet stores it (None stays None)."""
    if value is None:
        return None
    if kind is Kind.JSON:
        return _json_text.encode(value).decode()
    if kind is Kind.NUMBER:
        return float(value)
    if kind is Kind.TIME:
        return datetime.fromisoformat(value)
    return value


def flat_row(document: dict[str, Any]) -> dict[str, Any]:
    """One item as typed flat columns (``COLUMNS``)."""
    return {name: _typed(_lookup(document, name), kind) for name, kind in COLUMNS}


def _csv_cell(value: Any, kind: Kind) -> str:
    if value is None:
        return ""
    if kind is Kind.JSON:
        return _json_text.encode(value).decode()
    if kind is Kind.BOOLEAN:
        return "true" if value else "false"
    return str(value)


def _unique_lines(spool: Path) -> Iterator[bytes]:
    """Spool lines, an id's last copy only, in the order the last copies were fetched."""
    last: dict[str, int] = {}
    with spool.open("rb") as lines:
        for number, line in enumerate(lines):
            last[_id_decoder.decode(line).id] = number
    keep = set(last.values())
    with spool.open("rb") as lines:
        for number, line in enumerate(lines):
            if number in keep:
                yield line


def _write_jsonl(lines: Iterator[bytes], target: Path) -> int:
    written = 0
    with target.open("wb") as sink:
        for line in lines:
            sink.write(line)
            written += 1
    return written


def _write_csv(lines: Iterator[bytes], target: Path) -> int:
    written = 0
    with target.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.writer(sink)
        writer.writerow([name for name, _ in COLUMNS])
        for line in lines:
            document = _decoder.decode(line)
            writer.writerow([_csv_cell(_lookup(document, n), k) for n, k in COLUMNS])
            written += 1
    return written


def _write_parquet(lines: Iterator[bytes], target: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ParquetUnavailable(
            "Parquet needs pyarrow: pip install 'orderitems[parquet]'"
        ) from None
    types = {
        Kind.TEXT: pa.string(),
        Kind.INTEGER: pa.int64(),
        Kind.NUMBER: pa.float64(),
        Kind.TIME: pa.timestamp("us", tz="UTC"),
        Kind.BOOLEAN: pa.bool_(),
        Kind.JSON: pa.string(),
    }
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS])
    written = 0
    with pq.ParquetWriter(str(target), schema) as writer:
        rows: list[dict[str, Any]] = []
        for line in lines:
            rows.append(flat_row(_decoder.decode(line)))
            if len(rows) >= ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                written, rows = written + len(rows), []
        if rows or not written:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            written += len(rows)
    return written


class ParquetUnavailable(Exception):
    """``--format parquet`` without pyarrow installed."""


WRITERS: dict[Format, Callable[[Iterator[bytes], Path], int]] = {
    Format.JSONL: _write_jsonl,
    Format.CSV: _write_csv,
    Format.PARQUET: _write_parquet,
}


def finish(spool: Path, out: Path, output_format: Format) -> int:
    """Write ``out`` from the spool, atomically (a reader never sees half a file)."""
    partial = out.with_name(out.name + ".writing")
    written = WRITERS[output_format](_unique_lines(spool), partial)
    os.replace(partial, out)
    return written


def check_format_available(output_format: Format) -> None:
    """Refuse before fetching, not after, when the output cannot be written."""
    if output_format is Format.PARQUET:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ParquetUnavailable(
                "Parquet needs pyarrow: pip install 'orderitems[parquet]'"
            ) from None


def dump_line(document: Any) -> bytes:
    """One JSON Lines record; money stays a JSON number with all its digits."""
    return _json_text.encode(document) + b"\n"
