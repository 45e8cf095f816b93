"""The crafted-file catalogue (``tests/support/crafted_files.py``) against
``POST /api/stubs/upload``.

For every hostile or malformed file: the documented status code; on refusal nothing in the
upload folder and no stub row; on acceptance a re-encoded image without metadata or
trailing payload, stored under a random name inside the upload folder, and served back
with the stored image type and ``nosniff``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import Stub, User
from tests.support.clients import AuthActions
from tests.support.crafted_files import HTML_PAYLOAD, CraftedFile, catalogue
from tests.support.doubles import DeferredJobQueue
from tests.support.factories import UserFactory

MAX_UPLOAD_BYTES = 300_000
CATALOGUE = catalogue(MAX_UPLOAD_BYTES)
# What storage names files: random hex, the stored type's suffix (adapters/storage/local.py).
RANDOM_NAME = re.compile(r"^[0-9a-f]{16,}(?:[._-][0-9a-z]+)*\.(png|jpg)$")


@pytest.fixture
def upload_root(tmp_path: Path) -> Path:
    # A nested folder, so a file escaping it would land in tmp_path where we can see it.
    return tmp_path / "instance" / "uploads"


@pytest.fixture
def upload_app(app: Flask, make_app: Any, upload_root: Path) -> Iterator[Flask]:
    built: Flask = make_app(upload_folder=upload_root, max_upload_bytes=MAX_UPLOAD_BYTES)
    container(built).jobs = DeferredJobQueue(built)
    yield built
    db.session.remove()


@pytest.fixture
def uploader(upload_app: Flask) -> tuple[FlaskClient, User]:
    user = UserFactory.create()
    client = upload_app.test_client()
    assert AuthActions(client).login(user.username).status_code == 200
    return client, user


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def post(client: FlaskClient, crafted: CraftedFile) -> Any:
    return client.post(
        "/api/stubs/upload",
        data={"image": (io.BytesIO(crafted.content), crafted.filename, crafted.content_type)},
        headers={"X-Requested-With": "XMLHttpRequest"},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("crafted", CATALOGUE, ids=lambda crafted: crafted.label)
def test_crafted_upload(
    upload_app: Flask,
    uploader: tuple[FlaskClient, User],
    upload_root: Path,
    tmp_path: Path,
    crafted: CraftedFile,
) -> None:
    client, user = uploader
    response = post(client, crafted)
    assert response.status_code in crafted.expected, (
        f"{crafted.label}: {response.status_code} {response.get_data(as_text=True)[:200]}"
    )
    assert response.json["status"] == ("success" if response.status_code == 201 else "error")
    # Nothing ever lands outside the upload folder, whatever the client named the file.
    outside = [path for path in files_under(tmp_path) if upload_root not in path.parents]
    assert not outside, outside
    stored = files_under(upload_root)
    db.session.expire_all()
    stubs = db.session.query(Stub).filter_by(owner_id=user.id).all()
    if response.status_code != 201:
        assert stored == [], f"{crafted.label}: refused but stored {stored}"
        assert stubs == []
        return

    assert len(stubs) == 1
    assert len(stored) == 2, stored  # the image and its thumbnail
    for path in stored:
        assert RANDOM_NAME.match(path.name), path.name
        assert Path(crafted.filename.replace("\\", "/")).stem not in path.name
        data = path.read_bytes()
        assert HTML_PAYLOAD not in data
        assert b"<script" not in data
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format in ("PNG", "JPEG")
            assert not image.getexif(), f"{crafted.label}: EXIF kept in {path.name}"
            assert "exif" not in image.info
            assert "xmp" not in image.info

    stub_id = response.json["stub"]["id"]
    for kind in ("image", "thumbnail"):
        served = client.get(f"/api/stubs/{stub_id}/{kind}")
        assert served.status_code == 200
        assert served.mimetype in ("image/png", "image/jpeg")
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert crafted.filename not in served.headers["Content-Disposition"]
        with Image.open(io.BytesIO(served.data)) as image:
            assert Image.MIME[image.format or ""] == served.mimetype


def test_the_catalogue_covers_the_issue(upload_app: Flask) -> None:
    labels = " ".join(crafted.label for crafted in CATALOGUE)
    for needed in ("polyglot", "huge", "zero bytes", "named .png", "traversal", "truncated"):
        assert needed in labels
