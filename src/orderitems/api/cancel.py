"""``orderItems/cancel``: decode, authenticate, pick the enterprise, cancel all or nothing."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Connection
from starlette.responses import Response

from orderitems.access.tokens import Principal, authenticate
from orderitems.api.call import Call
from orderitems.api.wire import CancelRequest
from orderitems.domain.errors import Forbidden, InvalidInput
from orderitems.store.cancel import cancel_items


def cancel_enterprise(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """``EnterpriseId`` is required with a portfolio token (400 without it, 403 outside its
    scope) and ignored with a single-enterprise token (docs/behaviour.md#cancel)."""
    if not principal.portfolio and len(principal.enterprise_ids) == 1:
        return principal.enterprise_ids[0]
    if requested is None:
        raise InvalidInput(
            "Invalid EnterpriseId: EnterpriseId is required with a Portfolio Access Token.",
            field="EnterpriseId",
        )
    if requested not in principal.enterprise_ids:
        raise Forbidden(
            f"Invalid EnterpriseId: {requested} is not within the scope of the AccessToken.",
            field="EnterpriseId",
        )
    return requested


async def cancel_order_items(call: Call) -> Response:
    """``orderItems/cancel``: ``{}``, or 204 under ``Prefer: return=minimal``."""
    request = call.decoded.request(CancelRequest)

    def work(connection: Connection) -> None:
        principal = authenticate(
            connection,
            client_token=request.client_token,
            access_token=request.access_token,
            allow_demo=call.settings.demo,
        )
        cancel_items(
            connection,
            enterprise_id=cancel_enterprise(principal, request.enterprise_id),
            item_ids=request.order_item_ids,
            profile_id=principal.profile_id,
            clock=call.clock,
        )

    await call.run(work, read=False)
    if call.prefer_minimal:
        return Response(status_code=204)
    return Response(b"{}", media_type="application/json")
