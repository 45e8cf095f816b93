"""Page links for paged lists: numbers from a service's ``page``/``per_page``/``total``.

The ``pagination`` macro (``macros/market.html``) renders it, keeping the current query
string (search, filters, sort) on every link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for


@dataclass(frozen=True)
class Pagination:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_shown(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_shown(self) -> int:
        return min(self.total, self.page * self.per_page)

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link, ``None`` for a gap: 1 … 4 5 [6] 7 8 … 20."""
        shown = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        out: list[int | None] = []
        previous = 0
        for number in numbers:
            if previous and number - previous > 1:
                out.append(None)
            out.append(number)
            previous = number
        return out

    def url(self, page: int) -> str:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if v and k != "page"}
        if page > 1:
            args["page"] = page
        return url_for(request.endpoint or "pages.home", **(request.view_args or {}), **args)
