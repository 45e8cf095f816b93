"""Test helpers for the collection: real images, a job queue the test drives, a fake Gemini."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flask import Flask
from PIL import Image, ImageDraw, ImageFont

from stubcollector.adapters.jobs import registered_job

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
STUB_LINES = (
    "PEARL JAM",
    "TEN TOUR",
    "MADISON SQUARE GARDEN, NEW YORK",
    "SUN APR 19 2009 8:00 PM",
    "SEC 112 ROW 14 SEAT 7",
    "PRICE $45.00",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / "DejaVuSans-Bold.ttf"
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def render_stub(
    lines: tuple[str, ...] = STUB_LINES, *, size: tuple[int, int] = (900, 420)
) -> Image.Image:
    """A clean printed stub: big act name, then one fact per line."""
    image = Image.new("RGB", size, (250, 246, 235))
    draw = ImageDraw.Draw(image)
    y = 24
    for number, line in enumerate(lines):
        font = _font(52 if number == 0 else 30)
        draw.text((32, y), line, font=font, fill=(20, 20, 20))
        y += 72 if number == 0 else 50
    return image


def image_bytes(image: Image.Image, fmt: str = "PNG", **save: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def jpeg_with_gps(image: Image.Image, *, orientation: int | None = None) -> bytes:
    """A JPEG carrying camera EXIF with a GPS position (and optionally an orientation)."""
    exif = Image.Exif()
    exif[0x010F] = "StubCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    return image_bytes(image, "JPEG", exif=exif, quality=90)


class DeferredJobQueue:
    """Records jobs instead of running them, so a test sees the state before the reading."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self.queued: list[tuple[str, tuple[Any, ...]]] = []

    def enqueue(self, name: str, *args: Any) -> None:
        registered_job(name)
        # What a Redis queue would do to the arguments: they must survive JSON.
        self.queued.append((name, tuple(json.loads(json.dumps(list(args))))))

    def enqueue_many(self, name: str, calls: Sequence[tuple[Any, ...]]) -> None:
        for args in calls:
            self.enqueue(name, *args)

    def enqueue_unless_queued(self, name: str) -> None:
        if (name, ()) not in self.queued:
            self.enqueue(name)

    def run_all(self) -> None:
        queued, self.queued = self.queued, []
        for name, args in queued:
            with self._app.app_context():
                registered_job(name)(*args)

    def shutdown(self) -> None:
        self.queued.clear()


@dataclass
class FakeGemini:
    """A local HTTP server answering ``models/<model>:generateContent`` like Gemini."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    # What the next requests get: ("json", answer-dict), ("text", raw text), ("status", code)
    # or ("hang", seconds).
    behaviour: tuple[str, Any] = ("json", {})
    release: threading.Event = field(default_factory=threading.Event)


def gemini_body(text: str) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 20},
    }


@contextmanager
def fake_gemini_server() -> Iterator[FakeGemini]:
    fake = FakeGemini(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "body": body}
            )
            kind, value = fake.behaviour
            if kind == "hang":
                fake.release.wait(value)
                kind, value = "json", {}
            if kind == "status":
                payload = json.dumps(
                    {"error": {"code": value, "message": "fake failure", "status": "UNAVAILABLE"}}
                ).encode()
                self._send(value, payload)
                return
            text = json.dumps(value) if kind == "json" else value
            self._send(200, json.dumps(gemini_body(text)).encode())

        def _send(self, status: int, payload: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
