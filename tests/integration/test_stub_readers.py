"""The reading engines for real: rapidocr on rendered stubs, Gemini against a local fake
server (request shape, normalisation, malformed answers, errors, timeouts, the fallback)."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stubcollector.adapters.ocr.base import KnownNames
from stubcollector.adapters.ocr.gemini import GeminiFailure, GeminiStubReader
from stubcollector.adapters.ocr.rapid import RapidOcrReader
from tests.integration.gemini_fake import FakeGemini, fake_gemini_server
from tests.support.images import image_bytes, render_stub

BENCH = Path(__file__).resolve().parents[2] / "bench" / "stubs"
REALISTIC = Path(__file__).resolve().parents[2] / "bench" / "stubs_real" / "tune"
STUB_JPEG = image_bytes(render_stub(), "JPEG", quality=90)


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with fake_gemini_server() as fake:
        yield fake


def make_reader(fake: FakeGemini, timeout: int = 5) -> GeminiStubReader:
    return GeminiStubReader(
        api_key="test-key",
        model="gemini-2.5-flash",
        fallback=RapidOcrReader(),
        timeout_seconds=timeout,
        base_url=fake.url,
    )


GOOD_ANSWER = {
    "event_name": {"value": "Ten Tour", "confidence": 0.9},
    "performer": {"value": "Pearl Jam", "confidence": 0.97},
    "venue": {"value": "Madison Square Garden", "confidence": 0.95},
    "city": {"value": "New York", "confidence": 0.9},
    "event_date": {"value": "Sunday, April 19, 2009", "confidence": 0.93},
    "event_time": {"value": "8:00 PM", "confidence": 0.8},
    "section": {"value": "112", "confidence": 0.9},
    "row": {"value": "14", "confidence": 0.9},
    "seat": {"value": "7", "confidence": 0.9},
    "face_value": {"value": "$45.00", "confidence": 0.85},
    "currency": {"value": "usd", "confidence": 0.85},
    "raw_text": "PEARL JAM\nTEN TOUR",
}


def test_gemini_request_shape_and_normalised_answer(gemini: FakeGemini) -> None:
    gemini.behaviour = ("json", GOOD_ANSWER)
    reading = make_reader(gemini).read(STUB_JPEG, "image/jpeg")

    assert len(gemini.requests) == 1
    request = gemini.requests[0]
    assert request["path"].endswith("/models/gemini-2.5-flash:generateContent")
    assert request["headers"]["x-goog-api-key"] == "test-key"
    parts = request["body"]["contents"][0]["parts"]
    inline = parts[0]["inlineData"]
    assert (inline.get("mimeType") or inline.get("mime_type")) == "image/jpeg"
    data = inline["data"]
    assert base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)) == STUB_JPEG
    assert "ticket" in parts[1]["text"]
    config = request["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config.get("responseSchema") or config.get("responseJsonSchema")
    assert schema is not None
    assert "event_date" in json.dumps(schema)

    assert reading.engine == "gemini"
    assert reading.notes is None
    values = {name: field.value for name, field in reading.fields.items()}
    assert values == {
        "event_name": "Ten Tour",
        "performer": "Pearl Jam",
        "venue": "Madison Square Garden",
        "city": "New York",
        "event_date": "2009-04-19",
        "event_time": "20:00",
        "section": "112",
        "row": "14",
        "seat": "7",
        "face_value": "45.00",
        "currency": "USD",
    }
    assert reading.fields["performer"].confidence == 0.97


def test_gemini_nulls_and_unusable_values_are_left_out(gemini: FakeGemini) -> None:
    gemini.behaviour = (
        "json",
        {
            "performer": {"value": "Rammstein", "confidence": 0.9},
            "event_date": {"value": "sometime in autumn", "confidence": 0.2},
            "seat": {"value": None, "confidence": 0},
            "raw_text": "Rammstein",
        },
    )
    reading = make_reader(gemini).read(STUB_JPEG, "image/jpeg")
    assert set(reading.fields) == {"performer"}


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (("json", {"performer": {"value": "X", "confidence": 7}}), "not in the expected form"),
        (("json", ["a", "list"]), "not in the expected form"),
        (("text", ""), "no answer"),
        (("status", 429), "HTTP 429"),
        (("status", 400), "HTTP 400"),
    ],
    ids=["confidence-out-of-range", "wrong-type", "empty", "http-429", "http-400"],
)
def test_unusable_gemini_answers_are_failures(
    gemini: FakeGemini, behaviour: tuple[str, object], reason: str
) -> None:
    gemini.behaviour = behaviour
    with pytest.raises(GeminiFailure, match=reason):
        make_reader(gemini).read_with_gemini(STUB_JPEG, "image/jpeg")
    assert len(gemini.requests) == 1  # one attempt: the fallback beats Gemini's back-off


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (("text", "{not json"), "not in the expected form"),
        (("status", 503), "HTTP 503"),
        (("hang", 10), "did not answer in time"),
    ],
    ids=["malformed-json", "http-503", "timeout"],
)
def test_gemini_failures_fall_back_to_the_offline_engine(
    gemini: FakeGemini, behaviour: tuple[str, object], reason: str
) -> None:
    gemini.behaviour = behaviour
    reading = make_reader(gemini, timeout=1).read(STUB_JPEG, "image/jpeg")
    assert reading.engine == "rapidocr"
    assert reading.notes is not None
    assert reason in reading.notes
    assert "offline" in reading.notes
    # The fallback really read the stub.
    assert reading.fields["event_date"].value == "2009-04-19"
    assert len(gemini.requests) == 1


def test_gemini_unreachable_falls_back() -> None:
    with fake_gemini_server() as fake:
        url = fake.url
    reader = GeminiStubReader(
        api_key="k", model="m", fallback=RapidOcrReader(), timeout_seconds=2, base_url=url
    )
    reading = reader.read(STUB_JPEG, "image/jpeg")
    assert reading.engine == "rapidocr"
    assert "Gemini" in (reading.notes or "")


def test_rapidocr_reads_a_rendered_stub() -> None:
    reading = RapidOcrReader().read(STUB_JPEG, "image/jpeg")
    assert reading.engine == "rapidocr"
    assert "PEARL JAM" in reading.raw_text
    values = {name: field.value for name, field in reading.fields.items()}
    assert values["performer"] == "PEARL JAM"
    assert values["event_name"] == "TEN TOUR"
    assert (values["section"], values["row"], values["seat"]) == ("112", "14", "7")
    assert all(0 < field.confidence <= 1 for field in reading.fields.values())


def test_rapidocr_on_a_blank_image_finds_nothing() -> None:
    from PIL import Image

    reading = RapidOcrReader().read(image_bytes(Image.new("RGB", (300, 200), "white")), "image/png")
    assert reading.fields == {}
    assert reading.notes == "no text found"


def test_rapidocr_ships_its_models_in_the_wheel() -> None:
    """Nothing is downloaded at run time: the default models are inside the package."""
    spec = importlib.util.find_spec("rapidocr")
    assert spec is not None
    assert spec.origin is not None
    models = Path(spec.origin).parent / "models"
    onnx = sorted(path.name for path in models.glob("*.onnx"))
    assert any("det" in name for name in onnx)
    assert any("rec" in name for name in onnx)
    assert any("cls" in name for name in onnx)


def _realistic(name: str) -> bytes:
    return (REALISTIC / name).read_bytes()


def test_rapidocr_reads_a_small_eventim_photo_past_the_sponsor_logo() -> None:
    """A 654 x 329 px tilted photo: a radio logo larger than the act, labels in one column
    and values in the next, the venue above its street address, a tear-off part."""
    reading = RapidOcrReader().read(_realistic("001-de-eventim.jpg"), "image/jpeg")
    values = {name: field.value for name, field in reading.fields.items()}
    assert "Antenne Bayern" in reading.raw_text
    assert values["performer"] == "PAUL McCARTNEY"
    assert (values["venue"], values["city"]) == ("Olympiahalle", "München")
    assert (values["event_date"], values["event_time"]) == ("2007-01-15", "19:30")
    assert (values["section"], values["row"], values["seat"]) == ("214", "21", "20")
    assert (values["face_value"], values["currency"]) == ("89.50", "EUR")


def test_rapidocr_reads_a_ticketmaster_table_and_knows_a_confirmed_venue() -> None:
    """Label row over value row (SECTION/AISLE, ROW/BOX, SEAT, PRICE); a radio logo above
    the act. The venue has no venue word: unsure alone, read once owners confirmed it."""
    image = _realistic("006-us-ticketmaster.jpg")
    reader = RapidOcrReader()
    values = {name: field.value for name, field in reader.read(image, "image/jpeg").fields.items()}
    assert values["performer"] == "BRUCE SPRINGSTEEN"
    assert (values["section"], values["row"], values["seat"]) == ("227", "22", "21")
    assert values["face_value"] == "45.00"
    assert (values["event_date"], values["event_time"]) == ("1992-07-20", "19:30")
    assert "venue" not in values

    known = KnownNames(performers=("Bruce Springsteen",), venues=("The Spectrum",))
    reading = reader.read(image, "image/jpeg", known)
    assert reading.fields["venue"].value == "The Spectrum"
    assert reading.fields["performer"].value == "Bruce Springsteen"
    assert reading.fields["performer"].confidence >= 0.9
