"""A Python client for the Mews Connector API order-items operations.

Works against ``orderitems`` and against Mews alike: only the base URL differs. It pages until
the cursor is null, splits periods into 3-month windows and id lists into chunks the API
accepts, retries what may pass (429 after ``Retry-After``, 408 with smaller pages, 5xx and
dropped connections with backoff), and keeps enum values and properties it does not know.

This package never imports the server's code, so it can be vendored or published on its own.
"""

from orderitems.client.aio import AsyncClient
from orderitems.client.batches import CancelFailure, CancelResult
from orderitems.client.enums import (
    AccountingState,
    AccountType,
    AllowanceProfitType,
    DataDiscriminator,
    LegacyOrderItemType,
    OrderItemType,
    ProductType,
    RevenueType,
    TaxExemptionReason,
)
from orderitems.client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    ConnectionFailed,
    Forbidden,
    InvalidResponse,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
)
from orderitems.client.models import (
    AccountingItem,
    Amount,
    ExtendedAmount,
    LegacyOrderItem,
    LegacyOrderItemData,
    OrderItem,
    OrderItemData,
    OrderItemOptions,
    OrderItemPage,
    ReservationItems,
    TaxBreakdown,
    TaxBreakdownItem,
    TaxValue,
    to_wire,
)
from orderitems.client.queries import (
    CancelRequest,
    GetAllItemsRequest,
    GetAllRequest,
    Limitation,
    OrderItemFilter,
    Period,
    TimeFilter,
    plan_requests,
    split_period,
)
from orderitems.client.retry import RetryPolicy
from orderitems.client.sandbox import Sandbox
from orderitems.client.sync import LOCALHOST, MEWS_DEMO, MEWS_PRODUCTION, Client

__all__ = [
    "LOCALHOST",
    "MEWS_DEMO",
    "MEWS_PRODUCTION",
    "AccountType",
    "AccountingItem",
    "AccountingState",
    "AllowanceProfitType",
    "Amount",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "CancelFailure",
    "CancelRequest",
    "CancelResult",
    "Client",
    "ClientError",
    "ConnectionFailed",
    "DataDiscriminator",
    "ExtendedAmount",
    "Forbidden",
    "GetAllItemsRequest",
    "GetAllRequest",
    "InvalidResponse",
    "LegacyOrderItem",
    "LegacyOrderItemData",
    "LegacyOrderItemType",
    "Limitation",
    "NotFound",
    "OrderItem",
    "OrderItemData",
    "OrderItemFilter",
    "OrderItemOptions",
    "OrderItemPage",
    "OrderItemType",
    "Period",
    "ProductType",
    "RateLimited",
    "ReservationItems",
    "RetryPolicy",
    "RevenueType",
    "Sandbox",
    "ServerError",
    "TaxBreakdown",
    "TaxBreakdownItem",
    "TaxExemptionReason",
    "TaxValue",
    "TimeFilter",
    "Timeout",
    "Unauthorized",
    "plan_requests",
    "split_period",
    "to_wire",
]
