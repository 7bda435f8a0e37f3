"""The official contract of the three operations, with its errata: the one copy everyone reads.

``connector-orderitems.openapi.json`` is Mews' published OpenAPI document (subset to our three
paths; ``SOURCE.md`` says where from and when), copied byte for byte. ``errata.json`` lists the
few corrections we apply to it, each with why. The server serves the corrected document at
``GET /openapi.json``; the tests validate every response against the same document, and the
fuzzer and the generated client are built from it, so the contract has exactly one definition.

An erratum may only replace a value that is exactly the one it names (``was``): it cannot add
a path, a status or a property, and it fails loudly once Mews fixes the document upstream.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

CONTRACT_FILE = "connector-orderitems.openapi.json"
ERRATA_FILE = "errata.json"


@dataclass(frozen=True, slots=True)
class Erratum:
    """One correction: the value at ``path`` (RFC 6901 pointer) goes from ``was`` to ``value``."""

    path: str
    was: Any
    value: Any
    why: str


def _read(name: str) -> bytes:
    return (resources.files(__name__) / name).read_bytes()


@cache
def _official() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_read(CONTRACT_FILE))
    return document


def official_contract() -> dict[str, Any]:
    """Mews' document exactly as published (a copy: callers may change it)."""
    return copy.deepcopy(_official())


@cache
def errata() -> tuple[Erratum, ...]:
    """The corrections; an entry that is not a documented ``replace`` is refused here."""
    entries = json.loads(_read(ERRATA_FILE))["errata"]
    found: list[Erratum] = []
    for entry in entries:
        why = entry.get("why")
        if entry.get("op") != "replace" or not isinstance(why, str) or not why.strip():
            raise ValueError(f"{ERRATA_FILE}: every entry is a replace with a 'why': {entry}")
        found.append(Erratum(entry["path"], entry["was"], entry["value"], why))
    return tuple(found)


def _steps(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def resolve(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer (``KeyError`` when it is not there)."""
    node = document
    for step in _steps(pointer):
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def apply_errata(document: dict[str, Any], corrections: tuple[Erratum, ...]) -> dict[str, Any]:
    """A corrected copy; refuses an erratum whose ``was`` no longer matches (fixed upstream?)."""
    corrected = copy.deepcopy(document)
    for erratum in corrections:
        *parents, last = _steps(erratum.path)
        parent = corrected
        for step in parents:
            parent = parent[int(step)] if isinstance(parent, list) else parent[step]
        if parent[last] != erratum.was:
            raise ValueError(
                f"erratum {erratum.path}: the document says {parent[last]!r}, "
                f"not {erratum.was!r}; remove or update the erratum"
            )
        parent[last] = erratum.value
    return corrected


@cache
def _served() -> dict[str, Any]:
    return apply_errata(_official(), errata())


def served_contract() -> dict[str, Any]:
    """The document ``GET /openapi.json`` serves: the official one with the errata applied."""
    return copy.deepcopy(_served())


@cache
def served_bytes() -> bytes:
    """``served_contract()`` encoded once, for the endpoint."""
    return json.dumps(_served(), ensure_ascii=False, indent=1).encode()
