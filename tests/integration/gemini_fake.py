"""A local HTTP server answering ``models/<model>:generateContent`` like Gemini, for the
Gemini stub reader's tests (``test_stub_readers.py``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
