"""Collection pages through the test client: upload, progress, review, correct, delete, grid."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.adapters.ocr.base import FieldValue, StubReading
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import Stub, User
from tests.support.clients import AuthActions
from tests.support.doubles import DeferredJobQueue, ScriptedReader
from tests.support.factories import ListingFactory, SellerFactory, StubFactory, UserFactory
from tests.support.images import image_bytes, render_stub
from tests.support.pages import HTML, csrf_token, field_error

READING = StubReading(
    fields={
        "event_name": FieldValue("Midnight Revue", 0.95),
        "venue": FieldValue("Riverside Hall", 0.4),
        "event_date": FieldValue("1999-08-14", 0.9),
        "face_value": FieldValue("18.50", 0.8),
    },
    raw_text="MIDNIGHT REVUE RIVERSIDE HALL",
    engine="scripted",
)

OLD = date(1971, 3, 1)


@pytest.fixture
def stub_app(app: Flask, make_app: Callable[..., Flask], tmp_path: Path) -> Any:
    built = make_app(upload_folder=tmp_path / "uploads")
    container(built).jobs = DeferredJobQueue(built)
    container(built).reader = ScriptedReader(READING)
    yield built
    db.session.remove()


@pytest.fixture
def owner(stub_app: Flask) -> User:
    return UserFactory.create()


@pytest.fixture
def owner_client(stub_app: Flask, owner: User) -> FlaskClient:
    client = stub_app.test_client()
    assert AuthActions(client).login(owner.username).status_code == 200
    return client


def upload_page(client: FlaskClient, data: bytes, name: str = "stub.png", **fields: str) -> Any:
    form: dict[str, Any] = {
        "csrf_token": csrf_token(client, "/collection/upload"),
        "image": (io.BytesIO(data), name),
        **fields,
    }
    return client.post(
        "/collection/upload", data=form, headers=HTML, content_type="multipart/form-data"
    )


def stub_count() -> int:
    db.session.expire_all()
    return db.session.query(Stub).count()


def test_upload_shows_progress_then_the_fields_read_with_their_confidence(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    response = upload_page(owner_client, image_bytes(render_stub(), "PNG"), performer="The Revue")
    assert response.status_code == 302
    stub_url = response.headers["Location"]
    assert re.fullmatch(r"/collection/stubs/\d+", stub_url)

    reading = owner_client.get(stub_url, headers=HTML).get_data(as_text=True)
    stub_id = int(stub_url.rsplit("/", 1)[1])
    assert "Reading your stub" in reading
    assert f'data-reading-poll="/api/stubs/{stub_id}"' in reading
    # Without JavaScript the page refreshes itself until the reading ends.
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in reading
    assert f'src="/api/stubs/{stub_id}/image"' in reading

    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    done = owner_client.get(stub_url, headers=HTML).get_data(as_text=True)
    assert "Reading your stub" not in done
    assert "http-equiv" not in done
    assert 'value="Midnight Revue"' in done
    assert 'value="18.50"' in done
    # The venue was read with 40% confidence: highlighted for the owner to check.
    assert re.search(r'review-field--low[^"]*" data-field="venue"', done)
    assert "Not sure (40%)" in done
    # What the owner typed at upload is theirs, not the reader's.
    assert re.search(r'review-field--corrected[^"]*" data-field="performer"', done)
    assert f'src="/api/stubs/{stub_id}/thumbnail"' in done


def test_upload_without_csrf_token_is_refused_and_stores_nothing(
    owner_client: FlaskClient,
) -> None:
    response = owner_client.post(
        "/collection/upload",
        data={"image": (io.BytesIO(image_bytes(render_stub(), "PNG")), "stub.png")},
        headers=HTML,
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert stub_count() == 0


def test_upload_errors_appear_next_to_their_fields(owner_client: FlaskClient) -> None:
    not_an_image = upload_page(owner_client, b"%PDF-1.4 nothing to see", name="stub.jpg")
    assert not_an_image.status_code == 422
    page = not_an_image.get_data(as_text=True)
    assert field_error(page, "image")

    bad_date = upload_page(
        owner_client, image_bytes(render_stub(), "PNG"), event_date="14/08/1999", venue="Hall"
    )
    assert bad_date.status_code == 422
    page = bad_date.get_data(as_text=True)
    assert field_error(page, "event_date") == "Must be a date YYYY-MM-DD"
    assert 'value="Hall"' in page
    assert stub_count() == 0


def test_corrections_are_saved_and_errors_shown_next_to_the_field(
    stub_app: Flask, owner_client: FlaskClient, owner: User
) -> None:
    stub = StubFactory.create(owner=owner, venue="Riversde Hal", event_name="Revue")
    url = f"/collection/stubs/{stub.id}"
    form = {
        "csrf_token": csrf_token(owner_client, url),
        "event_name": "Revue",
        "venue": "Riverside Hall",
        "event_date": "1999-02-30",
        "face_value": "18.505",
    }
    refused = owner_client.post(url, data=form, headers=HTML)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert field_error(page, "event_date") == "Must be a date YYYY-MM-DD"
    assert field_error(page, "face_value") == "Must have at most two decimal places"
    # What the owner typed stays in the form; nothing was saved.
    assert 'value="Riverside Hall"' in page
    db.session.refresh(stub)
    assert stub.venue == "Riversde Hal"

    saved = owner_client.post(
        url, data={**form, "event_date": "1999-08-14", "face_value": "18.50"}, headers=HTML
    )
    assert saved.status_code == 302
    db.session.refresh(stub)
    assert stub.venue == "Riverside Hall"
    assert stub.face_value_cents == 1850
    # Only the fields that changed became corrections.
    assert set(stub.corrected_fields) == {"venue", "event_date", "face_value"}


def test_another_users_stub_is_a_404_page_not_json(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    other = StubFactory.create(owner=UserFactory.create())
    response = owner_client.get(f"/collection/stubs/{other.id}", headers=HTML)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<!doctype html>" in response.get_data(as_text=True)

    token = csrf_token(owner_client, "/collection")
    for action in ("", "/delete", "/read"):
        posted = owner_client.post(
            f"/collection/stubs/{other.id}{action}", data={"csrf_token": token}, headers=HTML
        )
        assert posted.status_code == 404, action
        assert posted.mimetype == "text/html"
    assert db.session.get(Stub, other.id) is not None


def test_pages_need_login(stub_app: Flask) -> None:
    anonymous = stub_app.test_client()
    for path in ("/collection", "/collection/upload", "/selling", "/selling/choose"):
        response = anonymous.get(path, headers=HTML)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next=")


def test_delete_is_refused_while_listed_and_works_otherwise(
    stub_app: Flask, owner_client: FlaskClient, owner: User
) -> None:
    listed = StubFactory.create(owner=owner)
    ListingFactory.create(seller=owner, stub=listed)
    plain = StubFactory.create(owner=owner)
    listed_id, plain_id = listed.id, plain.id
    token = csrf_token(owner_client, "/collection")

    refused = owner_client.post(
        f"/collection/stubs/{listed.id}/delete",
        data={"csrf_token": token},
        headers=HTML,
        follow_redirects=True,
    )
    assert refused.status_code == 200
    assert "This stub cannot be deleted: the stub is listed or sold" in refused.get_data(
        as_text=True
    )
    assert db.session.get(Stub, listed.id) is not None

    deleted = owner_client.post(
        f"/collection/stubs/{plain_id}/delete", data={"csrf_token": token}, headers=HTML
    )
    assert deleted.status_code == 302
    assert deleted.headers["Location"] == "/collection"
    db.session.expire_all()
    assert db.session.get(Stub, plain_id) is None
    assert db.session.get(Stub, listed_id) is not None


def test_collection_grid_searches_filters_sorts_and_pages(
    stub_app: Flask, owner_client: FlaskClient, owner: User
) -> None:
    empty = owner_client.get("/collection", headers=HTML).get_data(as_text=True)
    assert "Your collection is empty" in empty
    assert 'href="/collection/upload"' in empty

    StubFactory.create(owner=owner, event_name="Pearl Jam Ten", venue="The Garden")
    StubFactory.create(owner=owner, event_name="Old Show", venue="Fillmore", event_date=OLD)
    for number in range(25):
        StubFactory.create(owner=owner, event_name=f"Filler {number}", venue="Arena")
    StubFactory.create(owner=UserFactory.create(), event_name="Pearl Jam elsewhere")

    first = owner_client.get("/collection", headers=HTML).get_data(as_text=True)
    assert first.count('class="listing-card stub-card"') == 24
    assert "1\N{EN DASH}24 of 27 stubs" in first
    assert 'href="/collection?page=2"' in first
    second = owner_client.get("/collection?page=2", headers=HTML).get_data(as_text=True)
    assert second.count('class="listing-card stub-card"') == 3

    found = owner_client.get("/collection?q=pearl+garden", headers=HTML).get_data(as_text=True)
    assert "Pearl Jam Ten" in found
    assert "Pearl Jam elsewhere" not in found
    by_year = owner_client.get("/collection?year=1971", headers=HTML).get_data(as_text=True)
    assert "Old Show" in by_year
    assert "Pearl Jam Ten" not in by_year
    by_venue = owner_client.get("/collection?venue=fillmore", headers=HTML).get_data(as_text=True)
    assert "Old Show" in by_venue
    assert "Filler" not in by_venue
    oldest = owner_client.get("/collection?sort=event_date", headers=HTML).get_data(as_text=True)
    assert oldest.index("Old Show") < oldest.index("Filler")
    nothing = owner_client.get("/collection?q=zeppelin", headers=HTML).get_data(as_text=True)
    assert "No stubs match" in nothing

    bad_year = owner_client.get("/collection?year=3000", headers=HTML)
    assert bad_year.status_code == 422
    assert field_error(bad_year.get_data(as_text=True), "year")


def test_sell_form_explains_what_a_seller_without_payouts_is_missing(
    stub_app: Flask, owner_client: FlaskClient, owner: User
) -> None:
    stub = StubFactory.create(owner=owner)
    url = f"/collection/stubs/{stub.id}"
    page = owner_client.get(url, headers=HTML).get_data(as_text=True)
    assert "Before you can sell" in page
    assert "Connect a Stripe account (start seller onboarding)" in page

    refused = owner_client.post(
        f"/selling/stubs/{stub.id}",
        data={"csrf_token": csrf_token(owner_client, url), "asking_price": "25"},
        headers=HTML,
    )
    assert refused.status_code == 422
    assert (
        "your account cannot take card payments yet"
        in (field_error(refused.get_data(as_text=True), "asking_price") or "").lower()
    )


def test_listing_a_stub_from_its_page(stub_app: Flask) -> None:
    seller = SellerFactory.create()
    client = stub_app.test_client()
    assert AuthActions(client).login(seller.username).status_code == 200
    stub = StubFactory.create(owner=seller, event_name="Ten Tour")
    url = f"/collection/stubs/{stub.id}"
    token = csrf_token(client, url)

    bad = client.post(
        f"/selling/stubs/{stub.id}", data={"csrf_token": token, "asking_price": "ten"}, headers=HTML
    )
    assert bad.status_code == 422
    assert field_error(bad.get_data(as_text=True), "asking_price") == (
        'Must be a decimal amount such as "12.50"'
    )
    listed = client.post(
        f"/selling/stubs/{stub.id}",
        data={"csrf_token": token, "asking_price": "1234.5", "description": "Mint"},
        headers=HTML,
        follow_redirects=True,
    )
    assert listed.status_code == 200
    page = listed.get_data(as_text=True)
    assert "Your stub is on sale for $1,234.50." in page
    assert "This is your listing." in page
    stub_page = client.get(url, headers=HTML).get_data(as_text=True)
    assert "On the marketplace" in stub_page
    assert "$1,234.50" in stub_page
