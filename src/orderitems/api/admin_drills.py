"""``/_sandbox/drill``: start, show and stop the drift drill (api/drills.py,
docs/behaviour.md#faults-and-sandbox). One drill at a time, kept in the shared state like the
clock, so every server process drills alike."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from orderitems.access.tokens import hash_token
from orderitems.api.drills import DRILLABLE_ENUMS
from orderitems.api.wire import Wire, decode_request
from orderitems.domain.errors import InvalidInput
from orderitems.state.records import DrillSetting
from orderitems.state.sandbox import SandboxState

#: Seeds fit a signed 64-bit integer, whatever language replays them.
Seed = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class DrillSpec(Wire, frozen=True):
    """``PUT /_sandbox/drill``. No ``Seed``: one is drawn and answered, to replay with."""

    seed: Seed | None = None
    properties: bool = True
    percent: Annotated[float, msgspec.Meta(ge=0, le=100)] = 25.0
    enums: list[str] | None = None
    operation: str | None = None
    access_token: str | None = None


class DrillView(Wire, frozen=True):
    seed: int
    properties: bool
    percent: float
    enums: list[str]
    operation: str | None
    access_token_sha256: str | None


_encoder = msgspec.json.Encoder()


def drill_setting(spec: DrillSpec, operation_key: Callable[[str], str]) -> DrillSetting:
    enums = list(DRILLABLE_ENUMS) if spec.enums is None else spec.enums
    unknown = [name for name in enums if name not in DRILLABLE_ENUMS]
    if unknown:
        raise InvalidInput(
            f"Invalid Enums: {', '.join(map(repr, unknown))} is none of"
            f" {', '.join(DRILLABLE_ENUMS)}.",
            field="Enums",
        )
    if not spec.properties and not (enums and spec.percent):
        raise InvalidInput(
            "Invalid Properties: a drill that adds no property must change some enums"
            " (Percent above 0 and Enums not empty).",
            field="Properties",
        )
    return DrillSetting(
        seed=random.randrange(2**31) if spec.seed is None else spec.seed,
        properties=spec.properties,
        percent=spec.percent,
        enums=tuple(dict.fromkeys(enums)),
        operation=None if spec.operation is None else operation_key(spec.operation),
        token_hash=None if spec.access_token is None else hash_token(spec.access_token).hex(),
    )


def drill_view(drill: DrillSetting, operation_name: Callable[[str | None], str | None]) -> bytes:
    return _encoder.encode(
        DrillView(
            seed=drill.seed,
            properties=drill.properties,
            percent=drill.percent,
            enums=list(drill.enums),
            operation=operation_name(drill.operation),
            access_token_sha256=drill.token_hash,
        )
    )


class DrillRoutes:
    """The admin API's drill routes; ``routes`` join the Admin's."""

    def __init__(
        self,
        sandbox: SandboxState,
        *,
        operation_key: Callable[[str], str],
        operation_name: Callable[[str | None], str | None],
    ) -> None:
        self.sandbox = sandbox
        self.operation_key = operation_key
        self.operation_name = operation_name
        Route = Callable[[Request], Awaitable[Response]]
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "/drill"): self.show,
            ("PUT", "/drill"): self.start,
            ("DELETE", "/drill"): self.stop,
        }

    def _answer(self, drill: DrillSetting | None) -> Response:
        body = b"null" if drill is None else drill_view(drill, self.operation_name)
        return Response(body, media_type="application/json")

    async def show(self, _request: Request) -> Response:
        return self._answer(await self.sandbox.drill())

    async def start(self, request: Request) -> Response:
        spec = decode_request(await request.body() or b"{}", DrillSpec, strict=False)
        drill = drill_setting(spec, self.operation_key)
        await self.sandbox.set_drill(drill)
        return self._answer(drill)

    async def stop(self, _request: Request) -> Response:
        await self.sandbox.set_drill(None)
        return Response(status_code=204)
