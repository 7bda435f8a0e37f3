"""Request bodies as the official schemas define them, decoded leniently where Mews is.

Property names match case-insensitively and enum values too (docs/behaviour.md#envelope);
``strict_json`` turns both off and rejects unknown properties. Every problem becomes
an ``InvalidInput`` naming the property, never a 500.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Annotated, Any, TypeVar, cast

import msgspec
from msgspec import inspect as mi

from orderitems.domain.cancellation import MAX_CANCEL_IDS
from orderitems.domain.errors import InvalidInput
from orderitems.domain.filters import GET_ALL_FILTERS, MAX_IDS, MAX_VALUES, Filter, FilterKind
from orderitems.domain.items import AccountingState, UtcDateTime
from orderitems.domain.query import MAX_PAGE_SIZE

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
Ids = Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_IDS)]
CurrencyCode = Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{3}$")]


class Wire(msgspec.Struct, rename="pascal", frozen=True, kw_only=True):
    """PascalCase on the wire."""


class Envelope(Wire, frozen=True):
    client_token: NonEmpty
    access_token: NonEmpty
    client: NonEmpty
    language_code: str | None = None
    culture_code: str | None = None


class TimeFilterInterval(Wire, frozen=True):
    start_utc: UtcDateTime | None = None
    end_utc: UtcDateTime | None = None


class Limitation(Wire, frozen=True):
    count: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)]
    cursor: uuid.UUID | None = None


class GetAllRequest(Envelope, frozen=True, kw_only=True):
    """``OrderItemFilterParameters`` but its filters, which ``GET_ALL_REQUEST`` adds."""

    limitation: Limitation
    enterprise_ids: Ids | None = None
    currency: CurrencyCode | None = None

    def filter_value(self, spec: Filter) -> Any:
        """The filter's value as decoded (``TimeFilterInterval``, a list, or None)."""
        return getattr(self, spec.wire_attribute)


def _filter_type(spec: Filter) -> Any:
    if spec.kind is FilterKind.INTERVAL:
        return TimeFilterInterval | None
    listed = uuid.UUID if spec.kind is FilterKind.IDS else spec.values
    return Annotated[list[listed], msgspec.Meta(min_length=1, max_length=spec.max_items)] | None  # type: ignore[valid-type]


#: The getAll request type: ``GetAllRequest`` with one property per declared filter
#: (domain/filters.py), each with its array maximum.
GET_ALL_REQUEST = cast(
    type[GetAllRequest],
    msgspec.defstruct(
        "GetAllRequest",
        [(spec.wire_attribute, _filter_type(spec), None) for spec in GET_ALL_FILTERS],
        bases=(GetAllRequest,),
        module=__name__,
        frozen=True,
        kw_only=True,
    ),
)


RequestT = TypeVar("RequestT", bound=Wire)

_json_decoder = msgspec.json.Decoder()
#: A request type's schema, worked out once: ``type_info`` takes about a millisecond.
_type_info = functools.cache(mi.type_info)
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


class _Normaliser:
    """Rewrites property names and enum values to their canonical spelling, per schema."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict

    def value(self, value: Any, info: mi.Type, path: str) -> Any:
        if isinstance(info, mi.UnionType):
            for option in info.types:
                if not isinstance(option, mi.NoneType):
                    return self.value(value, option, path)
            return value
        if isinstance(info, mi.StructType) and isinstance(value, dict):
            return self.struct(value, info, path)
        if isinstance(info, mi.ListType) and isinstance(value, list):
            if isinstance(info.item_type, mi.UUIDType):
                return value  # ids have no names or enum values to rewrite (up to 1000 of them)
            return [self.value(v, info.item_type, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(info, mi.EnumType) and isinstance(value, str) and not self.strict:
            canonical = {str(m.value).lower(): m.value for m in info.cls}
            return canonical.get(value.lower(), value)
        return value

    def struct(self, value: dict[str, Any], info: mi.StructType, path: str) -> dict[str, Any]:
        fields = {f.encode_name: f for f in info.fields}
        folded = {name.lower(): name for name in fields}
        refuse_second_spellings(value, folded, path)
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = key if self.strict else folded.get(key.lower())
            if name is None or name not in fields:
                if self.strict:
                    raise InvalidInput(
                        f"Invalid {path}{key}: unknown property.", field=f"{path}{key}"
                    )
                continue
            result[name] = self.value(item, fields[name].type, f"{path}{name}.")
        return result


def refuse_second_spellings(value: dict[str, Any], folded: dict[str, str], path: str) -> None:
    """One property in two spellings (``AccessToken``, ``accesstoken``) is a 400 in any mode,
    so no two readers of a body can take different values (docs/behaviour.md#envelope)."""
    spelled: dict[str, str] = {}
    for key in value:
        name = folded.get(key.lower())
        if name is None:
            continue
        if name in spelled:
            raise InvalidInput(
                f"Invalid {path}{name}: given twice, as {spelled[name]!r} and {key!r};"
                " send it once.",
                field=f"{path}{name}",
            )
        spelled[name] = key


def _field_name(path: str) -> str:
    return path.removeprefix("$").removeprefix(".") or "request"


def decode_request(body: bytes, request_type: type[RequestT], *, strict: bool) -> RequestT:
    """Parse and validate one request body into its typed form."""
    return convert_request(normalise_body(body, request_type, strict=strict), request_type)


def normalise_body(body: bytes, request_type: type[Wire], *, strict: bool) -> dict[str, Any]:
    """The body as a JSON object whose property names are the schema's own spelling."""
    if not body.strip():
        raise InvalidInput("Invalid JSON: the request body is empty; send a JSON object.")
    try:
        raw = _json_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"Invalid JSON: {exc}.") from None
    except UnicodeDecodeError:
        raise InvalidInput("Invalid JSON: the request body is not valid UTF-8.") from None
    except RecursionError:  # msgspec's answer to arrays or objects nested thousands deep
        raise InvalidInput("Invalid JSON: the request body is nested too deeply.") from None
    if not isinstance(raw, dict):
        raise InvalidInput("Invalid JSON: the request body must be a JSON object.")
    info = _type_info(request_type)
    assert isinstance(info, mi.StructType)
    return _Normaliser(strict=strict).struct(raw, info, "")


def convert_request(normalised: dict[str, Any], request_type: type[RequestT]) -> RequestT:
    """Validate a normalised body (``normalise_body``) into its typed form."""
    try:
        return msgspec.convert(normalised, request_type)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `")
        path = where.rstrip("`")
        missing = _MISSING.match(message)
        if missing:
            field = ".".join(p for p in (_field_name(path), missing["field"]) if p != "request")
            raise InvalidInput(f"Invalid {field}: {field} is required.", field=field) from None
        field = _field_name(path)
        top = re.split(r"[.\[]", field, maxsplit=1)[0]
        raise InvalidInput(
            f"Invalid {top}: {message.rstrip('.')} at {field}.", field=field
        ) from None


class CancelRequest(Envelope, frozen=True, kw_only=True):
    """``CancelOrderItemParameters``."""

    order_item_ids: Annotated[
        list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_CANCEL_IDS)
    ]
    enterprise_id: uuid.UUID | None = None


class ReservationItemsRequest(Envelope, frozen=True, kw_only=True):
    """``ReservationItemParameters``."""

    reservation_ids: Ids
    currency: CurrencyCode | None = None
    #: Unlike getAll's, the contract sets no ``minItems`` here: ``[]`` is valid and matches no
    #: item (docs/compatibility.md).
    accounting_states: (
        Annotated[list[AccountingState], msgspec.Meta(max_length=MAX_VALUES)] | None
    ) = None
