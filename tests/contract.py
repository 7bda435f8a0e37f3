"""The official contract in the tests: response bodies must validate against its schemas.

The document is the one the server serves (``orderitems.api.contract``: Mews' file with the
errata of ``errata.json``); nothing here changes it. The one thing added is how a JSON Schema
validator reads ``nullable`` beside ``allOf``/``oneOf`` (``_nullable_references``), which is a
reading of the published document, not a correction of it.

``check_response`` is the every-response gate: the ``http`` fixture runs it on every answer
the suite receives (``tests/conftest.py``), so a body that strays from the contract fails the
test that caused it.

A drift drill (api/drills.py) marks its answers with ``DRILL_HEADER``. Those are checked
against the contract plus the drill's additions (``drilled_spec``: its property names allowed
on every object, its values added to the enums it changes) and nothing more; the additions
found are reported in ``response.extensions["drill_additions"]`` (``drill_additions``).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import httpx
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from orderitems.api.contract import errata, official_contract, served_contract
from orderitems.api.drills import (
    ADDED_PROPERTIES,
    DRILL_HEADER,
    ENUM_SCHEMAS,
    ENUM_VALUES,
)

#: Statuses the server answers on the contract's paths although the contract does not list
#: them, always with the error body (docs/compatibility.md, "Statuses"): 404 for a path in
#: the wrong letter case under ``strict_paths`` or a method other than POST, 413 for a body
#: over ``max_body_bytes``.
UNLISTED_ERROR_STATUSES = frozenset({404, 413})
ERROR_SCHEMA = "ConnectorApiExceptionResult"


def _nullable_references(node: Any) -> Any:
    """Read ``{"allOf": [ref], "nullable": true}`` (or ``oneOf``/``anyOf``) as "ref or null".

    The OAS 3.0.3 wording lets ``nullable`` apply only beside ``type``, so openapi-schema-
    validator refuses ``"Data": null`` although the official example itself sends it; the
    tools that read the contract elsewhere in CI (schemathesis, openapi-python-client) and
    client generators generally read it as "or null", and the legacy
    ``OrderItemOld.Data.Value`` (``oneOf``) is described as "``null`` for types without any
    additional data". A reading of the document, so it lives with the validator, not in the
    errata (docs/compatibility.md).
    """
    if isinstance(node, list):
        return [_nullable_references(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_references(v) for k, v in node.items()}
    combined = any(k in node for k in ("allOf", "oneOf", "anyOf"))
    if node.get("nullable") is True and combined and "type" not in node:
        rest = {k: v for k, v in node.items() if k != "nullable"}
        return {"anyOf": [rest, {"enum": [None]}]}
    return node


@cache
def official_spec() -> dict[str, Any]:
    """Mews' document as published, read as the validator must."""
    spec: dict[str, Any] = _nullable_references(official_contract())
    return spec


@cache
def corrected_spec() -> dict[str, Any]:
    """The served document (official plus errata), read as the validator must."""
    spec: dict[str, Any] = _nullable_references(served_contract())
    return spec


@cache
def drilled_spec() -> dict[str, Any]:
    """The served document plus a drill's additions, and nothing else: every name a drill may
    add is an allowed property (any value) of every object, and the enums a drill changes
    list its values too. Unknown tax codes need nothing: the contract types codes as strings."""
    spec = copy.deepcopy(corrected_spec())
    schemas = spec["components"]["schemas"]
    for schema in schemas.values():
        if "properties" in schema:
            for name in sorted(ADDED_PROPERTIES):
                schema["properties"].setdefault(name, {})
    for drilled, schema_name in ENUM_SCHEMAS.items():
        schemas[schema_name]["enum"] = [*schemas[schema_name]["enum"], *ENUM_VALUES[drilled]]
    # The legacy coproduct: a new discriminator is a new legacy type, its Value a new shape.
    schemas["OrderItemTypeOld"]["enum"] += ENUM_VALUES["DataDiscriminator"]
    legacy_data = schemas["OrderItemOld"]["properties"]["Data"]["properties"]
    new_value = {"type": "object", "required": ["Code"], "properties": {"Code": {"type": "string"}}}
    legacy_data["Value"] = {"anyOf": [legacy_data["Value"], new_value]}
    return spec


#: The properties whose values a drill changes, and the values it may give them.
_DRILLED_VALUES = {
    "Type": ENUM_VALUES["Type"],
    "Discriminator": ENUM_VALUES["DataDiscriminator"],
    "AccountingState": ENUM_VALUES["AccountingState"],
    "RevenueType": ENUM_VALUES["RevenueType"],
    "Code": ENUM_VALUES["TaxCode"],
    "TaxRateCode": ENUM_VALUES["TaxCode"],
}


def drill_additions(node: Any, path: str = "") -> list[str]:
    """Where a drilled answer departs from the contract: each added property and each
    unknown value, by its path (``OrderItems[3].Type: value 'ParkingFee'``)."""
    found: list[str] = []
    if isinstance(node, list):
        for index, child in enumerate(node):
            found += drill_additions(child, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if key in ADDED_PROPERTIES:
                found.append(f"{where}: property")
            elif isinstance(value, str) and value in _DRILLED_VALUES.get(key, ()):
                found.append(f"{where}: value {value!r}")
            found += drill_additions(value, where)
    return found


def errata_fields() -> set[tuple[str, str]]:
    """(schema, property) of every erratum on a property, e.g. ("OrderItemOld", "CreatedUtc")."""
    fields = set()
    for erratum in errata():
        parts = erratum.path.split("/")
        if len(parts) > 5 and parts[1:3] == ["components", "schemas"] and parts[4] == "properties":
            fields.add((parts[3], parts[5]))
    return fields


@cache
def _validator(schema_name: str, errata: bool = True, drilled: bool = False) -> OAS30Validator:
    spec = drilled_spec() if drilled else corrected_spec() if errata else official_spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    return OAS30Validator(schema, format_checker=oas30_format_checker)


def schema_errors(
    body: Any, schema_name: str, *, errata: bool = True, drilled: bool = False
) -> list[ValidationError]:
    """Every violation, ordered by where it is; ``errata=False`` reads the spec as published,
    ``drilled=True`` allows a drill's additions."""
    validator = _validator(schema_name, errata, drilled)
    return sorted(validator.iter_errors(body), key=lambda e: list(e.path))


def assert_matches_schema(body: Any, schema_name: str) -> None:
    """Fail with every violation listed, not just the first."""
    errors = schema_errors(body, schema_name)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


@cache
def _operations() -> dict[str, dict[str, Any]]:
    """The contract's POST operations by lower-cased path (paths match in any letter case)."""
    return {path.lower(): item["post"] for path, item in corrected_spec()["paths"].items()}


def _schema_name(operation: dict[str, Any], status: int) -> str | None:
    content = operation["responses"][str(status)].get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    return None if ref is None else str(ref).rsplit("/", 1)[-1]


def response_problems(method: str, path: str, status: int, headers: Any, body: bytes) -> list[str]:
    """Where one answer strays from the contract; empty when it keeps to it.

    On the contract's paths: a listed status with its schema (a 204 with no body at all, as
    HTTP requires, although the contract attaches the error schema to it), or one of
    ``UNLISTED_ERROR_STATUSES`` with the error body. Anywhere else (sandbox admin API,
    metrics, unknown paths), every 4xx and 5xx must still be the error body.
    """
    operation = _operations().get(path.lower()) if method == "POST" else None
    if operation is None and status < 400:
        return []
    if operation is not None and str(status) not in operation["responses"]:
        if status not in UNLISTED_ERROR_STATUSES:
            return [f"status {status} is not in the contract of POST {path}"]
        operation = None
    if status == 204:
        return [] if not body else [f"a 204 has a body: {body[:200]!r}"]
    content_type = headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        return [f"content type {content_type!r}, the contract says application/json"]
    schema_name = ERROR_SCHEMA if operation is None else _schema_name(operation, status)
    if schema_name is None:
        return [f"the contract has no schema for {status} of POST {path}"]
    try:
        document = httpx.Response(status, content=body).json()
    except ValueError as exc:
        return [f"the body is not JSON ({exc}): {body[:200]!r}"]
    drilled = DRILL_HEADER in headers and status == 200
    return [
        f"{schema_name} {list(e.path)}: {e.message}"[:500]
        for e in schema_errors(document, schema_name, drilled=drilled)[:20]
    ]


def check_response(response: httpx.Response) -> None:
    """An httpx response hook: fail the request (and so its test) on any departure."""
    response.read()
    request = response.request
    problems = response_problems(
        request.method, request.url.path, response.status_code, response.headers, response.content
    )
    assert not problems, (
        f"{request.method} {request.url.path} -> {response.status_code} breaks the contract "
        "(tests/contract.py, check_response):\n  " + "\n  ".join(problems)
    )
    if DRILL_HEADER in response.headers and response.status_code == 200:
        response.extensions["drill_additions"] = drill_additions(response.json())
