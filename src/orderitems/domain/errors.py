"""Named refusals. The domain says what went wrong; only ``api/errors.py`` knows status codes."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A refusal the client must see; api/errors.py decides its status."""

    def __init__(
        self, message: str, *, field: str | None = None, problems: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.problems = list(problems)


class InvalidInput(DomainError):
    """Malformed input, or it names something that does not exist (docs/behaviour.md#errors)."""


class Unauthenticated(DomainError):
    """A token is unknown, disabled or not paired with its client token (401)."""


class Forbidden(DomainError):
    """A well-formed request that a business rule refuses, e.g. an enterprise out of scope (403)."""


class NotFound(DomainError):
    """No such operation at this address (404)."""


class PayloadTooLarge(DomainError):
    """The body is over the configured limit (413)."""


class DeadlineExceeded(DomainError):
    """The work did not finish within the configured deadline (408)."""


class RateLimited(DomainError):
    """Too many requests for one AccessToken in the sliding window (429)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeout(DomainError):
    """The client stopped sending its request before it was complete (408)."""


class Unavailable(DomainError):
    """A store the request needs (database, Redis, a lock) cannot serve it now; the client may
    retry after ``retry_after`` seconds (docs/behaviour.md#errors: 503)."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
