"""The official contract: response bodies must validate against the OpenAPI schemas."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from spec_errata import ERRATA

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "spec"
SPEC_FILE = SPEC_DIR / "connector-orderitems.openapi.json"


def _nullable_references(node: Any) -> Any:
    """Read ``{"allOf": [ref], "nullable": true}`` (or ``oneOf``/``anyOf``) as "ref or null".

    The OAS 3.0.3 wording lets ``nullable`` apply only beside ``type``, so a strict validator
    refuses ``"Data": null`` although the official example itself sends it, and every client
    generator (Stainless, openapi-python-client) reads the property as optional; the legacy
    ``OrderItemOld.Data.Value`` (``oneOf``) is described as "``null`` for types without any
    additional data". This is the one reading applied here; the only other change to the
    contract is the list of spec errata in ``spec_errata.py``.
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
    spec: dict[str, Any] = _nullable_references(json.loads(SPEC_FILE.read_text()))
    return spec


@cache
def corrected_spec() -> dict[str, Any]:
    """The official spec with the corrections of ``spec_errata.ERRATA`` applied."""
    spec = copy.deepcopy(official_spec())
    for erratum in ERRATA:
        spec["components"]["schemas"][erratum.schema]["properties"][erratum.property].update(
            erratum.correction
        )
    return spec


@cache
def _validator(schema_name: str, errata: bool = True) -> OAS30Validator:
    spec = corrected_spec() if errata else official_spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    return OAS30Validator(schema, format_checker=oas30_format_checker)


def schema_errors(body: Any, schema_name: str, *, errata: bool = True) -> list[ValidationError]:
    """Every violation, ordered by where it is; ``errata=False`` reads the spec as published."""
    return sorted(_validator(schema_name, errata).iter_errors(body), key=lambda e: list(e.path))


def assert_matches_schema(body: Any, schema_name: str) -> None:
    """Fail with every violation listed, not just the first."""
    errors = schema_errors(body, schema_name)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])
