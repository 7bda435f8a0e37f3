"""A database that went away under the server: the same words as the CLI in the log, 503 out.

A request that meets a lost connection, a missing database file or a database without its
schema is not the client's fault nor a bug of ours: it answers 503 with ``Retry-After``
(docs/behaviour.md#errors), and the server log says what is wrong in the CLI's words
(store/connect_errors.py), once per request, its traceback only at debug level.
"""

from __future__ import annotations

import logging

from orderitems.domain.errors import Unavailable
from orderitems.store.connect_errors import problem_for

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait: long enough for a pool to reconnect or a restart.
RETRY_AFTER = 1


def unavailable_for(exc: BaseException, url: str, request_id: str) -> Unavailable | None:
    """The 503 for ``exc`` when it is a database that cannot be used now, else None."""
    problem = problem_for(exc, url)
    if problem is None:
        return None
    log.error(
        "database unavailable: %s rid=%s",
        problem.message,
        request_id,
        exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
    )
    return Unavailable(
        "The database is not available at the moment; retry later.", retry_after=RETRY_AFTER
    )
