"""Upload checks and re-encoding (Pillow on real bytes; no database)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from stubcollector.adapters.images import prepare_upload
from stubcollector.adapters.storage import LocalImageStorage, StoredImageMissing
from stubcollector.domain.errors import PayloadTooLarge, UnsupportedMedia, ValidationFailed
from tests.support.images import image_bytes, jpeg_with_gps, render_stub

LIMITS = {"max_bytes": 2_000_000, "max_pixels": 4_000_000}


def test_png_without_transparency_is_stored_as_jpeg() -> None:
    prepared = prepare_upload(image_bytes(render_stub(), "PNG"), **LIMITS)
    assert prepared.content_type == "image/jpeg"
    assert prepared.suffix == ".jpg"
    assert Image.open(io.BytesIO(prepared.data)).format == "JPEG"
    assert (prepared.width, prepared.height) == (900, 420)


def test_transparent_png_stays_png_and_its_thumbnail_is_flattened() -> None:
    image = Image.new("RGBA", (300, 200), (255, 0, 0, 0))
    prepared = prepare_upload(image_bytes(image, "PNG"), **LIMITS)
    assert prepared.content_type == "image/png"
    assert Image.open(io.BytesIO(prepared.thumbnail)).mode == "RGB"


@pytest.mark.parametrize(
    ("size", "thumbnail"),
    [((900, 420), (480, 224)), ((420, 900), (224, 480)), ((300, 90), (300, 90))],
)
def test_thumbnails_hold_the_whole_stub(size: tuple[int, int], thumbnail: tuple[int, int]) -> None:
    # Scaled to fit 480 px, never cropped or enlarged: the cards letterbox them (app.css), so
    # every thumbnail stored so far shows the whole stub as it is.
    prepared = prepare_upload(image_bytes(render_stub(size=size), "PNG"), **LIMITS)
    assert Image.open(io.BytesIO(prepared.thumbnail)).size == thumbnail


def test_exif_gps_is_gone_and_orientation_applied() -> None:
    prepared = prepare_upload(jpeg_with_gps(render_stub(size=(400, 200)), orientation=8), **LIMITS)
    stored = Image.open(io.BytesIO(prepared.data))
    assert stored.size == (200, 400)
    assert not stored.getexif()
    assert b"StubCam" not in prepared.data


def test_sixteen_bit_and_palette_images_are_converted() -> None:
    grey16 = Image.new("I;16", (50, 40), 40000)
    assert prepare_upload(image_bytes(grey16, "PNG"), **LIMITS).content_type == "image/jpeg"
    palette = render_stub().convert("P")
    assert prepare_upload(image_bytes(palette, "PNG"), **LIMITS).width == 900


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ValidationFailed),
        (b"%PDF-1.7 not an image", UnsupportedMedia),
        (b"BM" + b"\x00" * 100, UnsupportedMedia),
    ],
)
def test_refusals(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        prepare_upload(data, **LIMITS)


def test_webp_is_refused_even_though_pillow_could_read_it() -> None:
    with pytest.raises(UnsupportedMedia):
        prepare_upload(image_bytes(render_stub(), "WEBP"), **LIMITS)


def test_pixel_and_byte_limits() -> None:
    big = image_bytes(Image.new("L", (2100, 2000)), "PNG")
    with pytest.raises(PayloadTooLarge, match="pixels"):
        prepare_upload(big, **LIMITS)
    with pytest.raises(PayloadTooLarge):
        prepare_upload(image_bytes(render_stub(), "PNG"), max_bytes=1000, max_pixels=10**7)


def test_local_storage_round_trip_and_refuses_foreign_keys(tmp_path: Path) -> None:
    root = tmp_path
    storage = LocalImageStorage(root)
    key = storage.save(b"data", suffix=".jpg")
    assert storage.load(key) == b"data"
    assert (root / key).stat().st_mode & 0o777 == 0o640
    storage.delete(key)
    storage.delete(key)
    with pytest.raises(StoredImageMissing):
        storage.load(key)
    for foreign in ("../../etc/passwd", "/etc/passwd", "ab/cd/../../x.jpg"):
        with pytest.raises(StoredImageMissing):
            storage.load(foreign)
    with pytest.raises(ValueError, match="suffix"):
        storage.save(b"x", suffix=".html")
