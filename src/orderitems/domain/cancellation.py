"""Which items a cancel may change, and what changes (docs/behaviour.md#cancel)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from orderitems.domain.errors import InvalidInput
from orderitems.domain.items import CANCELABLE_STATES, AccountingState, OrderItem

MAX_CANCEL_IDS = 10


@dataclass(frozen=True, slots=True)
class CancelPlan:
    """The ids to cancel now and those already canceled (accepted, left unchanged)."""

    to_cancel: tuple[uuid.UUID, ...]
    already_canceled: tuple[uuid.UUID, ...]


def plan_cancellation(
    requested: Sequence[uuid.UUID], states: Mapping[uuid.UUID, AccountingState]
) -> CancelPlan:
    """All or nothing: any unknown (or out-of-scope) id, or an item that cannot be canceled,
    refuses the whole request with 400 ``Invalid OrderItemIds`` naming the ids.

    ``states`` holds the items visible in scope; an id missing from it is unknown, with the
    same wording whether it does not exist or belongs to another enterprise.
    """
    unique = sorted(set(requested))
    unknown = [i for i in unique if i not in states]
    refused = [i for i in unique if i in states and not _acceptable(states[i])]
    problems = []
    if unknown:
        problems.append("not found: " + ", ".join(map(str, unknown)))
    if refused:
        problems.append(
            "cannot be canceled (Closed, already on a closed bill): " + ", ".join(map(str, refused))
        )
    if problems:
        raise InvalidInput(
            "Invalid OrderItemIds: " + "; ".join(problems) + ". Nothing was canceled.",
            field="OrderItemIds",
            problems=problems,
        )
    return CancelPlan(
        to_cancel=tuple(i for i in unique if states[i] in CANCELABLE_STATES),
        already_canceled=tuple(i for i in unique if states[i] is AccountingState.CANCELED),
    )


def _acceptable(state: AccountingState) -> bool:
    """Open and Inactive are canceled; Canceled is accepted unchanged (idempotent)."""
    return state in CANCELABLE_STATES or state is AccountingState.CANCELED


def cancel_item(item: OrderItem, *, now: datetime, profile_id: uuid.UUID) -> OrderItem:
    """``AccountingState`` Canceled, ``CanceledUtc`` = ``UpdatedUtc`` = now, the canceller's
    profile as updater; ``Options.CanceledWithReservation`` stays as it was (false: this is not
    a cancellation through the reservation)."""
    return msgspec.structs.replace(
        item,
        accounting_state=AccountingState.CANCELED,
        canceled_utc=now,
        updated_utc=now,
        updater_profile_id=profile_id,
    )
