"""The admin API of an orderitems sandbox or demo server (``/_sandbox/``), for tests of a
client: faults, the clock, drift drills, the request log, rate-limit windows, reset.

Mews has no such API: this talks to orderitems only. Bodies are the admin API's PascalCase
JSON, returned as decoded; a refusal raises ``ApiError`` with the server's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from orderitems.client.errors import error_for
from orderitems.client.sync import LOCALHOST

#: The admin token a demo server on a loopback address accepts when none is set.
DEMO_ADMIN_TOKEN = "ORDERITEMS-SANDBOX-ADMIN"
#: What a drill can change, by name (``Sandbox.start_drill(enums=...)``).
DRILL_ENUMS = ("Type", "DataDiscriminator", "AccountingState", "RevenueType", "TaxCode")


class Sandbox:
    """A handle on one server's sandbox; use it as a context manager or call ``close()``."""

    def __init__(
        self,
        *,
        base_url: str = LOCALHOST,
        admin_token: str = DEMO_ADMIN_TOKEN,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/_sandbox",
            headers={"Authorization": f"Bearer {admin_token}"},
            transport=transport,
            timeout=timeout,
        )

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code >= 400:
            raise error_for(
                response.status_code,
                response.content,
                request_id=response.headers.get("Request-Id"),
                reason=response.reason_phrase,
            )
        return response.json() if response.content else None

    def start_drill(
        self,
        *,
        seed: int | None = None,
        percent: float = 25.0,
        enums: Sequence[str] | None = None,
        properties: bool = True,
        operation: str | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """Make answers look like a future API version until ``stop_drill``; replaces any drill.

        Args:
            seed: the same seed gives the same answers (a failing test replays with it);
                None: the server draws one and returns it as ``Seed``.
            percent: share of items (0..100) given unknown values of ``enums``.
            enums: which values change: any of ``DRILL_ENUMS`` (default all).
            properties: add unknown properties to the envelope, each item and its objects.
            operation: only this operation, e.g. ``orderItems/getAll``.
            access_token: only this token's requests.

        Returns:
            The drill as the server keeps it, with its ``Seed``.
        """
        body: dict[str, Any] = {"Percent": percent, "Properties": properties}
        if seed is not None:
            body["Seed"] = seed
        if enums is not None:
            body["Enums"] = list(enums)
        if operation is not None:
            body["Operation"] = operation
        if access_token is not None:
            body["AccessToken"] = access_token
        drill: dict[str, Any] = self._send("PUT", "/drill", body)
        return drill

    def drill(self) -> dict[str, Any] | None:
        """The drill running now, or None."""
        drill: dict[str, Any] | None = self._send("GET", "/drill")
        return drill

    def stop_drill(self) -> None:
        self._send("DELETE", "/drill")

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        """``POST /_sandbox/faults`` with PascalCase keys (``Status=429, RetryAfter=2``)."""
        fault: dict[str, Any] = self._send("POST", "/faults", spec)
        return fault

    def clear_faults(self) -> None:
        self._send("DELETE", "/faults")

    def requests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The request log, newest first."""
        logged: list[dict[str, Any]] = self._send("GET", f"/requests?limit={limit}")
        return logged

    def clear_limits(self) -> None:
        self._send("DELETE", "/limits")

    def reset(self) -> dict[str, Any]:
        """Demo servers: the demo data as first generated; no faults, clock, drill or log."""
        answer: dict[str, Any] = self._send("POST", "/reset")
        return answer
