"""The contract in one place: the copied document, its documented errata, and what is served."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract import official_spec, schema_errors
from orderitems.api.contract import (
    CONTRACT_FILE,
    Erratum,
    apply_errata,
    errata,
    official_contract,
    resolve,
    served_bytes,
    served_contract,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "src" / "orderitems" / "api" / "contract"

#: Grows only with a new entry in errata.json that says why, and a line in
#: docs/compatibility.md#the-contract-and-its-errata.
EXPECTED_ERRATA = 8


def _sha256_in_source_md() -> str:
    text = (PACKAGED / "SOURCE.md").read_text()
    return text.split("| SHA-256 | `", 1)[1].split("`", 1)[0]


def test_the_packaged_contract_is_the_recorded_copy_of_the_official_document() -> None:
    data = (PACKAGED / CONTRACT_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == _sha256_in_source_md(), (
        "connector-orderitems.openapi.json changed: record its source and hash in SOURCE.md"
    )
    source = official_contract()["_source"]
    assert source["commit"].split()[0] in (PACKAGED / "SOURCE.md").read_text()


def test_every_erratum_says_why_and_their_number_is_pinned() -> None:
    entries = json.loads((PACKAGED / "errata.json").read_text())["errata"]
    for entry in entries:
        assert entry["op"] == "replace", entry
        why = entry.get("why")
        assert isinstance(why, str), entry
        assert len(why.strip()) > 20, f"say why in a sentence: {entry}"
    assert len(errata()) == len(entries) == EXPECTED_ERRATA, (
        f"errata.json has {len(entries)} entries, {EXPECTED_ERRATA} are documented: say why the "
        "new one is a spec bug in its 'why', list it in docs/compatibility.md, then update "
        "EXPECTED_ERRATA in this test"
    )


def _differences(a: Any, b: Any, pointer: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for key in sorted(a.keys() | b.keys())
            for d in _differences(a.get(key), b.get(key), f"{pointer}/{key}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in _differences(x, y, f"{pointer}/{i}")]
    return [] if a == b else [pointer]


def test_the_served_contract_differs_from_the_official_one_exactly_at_the_errata() -> None:
    official, served = official_contract(), served_contract()
    assert _differences(official, served) == sorted(e.path for e in errata())
    for erratum in errata():
        assert resolve(official, erratum.path) == erratum.was
        assert resolve(served, erratum.path) == erratum.value


def test_an_erratum_that_no_longer_matches_the_document_is_refused() -> None:
    stale = Erratum("/components/schemas/OrderItemOld/title", "Something else", "x", "why")
    with pytest.raises(ValueError, match="remove or update the erratum"):
        apply_errata(official_contract(), (stale,))


def test_the_shared_title_erratum_is_still_needed_and_leaves_every_title_unique() -> None:
    def titles(document: dict[str, Any]) -> Counter[str]:
        return Counter(s.get("title") for s in document["components"]["schemas"].values())

    shared = {t for t, n in titles(official_contract()).items() if t and n > 1}
    assert shared == {"Order item", "Order item data discriminator"}
    assert all(n == 1 for t, n in titles(served_contract()).items() if t)


def test_the_legacy_date_time_erratum_is_still_needed() -> None:
    legacy = {"CreatedUtc": "2016-03-10T13:00:00Z"}
    problems = schema_errors(legacy, "OrderItemOld", errata=False)
    assert any(p.validator == "format" and p.validator_value == "date" for p in problems)
    assert official_spec()["components"]["schemas"]["OrderItemOld"]["title"] == "Order item"


def test_the_server_serves_the_corrected_contract_at_openapi_json(http: httpx.Client) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["request-id"]
    assert response.content == served_bytes()
    assert response.json() == served_contract()
    assert http.post("/openapi.json").status_code == 404
