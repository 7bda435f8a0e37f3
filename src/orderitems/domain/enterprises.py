"""Enterprises (properties), their services, and service orders that items belong to."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime


class Pricing(enum.StrEnum):
    """Gross: prices include tax (UK demo). Net: tax is added on top (US demo)."""

    GROSS = "Gross"
    NET = "Net"


class ServiceOrderKind(enum.StrEnum):
    RESERVATION = "Reservation"
    PRODUCT_SERVICE_ORDER = "ProductServiceOrder"


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: uuid.UUID
    name: str
    currency: str
    tax_environment: str
    pricing: Pricing
    time_zone: str


@dataclass(frozen=True, slots=True)
class Service:
    enterprise_id: uuid.UUID
    id: uuid.UUID
    name: str
    kind: str  # Bookable (stays) | Additional (F&B, spa, parking)


@dataclass(frozen=True, slots=True)
class ServiceOrder:
    """A reservation or a product service order; its id is the items' ``ServiceOrderId``."""

    enterprise_id: uuid.UUID
    id: uuid.UUID
    service_id: uuid.UUID
    kind: ServiceOrderKind
    account_id: uuid.UUID | None
    start_utc: datetime | None
    end_utc: datetime | None
