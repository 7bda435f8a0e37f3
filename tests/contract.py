"""The official contract: response bodies must validate against the OpenAPI schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "spec"
SPEC_FILE = SPEC_DIR / "connector-orderitems.openapi.json"


def _nullable_references(node: Any) -> Any:
    """Read ``{"allOf": [ref], "nullable": true}`` as "ref or null".

    The OAS 3.0.3 wording lets ``nullable`` apply only beside ``type``, so a strict validator
    refuses ``"Data": null`` although the official example itself sends it, and every client
    generator (Stainless, openapi-python-client) reads the property as optional. This is the
    one reading applied here; nothing else in the contract is changed.
    """
    if isinstance(node, list):
        return [_nullable_references(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_references(v) for k, v in node.items()}
    if node.get("nullable") is True and "allOf" in node and "type" not in node:
        rest = {k: v for k, v in node.items() if k != "nullable"}
        return {"anyOf": [rest, {"enum": [None]}]}
    return node


@cache
def official_spec() -> dict[str, Any]:
    spec: dict[str, Any] = _nullable_references(json.loads(SPEC_FILE.read_text()))
    return spec


@cache
def _validator(schema_name: str) -> OAS30Validator:
    schema = {
        "$ref": f"#/components/schemas/{schema_name}",
        "components": official_spec()["components"],
    }
    return OAS30Validator(schema, format_checker=oas30_format_checker)


def assert_matches_schema(body: Any, schema_name: str) -> None:
    """Fail with every violation listed, not just the first."""
    errors = sorted(_validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])
