"""The crafted upload files are what they claim to be (checked with Pillow)."""

from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image, UnidentifiedImageError

from tests.support import crafted_files as crafted

LIMIT_PIXELS = 40_000_000


def open_image(content: bytes) -> Image.Image:
    return Image.open(io.BytesIO(content))


@pytest.fixture
def pixel_limit() -> object:
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = LIMIT_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = previous


@pytest.mark.parametrize(("generator", "kind"), [(crafted.png, "PNG"), (crafted.jpeg, "JPEG")])
def test_valid_images_decode(generator: object, kind: str) -> None:
    image = open_image(generator())  # type: ignore[operator]
    assert image.format == kind
    image.load()


def test_jpeg_carries_gps_and_camera_exif() -> None:
    image = open_image(crafted.jpeg_with_gps())
    exif = image.getexif()
    assert exif[crafted.EXIF_MAKE] == "StubCam"
    gps = exif.get_ifd(crafted.GPS_IFD)
    assert gps[1] == "N"
    assert [float(part) for part in gps[2]] == [52.0, 30.0, 5.0]


def test_huge_declared_size_is_a_small_file_claiming_ten_gigapixels(pixel_limit: object) -> None:
    content = crafted.png_with_huge_declared_size()
    assert len(content) < 200
    with pytest.raises(Image.DecompressionBombError):
        open_image(content)


def test_decompression_bomb_is_small_but_decodes_to_144_megapixels(pixel_limit: object) -> None:
    content = crafted.decompression_bomb_png()
    assert len(content) < 100_000
    with pytest.raises(Image.DecompressionBombError):
        open_image(content)
    Image.MAX_IMAGE_PIXELS = None
    image = open_image(content)
    assert image.size == (12_000, 12_000)
    small = open_image(crafted.decompression_bomb_png(side=64))
    small.load()  # the construction is a valid PNG, not just a header


def test_polyglot_is_a_png_and_carries_html() -> None:
    content = crafted.polyglot_png_html()
    image = open_image(content)
    assert image.format == "PNG"
    image.load()
    assert content.endswith(crafted.HTML_PAYLOAD)
    assert content.count(b"<script>") == 2


@pytest.mark.parametrize("generator", [crafted.truncated_png, crafted.truncated_jpeg])
def test_truncated_images_start_right_but_cannot_be_decoded(generator: object) -> None:
    content = generator()  # type: ignore[operator]
    image = open_image(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OSError, match=r"(?i)truncated|broken"):
            image.load()


@pytest.mark.parametrize(
    "content",
    [crafted.svg_with_script(), crafted.text_file(), b""],
    ids=["svg", "text", "empty"],
)
def test_non_images_are_not_identified(content: bytes) -> None:
    with pytest.raises(UnidentifiedImageError):
        open_image(content)


def test_gif_is_a_gif() -> None:
    assert open_image(crafted.gif()).format == "GIF"


def test_oversized_is_exactly_the_size_asked() -> None:
    content = crafted.oversized(2048)
    assert len(content) == 2048
    assert content.startswith(crafted.PNG_SIGNATURE)


def test_traversal_names_try_to_leave_the_folder() -> None:
    for name in crafted.TRAVERSAL_NAMES:
        assert ".." in name or name.startswith("/") or "\x00" in name or "%2e" in name


def test_catalogue_is_complete_and_labelled_uniquely() -> None:
    items = crafted.catalogue(max_upload_bytes=4096)
    labels = [item.label for item in items]
    assert len(labels) == len(set(labels))
    assert all(item.expected for item in items)
    assert len(next(item for item in items if item.label == "too many bytes").content) == 4097
