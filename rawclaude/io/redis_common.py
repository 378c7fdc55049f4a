"""What every Redis-backed piece shares (layer 1): clients, outage handling, reprs.

The limiter, the budget, the circuit breaker and the response cache each keep
their state in Redis, change it in one atomic Lua script that reads the Redis
server's clock (``TIME``), and handle an unreachable Redis the same way:
``on_unavailable="fail_closed"`` raises the piece's
:class:`~rawclaude.SharedStateUnavailableError` subclass (the redis error
chained as its cause), ``"fail_open"`` carries on without the shared state and
logs one warning per outage. ``redis`` is imported only when one is built.
Reprs, logs and errors name only host, port and db, never the URL, which may
hold a password.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from ..wire.errors import ConfigurationError, SharedStateUnavailableError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "Health",
    "OnUnavailable",
    "check_mode",
    "client_from",
    "describe",
    "unavailable_errors",
]

OnUnavailable = Literal["fail_closed", "fail_open"]

# A client built from a URL fails fast: a limiter that hangs on a dead Redis
# hangs every request. Pass your own client to choose otherwise.
_URL_CLIENT_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


class Health:
    """Outage state shared by the users of one client: one warning per outage.

    ``what`` names the piece in log lines ("rate limiter", "budget"...);
    ``error`` is the class raised when failing closed.
    """

    def __init__(
        self,
        where: str,
        *,
        what: str = "rate limiter",
        logger: logging.Logger | None = None,
        error: type[SharedStateUnavailableError] = SharedStateUnavailableError,
        fail_open: bool = False,
        consequence: str = "granting without the shared limit until it is back",
    ) -> None:
        self.where = where
        self.what = what
        self.down = False
        self.logger = logger or logging.getLogger("rawclaude")
        self.error = error
        self.fail_open = fail_open
        self.consequence = consequence

    def unavailable(self, exc: BaseException) -> None:
        """Raise (fail closed), or warn once per outage (fail open)."""
        if not self.fail_open:
            raise self.error(
                f"Redis {self.what} at {self.where} is unavailable ({type(exc).__name__})"
            ) from exc
        if not self.down:
            self.down = True
            self.logger.warning(
                "%s: Redis at %s is unavailable (%s); failing open: %s",
                self.what,
                self.where,
                type(exc).__name__,
                self.consequence,
            )

    def reachable(self) -> None:
        if self.down:
            self.down = False
            self.logger.warning("%s: Redis at %s is reachable again", self.what, self.where)


def client_from(redis: str | Redis) -> tuple[Redis, bool]:
    """A client and whether we own it (made from a URL: ours to close)."""
    if not isinstance(redis, str):
        return redis, False
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    retry = Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=2)
    try:
        return Redis.from_url(redis, retry=retry, **_URL_CLIENT_OPTIONS), True
    except ValueError:
        # Not chained: the parser's message could quote the URL and its password.
        raise ConfigurationError("invalid Redis URL (not shown: it may hold a password)") from None


def describe(client: Redis) -> str:
    """host:port/db (or the socket path) of a client: never its password."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix:{kwargs['path']}/{kwargs.get('db', 0)}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def unavailable_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    # RedisError covers connection, timeout, auth and server-side refusals
    # (LOADING, READONLY, OOM...); OSError what a socket may raise beneath it.
    return (RedisError, OSError)


def check_mode(mode: str) -> bool:
    """True for fail-open; a ConfigurationError for anything but the two modes."""
    if mode not in ("fail_closed", "fail_open"):
        raise ConfigurationError(
            f"on_unavailable must be 'fail_closed' or 'fail_open', not {mode!r}"
        )
    return mode == "fail_open"
