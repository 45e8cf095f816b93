"""The collection through the HTTP API: upload, reading as a job, correct, browse, delete."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from stubcollector.adapters.jobs import InProcessJobQueue
from stubcollector.adapters.ocr.base import FieldValue, KnownNames, StubReading
from stubcollector.container import container
from stubcollector.domain.statuses import ListingStatus
from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, User
from stubcollector.services.stubs import KnownNamesCache
from tests.support.clients import AuthActions
from tests.support.doubles import DeferredJobQueue, ScriptedReader
from tests.support.factories import SellerFactory, StubFactory, UserFactory
from tests.support.images import image_bytes, jpeg_with_gps, render_stub

UPLOAD_HEADERS = {"X-Requested-With": "XMLHttpRequest"}


@pytest.fixture
def build_app(app: Flask, make_app: Callable[..., Flask]) -> Iterator[Callable[..., Flask]]:
    """``make_app`` whose requests run beside the session app's context (``app``).

    Test data is written through ``app`` (same database); the built app's requests get a
    context of their own each, so logins never leak between test clients.
    """
    yield make_app
    # End the test's own transaction first: on PostgreSQL the tables are emptied with
    # TRUNCATE next, which would wait for it forever.
    db.session.remove()


@pytest.fixture
def stub_app(build_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    """An app whose reading jobs wait until the test runs them."""
    built = build_app(upload_folder=tmp_path / "uploads", max_upload_bytes=300_000)
    container(built).jobs = DeferredJobQueue(built)
    return built


@pytest.fixture
def owner(stub_app: Flask) -> User:
    return UserFactory.create()


@pytest.fixture
def owner_client(stub_app: Flask, owner: User) -> FlaskClient:
    client = stub_app.test_client()
    assert AuthActions(client).login(owner.username).status_code == 200
    return client


def upload(client: FlaskClient, data: bytes, name: str = "stub.png", **fields: str) -> Any:
    form: dict[str, Any] = {"image": (io.BytesIO(data), name), **fields}
    return client.post(
        "/api/stubs/upload", data=form, headers=UPLOAD_HEADERS, content_type="multipart/form-data"
    )


def stored_files(app: Flask) -> list[Path]:
    root = container(app).settings.upload_folder
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


# --- upload -----------------------------------------------------------------------------------


def test_png_upload_answers_at_once_with_a_pending_reading(
    stub_app: Flask, owner_client: FlaskClient, owner: User
) -> None:
    response = upload(owner_client, image_bytes(render_stub(), "PNG"), name="../../etc/passwd.png")
    assert response.status_code == 201, response.json
    stub = response.json["stub"]
    assert stub["reading_status"] == "pending"
    assert stub["image_url"] == f"/api/stubs/{stub['id']}/image"
    assert container(stub_app).jobs.queued == [("stubs.read", (stub["id"],))]  # type: ignore[attr-defined]
    files = stored_files(stub_app)
    assert len(files) == 2  # the image and its thumbnail
    assert all("passwd" not in str(path) and ".." not in path.name for path in files)
    # Random names sharded into two levels of subfolders.
    assert all(
        len(path.relative_to(container(stub_app).settings.upload_folder).parts) == 3
        for path in files
    )


def test_jpeg_upload_is_stored_as_a_decodable_jpeg_with_a_thumbnail(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    response = upload(owner_client, image_bytes(render_stub(), "JPEG", quality=85), name="x.jpg")
    assert response.status_code == 201, response.json
    stub_id = response.json["stub"]["id"]
    image = owner_client.get(f"/api/stubs/{stub_id}/image")
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(image.data)).size == (900, 420)
    thumb = owner_client.get(f"/api/stubs/{stub_id}/thumbnail")
    assert thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 480


def test_known_fields_are_kept_as_corrections(stub_app: Flask, owner_client: FlaskClient) -> None:
    response = upload(
        owner_client,
        image_bytes(render_stub(), "PNG"),
        performer="Pearl Jam",
        face_value="45.00",
        currency="usd",
    )
    assert response.status_code == 201, response.json
    stub = response.json["stub"]
    assert stub["performer"] == "Pearl Jam"
    assert stub["face_value"] == "45.00"
    assert stub["currency"] == "USD"
    assert stub["corrected_fields"] == ["currency", "face_value", "performer"]
    assert stub["field_confidence"]["performer"] == 1.0


def test_exif_and_gps_are_removed_and_orientation_applied(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    # Orientation 6: the camera held sideways; the stored image must be upright (tall).
    original = jpeg_with_gps(render_stub(size=(600, 300)), orientation=6)
    assert b"StubCam" in original
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    response = upload(owner_client, original, name="IMG_0001.jpg")
    assert response.status_code == 201, response.json
    stored = [path.read_bytes() for path in stored_files(stub_app)]
    assert len(stored) == 2
    for data in stored:
        image = Image.open(io.BytesIO(data))
        assert not image.getexif(), "EXIF survived"
        assert b"Exif" not in data
        assert b"StubCam" not in data
    main = max(stored, key=len)
    assert Image.open(io.BytesIO(main)).size == (300, 600)


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (b"hello, I am only text\n" * 20, "stub.png", 415, "not a PNG or JPEG"),
        (b"", "empty.png", 422, "empty"),
        (b"GIF89a" + b"\x00" * 64, "stub.gif", 415, "not a PNG or JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", 415, "not a PNG or JPEG"),
    ],
    ids=["text-renamed-png", "zero-bytes", "gif", "png-signature-only"],
)
def test_non_images_are_refused_and_nothing_is_stored(
    stub_app: Flask, owner_client: FlaskClient, data: bytes, name: str, status: int, message: str
) -> None:
    response = upload(owner_client, data, name=name)
    assert response.status_code == status, response.json
    assert response.json["status"] == "error"
    assert message in response.json["message"]
    assert stored_files(stub_app) == []
    assert db.session.query(Stub).count() == 0


def test_truncated_jpeg_is_a_clear_422(stub_app: Flask, owner_client: FlaskClient) -> None:
    data = image_bytes(render_stub(), "JPEG")
    response = upload(owner_client, data[: len(data) // 2], name="cut.jpg")
    assert response.status_code == 422
    assert "corrupt or truncated" in response.json["errors"]["image"]


def test_decompression_bomb_is_refused_before_decoding(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    # 10000 x 9000 pixels of one colour: a few KB compressed, 90 MP (270 MB as RGB) decoded.
    bomb = image_bytes(Image.new("1", (10_000, 9_000)), "PNG")
    assert len(bomb) < 100_000
    response = upload(owner_client, bomb, name="bomb.png")
    assert response.status_code == 413
    assert "pixels" in response.json["message"]
    assert stored_files(stub_app) == []


def test_huge_uploads_get_413(stub_app: Flask, owner_client: FlaskClient) -> None:
    # Bigger than the request limit: refused by the server before the view runs.
    # (Under 500 KB: bigger bodies make the test client spool to a temporary file.)
    response = upload(owner_client, b"\xff" * 450_000, name="huge.jpg")
    assert response.status_code == 413
    assert response.json["status"] == "error"
    # Within the request limit but above the image limit (300 000 bytes here).
    noisy = Image.effect_noise((400, 400), 120).convert("RGB")
    data = image_bytes(noisy, "PNG")
    assert 300_000 < len(data) < 300_000 + 64 * 1024, len(data)
    response = upload(owner_client, data, name="big.png")
    assert response.status_code == 413
    assert stored_files(stub_app) == []


def test_upload_needs_login_multipart_and_the_header(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    anonymous = stub_app.test_client()
    assert upload(anonymous, image_bytes(render_stub(), "PNG")).status_code == 401
    no_header = owner_client.post(
        "/api/stubs/upload",
        data={"image": (io.BytesIO(b"x"), "a.png")},
        content_type="multipart/form-data",
    )
    assert no_header.status_code == 415
    as_json = owner_client.post("/api/stubs/upload", json={"image": "aGVsbG8="})
    assert as_json.status_code == 415
    missing = owner_client.post(
        "/api/stubs/upload",
        data={"performer": "x"},
        headers=UPLOAD_HEADERS,
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    assert "image" in missing.json["errors"]


def test_invalid_known_fields_store_nothing(stub_app: Flask, owner_client: FlaskClient) -> None:
    response = upload(
        owner_client, image_bytes(render_stub(), "PNG"), event_date="19/04/2009", colour="red"
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"colour"}
    response = upload(owner_client, image_bytes(render_stub(), "PNG"), event_date="19/04/2009")
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.json["errors"]["event_date"]
    assert stored_files(stub_app) == []


# --- reading as a job -------------------------------------------------------------------------


def test_the_reading_job_fills_fields_but_never_the_owners_corrections(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    container(stub_app).reader = ScriptedReader(
        StubReading(
            fields={
                "performer": FieldValue("PEARL JAM", 0.9),
                "event_date": FieldValue("2009-04-19", 0.95),
                "face_value": FieldValue("45.00", 0.8),
                "currency": FieldValue("USD", 0.8),
                "seat": FieldValue("x" * 80, 0.5),  # too long for a seat: dropped
            },
            raw_text="PEARL JAM\nSUN APR 19 2009",
            engine="scripted",
        )
    )
    stub_id = upload(owner_client, image_bytes(render_stub()), performer="Pearl Jam").json["stub"][
        "id"
    ]
    assert owner_client.get(f"/api/stubs/{stub_id}").json["stub"]["reading_status"] == "pending"
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    stub = owner_client.get(f"/api/stubs/{stub_id}").json["stub"]
    assert stub["reading_status"] == "done"
    assert stub["performer"] == "Pearl Jam"  # the owner's spelling survives
    assert stub["event_date"] == "2009-04-19"
    assert stub["face_value"] == "45.00"
    assert stub["seat"] is None
    assert stub["field_confidence"] == {
        "performer": 1.0,
        "event_date": 0.95,
        "face_value": 0.8,
        "currency": 0.8,
    }
    assert stub["extraction_engine"] == "scripted"
    assert stub["raw_text"].startswith("PEARL JAM")


def test_names_owners_corrected_are_known_to_the_reader(
    stub_app: Flask, owner_client: FlaskClient, owner: User
) -> None:
    """Corrections feed the reader's gazetteer: distinct, most used first, cached per app."""
    reader = ScriptedReader(StubReading(fields={}, raw_text="", engine="scripted"))
    container(stub_app).reader = reader
    # Typed at upload or corrected later count; values only read (not confirmed) do not.
    StubFactory.create(owner=owner, performer="Helene Fischer", corrected_fields=["performer"])
    StubFactory.create(owner=owner, performer="Helene Fischer", corrected_fields=["performer"])
    StubFactory.create(
        owner=owner, performer="Die Ärzte", venue="Zenith", corrected_fields=["performer", "venue"]
    )
    StubFactory.create(owner=owner, performer="NJOY", venue="Spiridon-Louis-Ring 21")
    db.session.commit()

    upload(owner_client, image_bytes(render_stub()))
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    assert reader.known == [
        KnownNames(performers=("Helene Fischer", "Die Ärzte"), venues=("Zenith",))
    ]

    # A correction through the API is known too, once the cached names have expired.
    stub_id = upload(owner_client, image_bytes(render_stub())).json["stub"]["id"]
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    patched = owner_client.patch(f"/api/stubs/{stub_id}", json={"venue": "Olympiahalle"})
    assert patched.status_code == 200
    assert owner_client.post(f"/api/stubs/{stub_id}/read", json={}).status_code == 202
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    assert reader.known[-1] == reader.known[0]  # within the TTL: the cached names
    stub_app.extensions.pop("stubcollector.known_names")
    assert owner_client.post(f"/api/stubs/{stub_id}/read", json={}).status_code == 202
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    latest = reader.known[-1]
    assert latest is not None
    assert set(latest.venues) == {"Zenith", "Olympiahalle"}


def test_known_names_are_fetched_again_after_their_ttl(stub_app: Flask, owner: User) -> None:
    now = [1000.0]
    cache = KnownNamesCache(ttl_seconds=60, clock=lambda: now[0])

    def names() -> KnownNames:
        with stub_app.app_context():
            return cache.get()

    assert names() == KnownNames()
    StubFactory.create(owner=owner, venue="Zenith", corrected_fields=["venue"])
    db.session.commit()
    now[0] += 59
    assert names() == KnownNames()
    now[0] += 1
    assert names() == KnownNames(venues=("Zenith",))


def test_a_failed_reading_is_a_state_the_owner_sees_and_can_retry(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    container(stub_app).reader = ScriptedReader(RuntimeError("engine exploded"))
    stub_id = upload(owner_client, image_bytes(render_stub())).json["stub"]["id"]
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    response = owner_client.get(f"/api/stubs/{stub_id}")
    assert response.status_code == 200
    stub = response.json["stub"]
    assert stub["reading_status"] == "failed"
    assert "could not be read" in stub["reading_error"]
    assert "exploded" not in stub["reading_error"]  # internals stay in the log
    assert owner_client.get(f"/api/stubs/{stub_id}/image").status_code == 200

    container(stub_app).reader = ScriptedReader(
        StubReading(fields={"venue": FieldValue("Wrigley Field", 0.8)}, raw_text="", engine="x")
    )
    again = owner_client.post(f"/api/stubs/{stub_id}/read", json={})
    assert again.status_code == 202
    assert again.json["stub"]["reading_status"] == "pending"
    assert owner_client.post(f"/api/stubs/{stub_id}/read", json={}).status_code == 409
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    stub = owner_client.get(f"/api/stubs/{stub_id}").json["stub"]
    assert (stub["reading_status"], stub["venue"], stub["reading_error"]) == (
        "done",
        "Wrigley Field",
        None,
    )


def test_a_stub_deleted_before_its_reading_is_skipped(
    stub_app: Flask, owner_client: FlaskClient
) -> None:
    stub_id = upload(owner_client, image_bytes(render_stub())).json["stub"]["id"]
    assert owner_client.delete(f"/api/stubs/{stub_id}", json={}).status_code == 200
    container(stub_app).jobs.run_all()  # type: ignore[attr-defined]
    db.session.expire_all()
    assert db.session.get(Stub, stub_id) is None


def test_upload_is_read_by_the_real_offline_engine(
    build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """The default wiring end to end: in-process job, rapidocr, our parser."""
    built = build_app(upload_folder=tmp_path / "uploads")
    client = built.test_client()
    assert AuthActions(client).login(UserFactory.create().username).status_code == 200
    response = upload(client, image_bytes(render_stub(), "PNG"))
    assert response.status_code == 201, response.json
    stub = client.get(f"/api/stubs/{response.json['stub']['id']}").json["stub"]
    assert stub["reading_status"] == "done", stub["reading_error"]
    assert stub["extraction_engine"] == "rapidocr"
    assert stub["performer"] == "PEARL JAM"
    assert stub["event_date"] == "2009-04-19"
    assert stub["event_time"] == "20:00"
    assert (stub["section"], stub["row"], stub["seat"]) == ("112", "14", "7")
    assert (stub["face_value"], stub["currency"]) == ("45.00", "USD")
    assert stub["venue"] == "MADISON SQUARE GARDEN"
    assert 0 < stub["field_confidence"]["event_date"] <= 1


# --- correcting, browsing, deleting -----------------------------------------------------------


def test_patch_validates_every_field_and_changes_nothing_on_error(
    stub_app: Flask, owner: User, owner_client: FlaskClient
) -> None:
    stub = StubFactory.create(owner=owner, field_confidence={"venue": 0.6})
    bad = owner_client.patch(
        f"/api/stubs/{stub.id}",
        json={
            "event_date": "2009-02-30",
            "event_time": "25:00",
            "face_value": "-3",
            "currency": "dollars",
            "seat": "7" * 51,
            "venue": "Somewhere",
        },
    )
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"event_date", "event_time", "face_value", "currency", "seat"}
    assert owner_client.get(f"/api/stubs/{stub.id}").json["stub"]["venue"] == "Example Arena"
    unknown = owner_client.patch(f"/api/stubs/{stub.id}", json={"owner_id": 99})
    assert unknown.status_code == 422

    good = owner_client.patch(
        f"/api/stubs/{stub.id}",
        json={"venue": "  Wrigley Field ", "face_value": "95", "currency": "usd", "city": None},
    )
    assert good.status_code == 200, good.json
    updated = good.json["stub"]
    assert (updated["venue"], updated["face_value"], updated["currency"]) == (
        "Wrigley Field",
        "95.00",
        "USD",
    )
    assert updated["city"] is None
    assert updated["event_name"] == stub.event_name  # not sent, not changed
    assert set(updated["corrected_fields"]) == {"venue", "face_value", "currency", "city"}
    assert updated["field_confidence"]["venue"] == 1.0


def test_others_cannot_see_change_or_delete_a_stub(
    stub_app: Flask, owner: User, owner_client: FlaskClient
) -> None:
    stub_id = upload(owner_client, image_bytes(render_stub())).json["stub"]["id"]
    stranger = UserFactory.create()
    other = stub_app.test_client()
    AuthActions(other).login(stranger.username)
    for response in (
        other.get(f"/api/stubs/{stub_id}"),
        other.patch(f"/api/stubs/{stub_id}", json={"venue": "Mine now"}),
        other.delete(f"/api/stubs/{stub_id}", json={}),
        other.post(f"/api/stubs/{stub_id}/read", json={}),
        other.get(f"/api/stubs/{stub_id}/image"),
        other.get(f"/api/stubs/{stub_id}/thumbnail"),
        stub_app.test_client().get(f"/api/stubs/{stub_id}/image"),
    ):
        assert response.status_code == 404
    assert other.get("/api/stubs").json["total"] == 0
    assert stub_app.test_client().get("/api/stubs").status_code == 401

    # Once listed the stub is public: its image is visible, but it is still not theirs.
    _list(stub_id, owner)
    assert other.get(f"/api/stubs/{stub_id}/image").status_code == 200
    assert stub_app.test_client().get(f"/api/stubs/{stub_id}/thumbnail").status_code == 200
    assert other.get(f"/api/stubs/{stub_id}").status_code == 403
    assert other.patch(f"/api/stubs/{stub_id}", json={"venue": "x"}).status_code == 403
    assert owner_client.get(f"/api/stubs/{stub_id}").json["stub"]["venue"] is None


def _list(stub_id: int, seller: User, status: ListingStatus = ListingStatus.ACTIVE) -> None:
    db.session.add(
        StubListing(
            stub_id=stub_id, seller_id=seller.id, asking_price_cents=2500, status=status.value
        )
    )
    db.session.commit()


def test_listed_or_sold_stubs_cannot_be_deleted(stub_app: Flask) -> None:
    seller = SellerFactory.create()
    client = stub_app.test_client()
    AuthActions(client).login(seller.username)
    listed, sold, free = (StubFactory.create(owner=seller) for _ in range(3))
    _list(listed.id, seller)
    _list(sold.id, seller, ListingStatus.SOLD)
    for stub in (listed, sold):
        response = client.delete(f"/api/stubs/{stub.id}", json={})
        assert response.status_code == 409
        assert "listed or sold" in response.json["message"]
    assert client.delete(f"/api/stubs/{free.id}", json={}).status_code == 200
    assert client.get(f"/api/stubs/{free.id}").status_code == 404
    assert client.get("/api/stubs").json["total"] == 2


def test_delete_removes_the_stored_files(stub_app: Flask, owner_client: FlaskClient) -> None:
    stub_id = upload(owner_client, image_bytes(render_stub())).json["stub"]["id"]
    assert len(stored_files(stub_app)) == 2
    assert owner_client.delete(f"/api/stubs/{stub_id}", json={}).status_code == 200
    assert stored_files(stub_app) == []


def test_collection_search_filter_sort_and_pages(
    stub_app: Flask, owner: User, owner_client: FlaskClient
) -> None:
    import datetime as dt

    StubFactory.create(
        owner=owner,
        performer="Pearl Jam",
        venue="Madison Square Garden",
        event_date=dt.date(2009, 4, 19),
        face_value_cents=4500,
    )
    StubFactory.create(
        owner=owner,
        performer="Die Toten Hosen",
        venue="ESPRIT arena",
        event_date=dt.date(2017, 10, 29),
        face_value_cents=6990,
    )
    StubFactory.create(
        owner=owner,
        performer="Radiohead",
        venue="Roseland Ballroom",
        event_date=dt.date(1997, 7, 17),
        face_value_cents=None,
    )
    StubFactory.create(owner=owner, performer="100% Pure", venue="Garden Club", event_date=None)
    StubFactory.create(performer="Pearl Jam")  # someone else's

    def names(**params: Any) -> list[str]:
        response = owner_client.get("/api/stubs", query_string=params)
        assert response.status_code == 200, response.json
        return [stub["performer"] for stub in response.json["stubs"]]

    assert names(q="pearl") == ["Pearl Jam"]
    assert names(q="garden", sort="performer", order="asc") == ["100% Pure", "Pearl Jam"]
    assert names(q="pearl madison") == ["Pearl Jam"]
    assert names(q="%") == ["100% Pure"]  # a literal percent sign, not a wildcard
    assert names(year=2017) == ["Die Toten Hosen"]
    assert names(venue="esprit") == ["Die Toten Hosen"]
    assert names(sort="event_date", order="asc") == [
        "Radiohead",
        "Pearl Jam",
        "Die Toten Hosen",
        "100% Pure",
    ]
    assert names(sort="face_value", order="desc")[:2] == ["Die Toten Hosen", "Pearl Jam"]
    page = owner_client.get(
        "/api/stubs", query_string={"per_page": 3, "page": 2, "sort": "event_date"}
    ).json
    assert (page["page"], page["per_page"], page["total"], len(page["stubs"])) == (2, 3, 4, 1)
    for bad in (
        {"per_page": 0},
        {"per_page": 101},
        {"year": "soon"},
        {"sort": "owner_id"},
        {"page": -1},
    ):
        assert owner_client.get("/api/stubs", query_string=bad).status_code == 422


def test_unknown_stub_is_404(stub_app: Flask, owner_client: FlaskClient) -> None:
    assert owner_client.get("/api/stubs/999999").status_code == 404
    assert owner_client.patch("/api/stubs/999999", json={"venue": "x"}).status_code == 404
    assert owner_client.delete("/api/stubs/999999", json={}).status_code == 404
    assert owner_client.get("/api/stubs/999999/image").status_code == 404


def test_storage_failure_is_a_503_and_no_stub(
    build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the upload folder should be")
    built = build_app(upload_folder=blocked)
    client = built.test_client()
    assert AuthActions(client).login(UserFactory.create().username).status_code == 200
    response = upload(client, image_bytes(render_stub(), "PNG"))
    assert response.status_code == 503
    assert "could not be stored" in response.json["message"]
    assert client.get("/api/stubs").json["total"] == 0


def test_reading_in_the_background_thread_pool(
    build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """The development default: the upload answers, a pool thread reads, the client polls."""
    built = build_app(upload_folder=tmp_path / "uploads")
    queue = InProcessJobQueue(built, eager=False)
    container(built).jobs = queue
    container(built).reader = ScriptedReader(
        StubReading(fields={"performer": FieldValue("WILCO", 0.9)}, raw_text="WILCO", engine="x")
    )
    client = built.test_client()
    assert AuthActions(client).login(UserFactory.create().username).status_code == 200
    try:
        response = upload(client, image_bytes(render_stub(), "PNG"))
        assert response.status_code == 201
        assert response.json["stub"]["reading_status"] in ("pending", "reading", "done")
        queue.wait()
    finally:
        queue.shutdown()
    stub = client.get(f"/api/stubs/{response.json['stub']['id']}").json["stub"]
    assert (stub["reading_status"], stub["performer"]) == ("done", "WILCO")
