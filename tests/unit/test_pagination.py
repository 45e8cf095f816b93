"""Page links for paged lists (web/pages/pagination.py)."""

from __future__ import annotations

from flask import Flask

from stubcollector.web.pages.pagination import Pagination


def test_counts_and_window_with_gaps() -> None:
    middle = Pagination(page=6, per_page=10, total=200)
    assert middle.pages == 20
    assert (middle.first_shown, middle.last_shown) == (51, 60)
    assert middle.window() == [1, None, 4, 5, 6, 7, 8, None, 20]
    assert middle.has_previous
    assert middle.has_next


def test_edges_and_empty_lists() -> None:
    empty = Pagination(page=1, per_page=24, total=0)
    assert empty.pages == 1
    assert (empty.first_shown, empty.last_shown) == (0, 0)
    assert not empty.has_previous
    assert not empty.has_next
    last = Pagination(page=3, per_page=24, total=50)
    assert (last.first_shown, last.last_shown) == (49, 50)
    assert last.window() == [1, 2, 3]
    assert not last.has_next


def test_links_keep_the_search_and_drop_empty_parameters() -> None:
    app = Flask(__name__)
    app.add_url_rule("/things", "things", lambda: "")
    with app.test_request_context("/things?q=pearl+jam&venue=&page=3&sort=price_asc"):
        paging = Pagination(page=3, per_page=10, total=100)
        assert paging.url(4) == "/things?q=pearl+jam&sort=price_asc&page=4"
        assert paging.url(1) == "/things?q=pearl+jam&sort=price_asc"
