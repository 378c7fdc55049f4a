"""List pages and the cursor rule that walks them (layer 0: no IO).

The list endpoints page in two styles (API reference, "List Models", "List
Message Batches", "List Files"):

* ``limit`` with ``after_id`` / ``before_id``: a page is ``{"data",
  "has_more", "first_id", "last_id"}``; the next page is ``after_id=last_id``
  (or ``before_id=first_id`` when walking backwards from a ``before_id``).
* the Files API's opaque cursor: ``page`` in, ``next_page`` out (``null`` on
  the last page).

:class:`Page` holds both; :func:`next_page_query` picks the next query from
whichever the server sent, and refuses a cursor that does not move (a server
that repeats itself must not make ``async for`` spin for ever).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

import msgspec

from .errors import APIResponseValidationError

__all__ = ["Page", "PageLike", "next_page_query", "page_decoder"]

T = TypeVar("T")

_CURSORS = ("after_id", "before_id", "page")


class Page(msgspec.Struct, Generic[T], kw_only=True, dict=True):
    """One page of a list endpoint: ``data`` plus the cursors to go on.

    ``dict=True`` as for the other response bodies: the client attaches the
    ``request-id`` header as ``_request_id`` (see :attr:`request_id`).
    """

    data: list[T]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None
    next_page: str | None = None

    @property
    def request_id(self) -> str | None:
        """The ``request-id`` response header, when the client attached it."""
        rid: str | None = getattr(self, "_request_id", None)
        return rid


def page_decoder(item: type[T]) -> msgspec.json.Decoder[Page[T]]:
    """A decoder for pages of ``item``; build it once per item type."""
    return msgspec.json.Decoder(Page[item])  # type: ignore[valid-type]


class PageLike(Protocol):
    """What :func:`next_page_query` reads of a page (``Page``, ``ModelList``)."""

    @property
    def has_more(self) -> bool: ...
    @property
    def first_id(self) -> str | None: ...
    @property
    def last_id(self) -> str | None: ...


def next_page_query(page: PageLike, query: Mapping[str, str]) -> dict[str, str] | None:
    """The query for the page after ``page`` (fetched with ``query``), or None.

    ``next_page`` wins when present (the Files API's cursor). Otherwise
    ``has_more`` decides, and the direction is kept: a walk that started
    from ``before_id`` (and no ``after_id``) goes on backwards.
    """
    rest = {k: v for k, v in query.items() if k not in _CURSORS}
    cursor: str | None = getattr(page, "next_page", None)
    if cursor:
        step = {"page": cursor}
    elif not page.has_more:
        return None
    elif "before_id" in query and "after_id" not in query:
        step = {"before_id": _cursor(page.first_id, "first_id")}
    else:
        step = {"after_id": _cursor(page.last_id, "last_id")}
    ((name, value),) = step.items()
    if query.get(name) == value:
        raise APIResponseValidationError(
            f"list page cursor did not advance ({name}={value!r} again); stopping "
            "instead of fetching the same page for ever"
        )
    return {**rest, **step}


def _cursor(value: str | None, field: str) -> str:
    if not value:
        raise APIResponseValidationError(
            f"list page says has_more but gives no {field} to continue from"
        )
    return value
