"""Auto-pagination for the list endpoints: one object, three ways to use it.

``client.models.list()``, ``client.messages.batches.list()`` and
``client.files.list()`` return a :class:`Paginator`:

* ``async for item in client.models.list():`` -- every item of every page,
  a page fetched only when the one before is used up;
* ``page = await client.models.list(limit=5)`` -- just the first page (what
  ``models.list()`` returned before it paginated);
* ``async for page in client.models.list().pages():`` -- page by page.

Which cursor follows which page is the pure rule of
:func:`rawclaude.wire.pages.next_page_query`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any, Generic, Protocol, TypeVar

from ..wire.errors import ConfigurationError
from ..wire.pages import next_page_query

__all__ = ["Paginator", "list_query"]

T = TypeVar("T")


class _Page(Protocol[T]):
    @property
    def data(self) -> list[T]: ...
    @property
    def has_more(self) -> bool: ...
    @property
    def first_id(self) -> str | None: ...
    @property
    def last_id(self) -> str | None: ...


Item = TypeVar("Item")
P = TypeVar("P", bound=_Page[Any])


def list_query(limit: int | None, **cursors: str | None) -> dict[str, str]:
    """The query of a list call, checked: ``limit`` 1..1000, cursors non-empty strings."""
    query: dict[str, str] = {}
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ConfigurationError(f"limit must be an int from 1 to 1000, got {limit!r}")
        query["limit"] = str(limit)
    for name, value in cursors.items():
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{name} must be a non-empty string, got {value!r}")
        query[name] = value
    return query


class Paginator(Generic[Item, P]):
    """Every item of a list endpoint (``async for``), or its first page (``await``).

    ``fetch(query)`` gets one page. Nothing is sent until the paginator is
    awaited or iterated; each iteration starts again from the first page.
    """

    __slots__ = ("_fetch", "_query")

    def __init__(self, fetch: Callable[[dict[str, str]], Awaitable[P]], query: Mapping[str, str]):
        self._fetch = fetch
        self._query = dict(query)

    def __await__(self) -> Generator[Any, None, P]:
        return self._fetch(dict(self._query)).__await__()

    async def pages(self) -> AsyncIterator[P]:
        """Page after page, following the cursors the server sends."""
        query: dict[str, str] | None = dict(self._query)
        while query is not None:
            page = await self._fetch(query)
            yield page
            query = next_page_query(page, query)

    async def _items(self) -> AsyncIterator[Item]:
        async for page in self.pages():
            for item in page.data:
                yield item

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._items()

    def __repr__(self) -> str:
        return f"<Paginator query={self._query!r}>"
