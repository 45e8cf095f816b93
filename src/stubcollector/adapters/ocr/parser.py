"""Turn the text printed on a ticket stub into fields. Pure: text in, fields out.

OCR gives lines (with a confidence and the height of the printed text); stubs print the
same facts in many national forms. The parser knows those forms:

* dates: ``SUN APR 19 2009``, ``April 19, 2009``, ``04/19/2009``, ``29.10.2017``,
  ``Sa. 29.09.17``, ``29. Oktober 2017``, ``2017-10-29``;
* times: ``8:00PM``, ``7 PM``, ``20:00``, ``20.00 Uhr``, preferring the show over the doors;
* prices: ``$45.00``, ``45,00 €``, ``EUR 69,90``, ``1.234,50 €``, ``DM 45,-``, with a label
  (``PRICE``, ``Preis``) winning over fees;
* seats: ``SEC 112 ROW 14 SEAT 7``, ``Block/Reihe/Platz 42/12/7``, a label row above a value
  row, ``Stehplatz`` / general admission;
* venues by their vocabulary (arena, Halle, Stadion, ...) or a label, with the city split
  off a ``Venue, City`` line or read from the next line.

The normalisers (:func:`normalize_date`, :func:`normalize_price`, ...) are shared with the
Gemini engine and with the validation of what owners type.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import dateparser
from rapidfuzz.distance import Levenshtein

from stubcollector.adapters.ocr.base import FieldValue, KnownNames
from stubcollector.adapters.ocr.layout import (
    OcrLine,
    Word,
    below,
    lines_from_text,
    placed,
    right_of,
    words_of,
)
from stubcollector.adapters.ocr.names import (
    is_organiser,
    looks_like_station,
    match_known,
    without_organisers,
)

__all__ = [
    "FIELD_THRESHOLDS",
    "OcrLine",
    "apply_thresholds",
    "detect_language",
    "lines_from_text",
    "normalize_amount",
    "normalize_currency",
    "normalize_date",
    "normalize_price",
    "normalize_time",
    "parse_stub_text",
]


MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan january januar jän jänner janv janvier enero januari gennaio",
        "feb february februar febr fév fevrier février febrero februari febbraio",
        "mar march märz maerz mär mrz mars marzo maart",
        "apr april avr avril abril aprile",
        "may mai mayo mei maggio",
        "jun june juni juin junio giugno",
        "jul july juli juil juillet julio luglio",
        "aug august août aout agosto augustus",
        "sep sept september septembre septiembre settembre",
        "oct october oktober okt octobre octubre ottobre",
        "nov november novembre noviembre",
        "dec december dezember dez déc décembre diciembre dicembre",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number

WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "mon monday mo montag mo. lun lundi",
        "tue tues tuesday di dienstag mar mardi",
        "wed weds wednesday mi mittwoch mer mercredi",
        "thu thur thurs thursday do donnerstag jeu jeudi",
        "fri friday fr freitag ven vendredi",
        "sat saturday sa samstag sonnabend sam samedi",
        "sun sunday so sonntag dim dimanche",
    )
):
    for _name in _names.split():
        WEEKDAYS.setdefault(_name.rstrip("."), _number)

CURRENCY_MARKS: dict[str, str] = {
    "us$": "USD",
    "usd": "USD",
    "$": "USD",
    "c$": "CAD",
    "cad": "CAD",
    "a$": "AUD",
    "aud": "AUD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "chf": "CHF",
    "sfr": "CHF",
    "sfr.": "CHF",
    "dm": "DEM",
    "ös": "ATS",
    "¥": "JPY",
    "jpy": "JPY",
    "sek": "SEK",
    "nok": "NOK",
    "dkk": "DKK",
}
# Longest first, so "US$" wins over "$" and "SFr." over "Fr.".
_CURRENCY_ALTERNATION = "|".join(
    re.escape(mark) for mark in sorted(CURRENCY_MARKS, key=len, reverse=True)
)
_AMOUNT = r"\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?(?:[.,]-{1,2})?"
_PRICE_CURRENCY_FIRST = re.compile(
    rf"(?<![A-Za-z])(?P<cur>{_CURRENCY_ALTERNATION})\s?(?P<amount>{_AMOUNT})(?![\d%]|[.,]\d)",
    re.IGNORECASE,
)
_PRICE_AMOUNT_FIRST = re.compile(
    rf"(?<![\d.,])(?P<amount>{_AMOUNT})\s?(?P<cur>{_CURRENCY_ALTERNATION})(?![A-Za-z])",
    re.IGNORECASE,
)
_PRICE_LABEL = re.compile(
    r"\b(?:price|face\s*value|ticket\s*price|admission|preis|ticketpreis|kartenpreis|"
    r"eintritt|eintrittspreis|prix|precio|prezzo|total)\b",
    re.IGNORECASE,
)
_PRICE_LABELLED = re.compile(
    rf"{_PRICE_LABEL.pattern}\s*[:=]?\s*(?P<amount>{_AMOUNT})(?![\d%])", re.IGNORECASE
)
_FEE_WORDS = re.compile(
    r"\b(?:fee|fees|tax|charge|chg|conv|service|geb|gebühr|gebühren|vvk-geb|vvk|mwst|"
    r"ust|zzgl|versand|porto|handling|facility)\b",
    re.IGNORECASE,
)

_TIME_COLON = re.compile(
    r"(?<![\d:.])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?!\d)\s*(?P<ampm>[ap]\.?\s?m\.?(?![a-z]))?",
    re.IGNORECASE,
)
_TIME_DOT_UHR = re.compile(
    r"(?<![\d:.,])(?P<h>[01]?\d|2[0-3])\.(?P<m>[0-5]\d)\s*"
    r"(?:uhr\b|h\b|(?P<ampm>[ap]\.?\s?m\.?(?![a-z])))",
    re.IGNORECASE,
)
_TIME_H = re.compile(r"(?<![\d:.,])(?P<h>[01]?\d|2[0-3])h(?P<m>[0-5]\d)(?!\d)", re.IGNORECASE)
_TIME_HOUR_ONLY = re.compile(
    r"(?<![\d:.,])(?P<h>1[0-2]|0?[1-9])\s*(?P<ampm>[ap]\.?\s?m\.?(?![a-z]))|"
    r"(?<![\d:.,])(?P<h24>[01]?\d|2[0-3])\s*uhr\b",
    re.IGNORECASE,
)
_SHOW_WORDS = re.compile(
    r"(?:show|start|starts|begins|beginn|begin|event|time|zeit|konzertbeginn|anpfiff|"
    r"kick-?off|curtain|vorstellung|spielbeginn)\W*$",
    re.IGNORECASE,
)
_DOOR_WORDS = re.compile(
    r"(?:doors?|gates?|einlass|öffnung|open|opens|kasse|abendkasse|saalöffnung)\W*$",
    re.IGNORECASE,
)

_ISO_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)")
_DOTTED_DATE = re.compile(
    r"(?<!\d)(?<!\d\.)(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>(?:19|20)\d{2}|\d{2})(?![\d])"
)
_SLASH_DATE = re.compile(
    r"(?<![\d/])(?P<a>\d{1,2})(?P<sep>[/-])(?P<b>\d{1,2})(?P=sep)(?P<y>(?:19|20)\d{2}|\d{2})(?!\d)"
)
_WORD = r"[^\W\d_]{3,12}"
# Written months in any language: the span is found here, the month read by dateparser.
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|º)?\.?\s*(?:de\s+)?(?P<mon>{_WORD})\.?,?\s+"
    rf"(?:de\s+|del\s+)?(?P<y>(?:19|20)\d{{2}}|'\d{{2}})(?!\d)",
    re.IGNORECASE,
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?P<mon>{_WORD})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    rf"(?P<y>(?:19|20)\d{{2}}|'\d{{2}})(?!\d)",
    re.IGNORECASE,
)
_DATE_EXCLUDE = re.compile(
    r"\b(?:issued|printed|purchased?|order(?:ed)?|bestell\w*|kauf\w*|gedruckt|erstellt|"
    r"verkauf\w*|ausgestellt)\b",
    re.IGNORECASE,
)
_WEEKDAY_TOKEN = re.compile(r"\b([A-Za-zÄÖÜäöü]{2,10})\.?(?=[\s,]|$)")

# Words that show the stub was printed for a German-speaking (day-first) audience.
_GERMAN_HINTS = re.compile(
    r"\b(?:reihe|platz|einlass|beginn|uhr|eintritt|preis|veranstalter|stehplatz|sitzplatz|"
    r"block|rang|eintrittskarte|inkl|gebühr|abendkasse|karte)\b",
    re.IGNORECASE,
)

SECTION_LABELS = (
    "section",
    "sect",
    "sec",
    "block",
    "blk",
    "sektor",
    "sektion",
    "bereich",
    "tribüne",
    "tribuene",
    "rang",
    "stand",
    "level",
    "lvl",
)
ROW_LABELS = ("row", "rw", "reihe", "rh", "fila", "rij", "rg")
SEAT_LABELS = ("seat", "seats", "sitz", "sitzplatz", "platz", "pl", "place", "posto", "stoel")
_LABEL_KIND = dict.fromkeys(SECTION_LABELS, "section")
_LABEL_KIND.update(dict.fromkeys(ROW_LABELS, "row"))
_LABEL_KIND.update(dict.fromkeys(SEAT_LABELS, "seat"))
_LABEL_ALTERNATION = "|".join(sorted(_LABEL_KIND, key=len, reverse=True))
_SEAT_VALUE = r"[A-Z0-9ÄÖÜ](?:[A-Z0-9ÄÖÜ\-]{0,9})"
_INLINE_SEAT = re.compile(
    rf"(?<![A-Za-zÄÖÜäöü])(?P<label>{_LABEL_ALTERNATION})(?![A-Za-zÄÖÜäöü])\.?\s*"
    r"(?:no\.?|nr\.?|#)?\s*[:.#]?\s*"
    rf"(?P<value>{_SEAT_VALUE})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_LABEL_GROUP = re.compile(
    rf"(?<![A-Za-z])(?P<labels>(?:{_LABEL_ALTERNATION})\.?(?:\s*[/|,]\s*(?:{_LABEL_ALTERNATION})\.?)+)"
    rf"\s*[:.]?\s*(?P<values>{_SEAT_VALUE}(?:\s*[/|,]\s*{_SEAT_VALUE})+)?",
    re.IGNORECASE,
)
_GLUED_LABEL = re.compile(
    r"(\d)(?=(?:seat|row|sec|section|reihe|platz|block|sitz)\b)", re.IGNORECASE
)
# "ROWAA", "SEC112": a tear-off seat label whose space the OCR lost.
_GLUED_SEAT_TOKEN = re.compile(r"^(?:sec|sect|row|seat|reihe|platz|block)[A-Z0-9]{1,4}$", re.I)
_GENERAL_ADMISSION = re.compile(
    r"\b(?:general\s*admission|gen\.?\s*adm(?:ission)?\.?|ga|stehplatz|stehplätze|"
    r"stehplatzkarte|freie\s+platzwahl|unreserved|unnummeriert|standing|fosse|"
    r"placement\s+libre|pista|posto\s+unico|staanplaats|staanplaatsen|entrada\s+general)\b",
    re.IGNORECASE,
)

_VENUE_WORDS = re.compile(
    r"(?:\b(?:arena|stadium|stadion|theatre|theater|hall|halle|garden|gardens|center|centre|"
    r"field|park|ballpark|club|ballroom|amphitheatre|amphitheater|pavilion|coliseum|colosseum|"
    r"auditorium|dome|bowl|forum|palladium|philharmonie|philharmonic|konzerthaus|opera|oper|"
    r"opernhaus|tempodrom|bühne|buhne|buehne|festhalle|academy|lounge|church|kirche|messe|hippodrome|"
    r"speedway|casino|apollo|fillmore|roxy|paradiso|zitadelle|gasometer|venue|odeon|"
    r"stadthalle|music\s+hall|sporthalle|sportpalast|velodrom|velodrome)\b|"
    r"\w{3,}(?:halle|stadion|stadium|arena|bühne|buhne|buehne|theater|theatre|haus|park|"
    r"forum|center|centre|garden|field|hall)\b)",
    re.IGNORECASE,
)
_VENUE_LABEL = re.compile(
    r"^\s*(?:venue|ort|veranstaltungsort|location|spielstätte|spielort|lieu)\s*[:.]\s*(?P<v>.+)$",
    re.IGNORECASE,
)
_US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "ON",
        "QC",
        "BC",
        "AB",
    ]
)
_CITY_STATE = re.compile(r"^(?P<city>[A-Za-z][A-Za-z .'\-]{1,40}?),?\s+(?P<state>[A-Z]{2})\.?$")
_POSTCODE_CITY = re.compile(r"^(?:D-|A-|CH-)?\d{4,5}\s+(?P<city>[A-ZÄÖÜ][\wÄÖÜäöüß .\-]{1,40})$")
KNOWN_CITIES = (
    "New York",
    "Los Angeles",
    "Chicago",
    "Houston",
    "Philadelphia",
    "Phoenix",
    "San Francisco",
    "San Diego",
    "Seattle",
    "Boston",
    "Atlanta",
    "Miami",
    "Denver",
    "Detroit",
    "Dallas",
    "Austin",
    "Nashville",
    "Las Vegas",
    "Portland",
    "Minneapolis",
    "Cleveland",
    "Toronto",
    "Montreal",
    "Vancouver",
    "London",
    "Manchester",
    "Glasgow",
    "Dublin",
    "Berlin",
    "Hamburg",
    "München",
    "Munich",
    "Köln",
    "Cologne",
    "Düsseldorf",
    "Frankfurt",
    "Stuttgart",
    "Leipzig",
    "Dresden",
    "Hannover",
    "Bremen",
    "Dortmund",
    "Essen",
    "Nürnberg",
    "Mannheim",
    "Oberhausen",
    "Gelsenkirchen",
    "Wien",
    "Vienna",
    "Zürich",
    "Zurich",
    "Basel",
    "Bern",
    "Amsterdam",
    "Rotterdam",
    "Paris",
    "Brussels",
    "Brüssel",
    "Copenhagen",
    "Stockholm",
    "Oslo",
    "Madrid",
    "Barcelona",
    "Milano",
    "Milan",
    "Rome",
    "Roma",
    "Prague",
    "Prag",
    "Warsaw",
    "Tokyo",
    "Sydney",
    "Melbourne",
)
_KNOWN_CITY_AT_END = re.compile(
    r"[\s,\-\u2013·|]+(?P<city>" + "|".join(re.escape(c) for c in KNOWN_CITIES) + r")"
    r"(?:,?\s+(?P<state>[A-Z]{2}))?\.?$",
    re.IGNORECASE,
)
_KNOWN_CITY_ALONE = re.compile(
    r"^(?P<city>" + "|".join(re.escape(c) for c in KNOWN_CITIES) + r")(?:,?\s+[A-Z]{2})?$",
    re.IGNORECASE,
)

_BOILERPLATE = re.compile(
    r"\b(?:presents?|präsentiert|praesentiert|present|admit|ticket|tickets|eintrittskarte|"
    r"(?:no\s*)?refunds?|exchanges?|rückgabe|umtausch|rain\s*or\s*shine|veranstalter|promoter|www|http|"
    r"\.com|\.de|inkl|incl|including|subject|conditions|bedingungen|agb|no\s+cameras|"
    r"adult|erwachsene|erwachsener|ermäßigt|ermaessigt|child|kind|student|valid|gültig|"
    r"barcode|order|bestell|keep\s+this|aufbewahren|nicht\s+übertragbar|non-transferable|"
    r"abendkasse|vorverkauf|mwst|gebühr|service|hotline|tel\.?|phone|info|"
    # Ticket sellers print their name bigger than some acts.
    r"ticketmaster|ticketron|eventim|cts|ticketcorner|reservix|adticket|ticketline|axs|"
    r"stubhub|seetickets|see\s+tickets|live\s+nation|livenation|aeg|ticketweb|etix|"
    # The competition is printed above the fixture; the fixture is the event.
    r"bundesliga|liga|league|nfl|nba|mlb|nhl|mls|spieltag|regular\s+season)\b",
    re.IGNORECASE,
)
_EVENT_WORDS = re.compile(
    r"\S\s[-\u2013:]\s\S|\b(?:tour|tournee|tournée|live|concert|konzert|festival|world|night|show|"
    r"in\s+concert|vs\.?|v\.|versus|gegen|game|match|spiel|final|finale|cup|pokal|"
    r"anniversary|jubiläum|farewell|abschied|revue|musical|opera|gala|season|saison|"
    r"open\s+air|unplugged|acoustic|akustik|experience)\b",
    re.IGNORECASE,
)


def parse_stub_text(
    lines: Sequence[OcrLine], known: KnownNames | None = None
) -> dict[str, FieldValue]:
    """Every field the printed ``lines`` reveal, with a confidence from 0 to 1.

    ``known``: performers and venues already in the catalogue; a line that reads as one of
    them is a strong candidate and takes the known spelling. Nothing is left out here for
    being unsure: the reader drops fields below their thresholds (:func:`apply_thresholds`).
    """
    text = "\n".join(_clean(line.text) for line in lines)
    language = detect_language(text)
    cleaned = [
        replace(line, text=_fix_accents(_clean(line.text), language))
        for line in placed(lines)
        if _clean(line.text)
    ]
    text = "\n".join(line.text for line in cleaned)
    day_first = language != "en" or bool(_GERMAN_HINTS.search(text)) or "€" in text
    words = words_of(cleaned)
    found: dict[str, FieldValue] = {}
    used: set[int] = set()

    _put(found, "event_date", _find_date(cleaned, day_first, language, used))
    _put(found, "event_time", _find_time(cleaned, used))
    price = _find_price(cleaned, words, used)
    if price is not None:
        amount, currency = price
        found["face_value"] = amount
        if currency is not None:
            found["currency"] = currency
    for name, value in _find_seating(cleaned, words, language, used).items():
        found[name] = value
    venue, city = _find_venue(cleaned, used, known)
    _put(found, "venue", venue)
    _put(found, "city", city)
    performer, event = _find_act(cleaned, used, known)
    _put(found, "performer", performer)
    _put(found, "event_name", event)
    return found


# The confidence below which a field is left empty for the owner: a wrong value costs more
# than an empty one (the owner must notice it). Calibrated on bench/stubs_real/tune with
# ``bench/evaluate_reader.py --calibrate`` (a wrong value counted as three empty ones);
# see docs/PERFORMANCE.md.
FIELD_THRESHOLDS: dict[str, float] = {
    "event_name": 0.45,
    "performer": 0.6,
    "venue": 0.3,
    "city": 0.3,
    "event_date": 0.3,
    "event_time": 0.3,
    "section": 0.75,
    "row": 0.3,
    "seat": 0.3,
    "face_value": 0.3,
    "currency": 0.3,
}
# Where the calibration found no threshold that helps (every value it kept was right, or
# dropping the unsure ones lost more right values than wrong ones), the floor is 0.3: below
# that a value is a guess whatever the set says.


def apply_thresholds(
    fields: dict[str, FieldValue], thresholds: Mapping[str, float] | None = None
) -> dict[str, FieldValue]:
    """Only the fields read surely enough; a currency goes with its amount."""
    limits = FIELD_THRESHOLDS if thresholds is None else thresholds
    kept = {
        name: value for name, value in fields.items() if value.confidence >= limits.get(name, 0.0)
    }
    if "face_value" not in kept:
        kept.pop("currency", None)
    return kept


def _put(found: dict[str, FieldValue], name: str, value: FieldValue | None) -> None:
    if value is not None:
        found[name] = value


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()
    # Spaces OCR tends to lose, and its favourite confusion in month names ("0CT").
    text = _GLUED_YEAR_TIME.sub(r"\1 ", text)
    text = _GLUED_WORD_YEAR.sub(" ", text)
    text = _GLUED_MONTH_DAY_YEAR.sub(r"\1 \2 \3", text)
    return _ZERO_FOR_O.sub("O", text)


_GLUED_YEAR_TIME = re.compile(r"(?<=[/.\-])((?:19|20)\d{2})(?=\d{1,2}:\d{2})")
_GLUED_WORD_YEAR = re.compile(r"(?<=[A-Za-zäöü])(?=(?:19|20)\d{2}\b)")
# "APR252009": a month, day and year whose spaces the OCR lost.
_GLUED_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3})(\d{1,2})((?:19|20)\d{2})\b")
_ZERO_FOR_O = re.compile(r"\b0(?=[A-Z]{2}\b)")


def _score(base: float, line: OcrLine) -> float:
    return round(max(0.0, min(1.0, base * line.confidence)), 3)


# --- language and accents -------------------------------------------------------------------

_LANGUAGE_WORDS = {
    "de": r"reihe|platz|sitzplatz|sitz|einlass|beginn|uhr|preis|veranstalter|stehplatz|eintritt|"
    r"inkl|gebühren?|vvk|tribüne|parkett|innenraum|eingang|rang|bereich|ermäßigt|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|januar|februar|märz|mai|"
    r"juni|juli|oktober|dezember",
    "fr": r"bloc|place|prix|fosse|porte|ouverture|tarif|placement|libre|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|janvier|février|mars|avril|juin|"
    r"juillet|août|septembre|octobre|novembre|décembre",
    "es": r"fila|asiento|sector|precio|pista|puerta|apertura|entrada|"
    r"lunes|martes|miércoles|jueves|viernes|sábado|domingo|enero|febrero|marzo|abril|mayo|"
    r"junio|julio|agosto|septiembre|octubre|noviembre|diciembre",
    "it": r"settore|posto|prezzo|ingresso|ore|unico|"
    r"lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|gennaio|febbraio|marzo|"
    r"aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre",
    "nl": r"vak|rij|stoel|prijs|aanvang|uur|deuren|staanplaats|ingang|"
    r"maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|januari|februari|maart|"
    r"mei|juni|juli|augustus|oktober",
    "en": r"sec|section|row|seat|price|admission|doors|admit|one|pm|am|the|and|no|refunds|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun|"
    r"january|february|march|april|june|july|august|september|october|november|december",
}
_LANGUAGE_PATTERNS = {
    language: re.compile(rf"(?<![^\W\d_])(?:{words})(?![^\W\d_])", re.IGNORECASE)
    for language, words in _LANGUAGE_WORDS.items()
}
# The accented letters each language prints; any other accent on a letter is the OCR's.
_ACCENTS = {
    "de": "äöüßé",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "es": "áéíóúñü",
    "it": "àèéìíîòóù",
    "nl": "éëïöüèáó",
    "en": "",
}


def detect_language(text: str) -> str:
    """The stub's language by its label and calendar words (``en`` when nothing else)."""
    hits = {lang: len(pattern.findall(text)) for lang, pattern in _LANGUAGE_PATTERNS.items()}
    # English words are short and common on every stub; they win only without another.
    hits["en"] = hits["en"] // 3
    best = max(hits, key=lambda lang: hits[lang])
    return best if hits[best] > 0 else "en"


def _fix_accents(text: str, language: str) -> str:
    """Drop accents the stub's language does not use ("CÁRDINALS" on a US stub)."""
    allowed = _ACCENTS[language]
    out = []
    for word in re.split(r"(\s+)", text):
        if word.isascii():
            out.append(word)
            continue
        # On English stubs an accent is kept only in mixed case (Beyoncé, Mötley Crüe):
        # capitals the recogniser decorates are its favourite invention.
        keep = allowed or ("éöüë" if not word.isupper() else "")
        out.append("".join(ch if ch.lower() in keep else _strip_accent(ch) for ch in word))
    return "".join(out)


def _strip_accent(ch: str) -> str:
    if ch.isascii() or not ch.isalpha():
        return ch
    base = unicodedata.normalize("NFKD", ch)[0]
    return base if base.isascii() else ch


# --- dates ----------------------------------------------------------------------------------


def expand_year(raw: str) -> int:
    """``'09``/``09`` → 2009, ``75`` → 1975 (stubs span the 1950s to today)."""
    digits = raw.lstrip("'")
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 50 else 1900
    return year


def _make_date(year: int, month: int, day: int) -> date | None:
    if not 1900 <= year <= 2099:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _weekday_on(text: str) -> int | None:
    for token in _WEEKDAY_TOKEN.findall(text):
        number = WEEKDAYS.get(token.lower())
        if number is not None and token.lower() not in MONTHS:
            return number
    return None


def _dates_in(
    text: str, day_first: bool, languages: Sequence[str] = ("en",)
) -> list[tuple[int, date, float]]:
    """(position, date, base confidence) for every date form found in ``text``."""
    found: list[tuple[int, date, float]] = []
    for match in _ISO_DATE.finditer(text):
        parsed = _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
        if parsed:
            found.append((match.start(), parsed, 0.95))
    for match in _DOTTED_DATE.finditer(text):
        parsed = _make_date(expand_year(match["y"]), int(match["m"]), int(match["d"]))
        if parsed:
            found.append((match.start(), parsed, 0.92))
    for match in _SLASH_DATE.finditer(text):
        a, b, year = int(match["a"]), int(match["b"]), expand_year(match["y"])
        if a > 12:
            candidates = [(_make_date(year, b, a), 0.9)]
        elif b > 12:
            candidates = [(_make_date(year, a, b), 0.9)]
        else:
            # Both readings are valid dates: the stub's language decides, and a printed
            # weekday (if any) settles it.
            us, eu = _make_date(year, a, b), _make_date(year, b, a)
            weekday = _weekday_on(text)
            if weekday is not None and us and eu and us.weekday() != eu.weekday():
                candidates = [(us if us.weekday() == weekday else eu, 0.9)]
            else:
                candidates = [(eu, 0.65) if day_first else (us, 0.65)]
        for parsed, confidence in candidates:
            if parsed:
                found.append((match.start(), parsed, confidence))
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        for match in pattern.finditer(text):
            month = month_number(match["mon"], languages)
            if month is None:
                continue
            parsed = _make_date(expand_year(match["y"]), month, int(match["d"]))
            if parsed:
                found.append((match.start(), parsed, 0.95))
    return found


def month_number(name: str, languages: Sequence[str] = ("en",)) -> int | None:
    """``"Okt"``, ``"giugno"``, ``"août"`` → 10, 6, 8: dateparser knows the world's months."""
    return _month_number(name.lower().rstrip("."), tuple(dict.fromkeys((*languages, "en"))))


@lru_cache(maxsize=4096)
def _month_number(name: str, languages: tuple[str, ...]) -> int | None:
    if name in MONTHS:
        return MONTHS[name]
    # A day and year around the word, so the parser must read the word as a month.
    parsed = dateparser.parse(
        f"15 {name} 2001",
        languages=list(languages),
        settings={"STRICT_PARSING": True, "DATE_ORDER": "DMY", "PARSERS": ["absolute-time"]},
    )
    if parsed is None or parsed.year != 2001 or parsed.day != 15:
        return None
    return int(parsed.month)


def _find_date(
    lines: Sequence[OcrLine], day_first: bool, language: str, used: set[int]
) -> FieldValue | None:
    best: tuple[float, int, date] | None = None
    for index, line in enumerate(lines):
        if _DATE_EXCLUDE.search(line.text):
            continue
        for _position, parsed, base in _dates_in(line.text, day_first, (language,)):
            weekday = _weekday_on(line.text)
            if weekday is not None:
                base = min(1.0, base + 0.05) if weekday == parsed.weekday() else base - 0.2
            scored = base * line.confidence
            if best is None or scored > best[0]:
                best = (scored, index, parsed)
    if best is None:
        return None
    used.add(best[1])
    return FieldValue(best[2].isoformat(), round(max(0.0, min(1.0, best[0])), 3))


def normalize_date(raw: str, *, day_first: bool = False) -> str | None:
    """Any printed date form → ``YYYY-MM-DD``, or ``None`` if there is no valid date."""
    text = _clean(raw)
    found = _dates_in(text, day_first, (detect_language(text),))
    if not found:
        return None
    return max(found, key=lambda item: item[2])[1].isoformat()


# --- times ----------------------------------------------------------------------------------


def _to_24h(hour: int, minute: int, ampm: str | None) -> str | None:
    if ampm:
        marker = ampm.lower().replace(".", "").replace(" ", "")
        if not 1 <= hour <= 12:
            return None
        if marker == "pm" and hour != 12:
            hour += 12
        elif marker == "am" and hour == 12:
            hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return f"{hour:02d}:{minute:02d}"


def _times_in(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for match in _TIME_COLON.finditer(text):
        value = _to_24h(int(match["h"]), int(match["m"]), match["ampm"])
        if value:
            found.append((match.start(), value))
    for match in _TIME_DOT_UHR.finditer(text):
        value = _to_24h(int(match["h"]), int(match["m"]), match["ampm"])
        if value:
            found.append((match.start(), value))
    for match in _TIME_H.finditer(text):
        value = _to_24h(int(match["h"]), int(match["m"]), None)
        if value:
            found.append((match.start(), value))
    taken = {position for position, _ in found}
    for match in _TIME_HOUR_ONLY.finditer(text):
        if match.start() in taken:
            continue
        if match["h24"] is not None:
            value = _to_24h(int(match["h24"]), 0, None)
        else:
            value = _to_24h(int(match["h"]), 0, match["ampm"])
        if value:
            found.append((match.start(), value))
    return sorted(found)


def _find_time(lines: Sequence[OcrLine], used: set[int]) -> FieldValue | None:
    best: tuple[float, int, str] | None = None
    for index, line in enumerate(lines):
        for position, value in _times_in(line.text):
            before = line.text[max(0, position - 24) : position]
            if _SHOW_WORDS.search(before):
                base = 0.95
            elif _DOOR_WORDS.search(before):
                base = 0.4
            else:
                base = 0.8
            if best is None or base > best[0]:
                best = (base, index, value)
    if best is None:
        return None
    used.add(best[1])
    return FieldValue(best[2], _score(best[0], lines[best[1]]))


def normalize_time(raw: str) -> str | None:
    """``8:00 PM``, ``20.00 Uhr``, ``20:00`` → ``HH:MM``; ``None`` if no time is found."""
    found = _times_in(_clean(raw))
    return found[0][1] if found else None


# --- prices ---------------------------------------------------------------------------------


def normalize_amount(raw: str) -> str | None:
    """``1.234,50`` / ``1,234.50`` / ``45,-`` / ``69,9`` → ``"1234.50"`` style decimal string."""
    text = raw.strip().replace(" ", "").replace("'", "")
    text = re.sub(r"[.,]-{1,2}$", "", text)
    if not text or not re.fullmatch(r"[\d.,]+", text):
        return None
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    decimal_index = max(last_dot, last_comma)
    if decimal_index >= 0:
        tail = text[decimal_index + 1 :]
        separators = {ch for ch in text if ch in ".,"}
        if len(tail) == 3 and len(separators) == 1:
            # "1.234" or "1,234": a thousands separator, not a decimal point.
            decimal_index = -1
    if decimal_index >= 0:
        whole = re.sub(r"[.,]", "", text[:decimal_index])
        fraction = text[decimal_index + 1 :]
    else:
        whole, fraction = re.sub(r"[.,]", "", text), ""
    if not whole:
        whole = "0"
    try:
        amount = Decimal(f"{whole}.{fraction or '0'}")
    except InvalidOperation:
        return None
    if amount > Decimal("1000000"):
        return None
    return f"{amount.quantize(Decimal('0.01'))}"


def normalize_currency(raw: str) -> str | None:
    """``€``/``EUR``/``euro`` → ``EUR``, ``$`` → ``USD``; ISO codes pass through."""
    mark = raw.strip().lower()
    if mark in CURRENCY_MARKS:
        return CURRENCY_MARKS[mark]
    if re.fullmatch(r"[a-z]{3}", mark):
        return mark.upper()
    return None


def normalize_price(raw: str) -> tuple[str, str | None] | None:
    """``"$45.00"`` → ``("45.00", "USD")``; ``"45"`` → ``("45.00", None)``."""
    text = _clean(raw)
    for pattern in (_PRICE_CURRENCY_FIRST, _PRICE_AMOUNT_FIRST):
        match = pattern.search(text)
        if match:
            amount = normalize_amount(match["amount"])
            if amount is not None:
                return amount, normalize_currency(match["cur"])
    amount = normalize_amount(text)
    return (amount, None) if amount is not None else None


_PRICE_WORD = re.compile(
    r"^(?:price|admission|adm|preis|ticketpreis|kartenpreis|eintritt|prix|tarif|precio|importe|"
    r"prezzo|prijs|total)$",
    re.IGNORECASE,
)
_BARE_AMOUNT = re.compile(r"^(?P<cur>[$€£])?(?P<amount>\d{1,4}[.,]\d{2})(?P<after>€)?$")


def _currency_of_stub(lines: Sequence[OcrLine]) -> str | None:
    """The one currency the stub prints anywhere, for an amount printed without it."""
    marks = set()
    for line in lines:
        for pattern in (_PRICE_CURRENCY_FIRST, _PRICE_AMOUNT_FIRST):
            for match in pattern.finditer(line.text):
                code = normalize_currency(match["cur"])
                if code:
                    marks.add(code)
    return marks.pop() if len(marks) == 1 else None


def _find_price(
    lines: Sequence[OcrLine], words: Sequence[Word], used: set[int]
) -> tuple[FieldValue, FieldValue | None] | None:
    candidates: list[tuple[float, int, int, str, str | None]] = []
    # "PRICE" / "ADMISSION" over (or before) an amount in its own box: a ticket table.
    for head in words:
        if not _PRICE_WORD.match(head.text.strip(":.")):
            continue
        for word in (*right_of(head, words)[:1], *below(head, words)[:1]):
            match = _BARE_AMOUNT.match(word.text.strip(",;"))
            if match is None:
                continue
            amount = normalize_amount(match["amount"])
            if amount is not None:
                mark = match["cur"] or match["after"]
                currency = normalize_currency(mark) if mark else _currency_of_stub(lines)
                candidates.append((0.9, word.line, 0, amount, currency))
    for index, line in enumerate(lines):
        text = line.text
        label = _PRICE_LABEL.search(text)
        fees = [m.start() for m in _FEE_WORDS.finditer(text)]
        for pattern in (_PRICE_CURRENCY_FIRST, _PRICE_AMOUNT_FIRST):
            for match in pattern.finditer(text):
                amount = normalize_amount(match["amount"])
                if amount is None:
                    continue
                base = 0.8
                if label is not None and label.start() < match.start():
                    base += 0.15
                # A fee word shortly before this amount: a fee, not the face value.
                if any(0 <= match.start() - fee <= 24 for fee in fees):
                    base -= 0.45
                candidates.append(
                    (base, index, match.start(), amount, normalize_currency(match["cur"]))
                )
        labelled = _PRICE_LABELLED.search(text)
        if labelled is not None and not any(c[1] == index for c in candidates):
            amount = normalize_amount(labelled["amount"])
            if amount is not None and "." in amount and not _dates_in(text, True):
                candidates.append((0.7, index, labelled.start(), amount, None))
    if not candidates:
        return None
    base, index, _start, amount, currency = max(candidates, key=lambda c: (c[0], -c[1], -c[2]))
    used.add(index)
    confidence = _score(base, lines[index])
    return (
        FieldValue(amount, confidence),
        FieldValue(currency, confidence) if currency else None,
    )


# --- seats ----------------------------------------------------------------------------------

# Labels of a seat in the stubs' languages (``rang`` is a tier in German, a row in French).
_SEAT_LABEL_WORDS = {
    "section": "section sect sec block blk sektor sektion bereich tribüne tribuene stand level "
    "lvl bloc sector settore vak area zone",
    "row": "row rw reihe rh fila rij",
    "seat": "seat seats sitz sitzplatz sitzpl platz pl place posto stoel asiento butaca",
    # Printed like a seat label, but not one of our fields: its value is not a seat.
    "other": "eingang tor gate entrance door puerta porte ingresso ingang aisle box",
}
_LABEL_WORD_KIND = {
    word: kind for kind, words in _SEAT_LABEL_WORDS.items() for word in words.split()
}
_SECTION_NAMES = re.compile(
    r"^(?:innenraum|parkett|unterrang|oberrang|balkon|empore|loge|tribüne|floor|orchestra|"
    r"mezzanine|balcony|mezz|orch|pit|terrace|terrasse|gradinata|platea|tribuna|anfiteatro|"
    r"galleria|palco|balcon|parterre|gradas?|grada|rang|links|rechts|mitte|nord|süd|ost|west)$",
    re.IGNORECASE,
)
_VALUE = re.compile(r"^[A-Z0-9ÄÖÜ]{1,4}$")
_SECTION_VALUE = re.compile(r"^[A-Z0-9ÄÖÜ][A-Z0-9ÄÖÜ\-]{0,5}$")


_COMPOUND_LABEL = re.compile(r"^(section|sec|row|seat)\W?[il1|/]?(?:aisle|box)$")


_GLUED_LABEL_VALUE = re.compile(
    r"^(?P<label>sec|sect|row|seat|reihe|platz|block)(?P<value>\d{1,3}|[A-Z]{1,2}\d{0,2})$",
    re.IGNORECASE,
)


def _label_kind(word: str, language: str) -> str | None:
    token = word.strip(":.,;#").lower()
    compound = _COMPOUND_LABEL.match(token)
    if compound:
        # "SECTION/AISLE", "ROW/BOX" (the slash often lost): the first part names the column.
        token = compound[1]
    elif "/" in token:
        token = token.split("/", 1)[0]
    if token == "rang":  # noqa: S105 - a label word, not a password
        return "row" if language == "fr" else "section"
    return _LABEL_WORD_KIND.get(token)


def _nearest_label_kind(word: str) -> str:
    token = word.strip(":.,;#").lower()
    seat_labels = [label for label, kind in _LABEL_WORD_KIND.items() if kind != "other"]
    label = min(seat_labels, key=lambda label: Levenshtein.distance(token, label))
    return _LABEL_WORD_KIND[label]


def _looks_like_label(word: str, language: str) -> bool:
    """A label, or a label the OCR misread by a letter ("Relhe", "Filn", "RIJ" as "RJ")."""
    if _label_kind(word, language) is not None:
        return True
    token = word.strip(":.,;#").lower()
    if len(token) < 2 or any(ch.isdigit() for ch in token):
        return False
    return any(
        # A letter misread in a longer label, or one dropped from a short one ("RJ").
        (len(label) >= 4 or (len(label) == 3 and len(token) == 2))
        and label[0] == token[0]
        and _LABEL_WORD_KIND[label] != "other"
        and Levenshtein.distance(token, label) <= 1
        for label in _LABEL_WORD_KIND
    )


def _seat_value(kind: str, text: str) -> str | None:
    value = text.strip(":,;#").rstrip(".")
    if not value or _label_kind(value, "en") is not None:
        return None
    if value.lower() in {"no", "nr", "und", "and", "de", "du"}:
        return None
    if kind == "section" and _SECTION_NAMES.match(value):
        return value
    if kind == "section" and _SECTION_VALUE.match(value.upper()):
        # "L4", "214", "C": a block has a digit or is short; a longer word is a misread label.
        if (value.isdigit() and len(value) > 4) or (value.isalpha() and len(value) > 2):
            return None
        return value.upper()
    if kind in ("row", "seat") and _VALUE.match(value.upper()):
        return value.upper()
    return None


def _is_value(token: str) -> bool:
    word = token.lower().rstrip(".")
    if word in _LABEL_KIND or word in {"no", "nr", "und", "and"}:
        return False
    return bool(re.search(r"\d", token)) or len(token) <= 3 or token.isupper()


def _find_seating(
    lines: Sequence[OcrLine], words: Sequence[Word], language: str, used: set[int]
) -> dict[str, FieldValue]:
    """Section, row and seat: from labels paired with values by where they are printed."""
    found: dict[str, FieldValue] = {}

    def put(kind: str, value: str | None, base: float, index: int) -> None:
        if value is None or kind not in ("section", "row", "seat"):
            return
        confidence = _score(base, lines[index])
        if kind not in found or confidence > found[kind].confidence:
            found[kind] = FieldValue(value, confidence)
        used.add(index)

    # OCR drops the space in "ROW 12  SEAT 16" now and then: "ROW 12SEAT 16".
    glued = [replace(line, text=_GLUED_LABEL.sub(r"\1 ", line.text)) for line in lines]
    for index, line in enumerate(glued):
        # "Block/Reihe/Platz 42/12/7" or the labels alone with values on the next line.
        for group in _LABEL_GROUP.finditer(line.text):
            kinds: list[str] = [
                _label_kind(label.strip(), language) or ""
                for label in re.split(r"[/|,]", group["labels"])
            ]
            values: list[str] | None = None
            if group["values"]:
                values = [v.strip() for v in re.split(r"[/|,]", group["values"])]
            elif index + 1 < len(glued):
                values = re.split(r"\s*[/|,]\s*|\s+", glued[index + 1].text.strip())
                if len(values) == len(kinds):
                    used.add(index + 1)
            if values is not None and len(values) == len(kinds):
                for group_kind, value in zip(kinds, values, strict=True):
                    put(group_kind, _seat_value(group_kind, value), 0.9, index)
    paired: set[int] = set()
    for index, line in enumerate(glued):
        # A row of labels ("SECTION  ROW  SEAT") over as many values ("112  14  7").
        tokens = line.text.split()
        under = _next_line(glued, index)
        if len(tokens) < 2 or under is None:
            continue
        row_kinds = [_label_kind(token, language) or "" for token in tokens]
        values = glued[under].text.split()
        if all(row_kinds) and len(values) == len(tokens):
            for row_kind, value in zip(row_kinds, values, strict=True):
                put(row_kind, _seat_value(row_kind, value), 0.85, index)
            used.add(under)
            paired.add(index)
    for head in words_of(glued):
        glued_value = _GLUED_LABEL_VALUE.match(head.text)
        if glued_value and head.text.isupper() and _label_kind(head.text, language) is None:
            # "ROWAA", "SEC112" on a tear-off: label and value without their space.
            glued_kind = _label_kind(glued_value["label"], language) or ""
            put(glued_kind, _seat_value(glued_kind, glued_value["value"]), 0.75, head.line)
            continue
        kind: str | None = _label_kind(head.text, language)
        sure = 1.0
        if kind is None and _looks_like_label(head.text, language):
            kind, sure = _nearest_label_kind(head.text), 0.85
        if head.line in paired:
            continue
        if kind is None or ("/" in head.text.strip("/") and head.text.count("/") > 1):
            continue
        same_line = [w for w in right_of(head, words) if w.line == head.line]
        following = [w for w in same_line if w.position > head.position]
        if following and following[0].text.lower().strip(".:") in {"no", "nr", "#"}:
            following = following[1:]
        if following and not _looks_like_label(following[0].text, language):
            read = _seat_value(kind, following[0].text)
            if kind == "section" and read and len(following) > 1 and _SECTION_NAMES.match(read):
                # "Parkett links", "LOGE 3": a tier and its part.
                extra = following[1].text
                if _label_kind(extra, language) is None and len(extra) <= 6:
                    read = f"{read} {extra}"
            put(kind, read, 0.9 * sure, head.line)
            continue
        if following:
            continue  # the next word is another head: a row of labels, values below
        # The label ends its printed line: its value is in the next column or below it.
        beside = [w for w in right_of(head, words) if w.line != head.line]
        if beside and not _looks_like_label(beside[0].text, language):
            read = _seat_value(kind, beside[0].text)
            if read is not None:
                put(kind, read, 0.85 * sure, head.line)
                used.add(beside[0].line)
                continue
        under_words = below(head, words)
        if kind == "other":
            # "Eingang Nord": the entrance is not a seat, nor is its value anything else.
            for neighbour in (*beside[:1], *under_words[:1]):
                if not _looks_like_label(neighbour.text, language):
                    used.add(neighbour.line)
            continue
        if under_words and not _looks_like_label(under_words[0].text, language):
            read = _seat_value(kind, under_words[0].text)
            if read is not None:
                put(kind, read, 0.8 * sure, head.line)
                used.add(under_words[0].line)
    for index, line in enumerate(lines):
        if not _GENERAL_ADMISSION.search(line.text):
            continue
        if "section" not in found:
            found["section"] = FieldValue("GA", _score(0.85, line))
        if _is_only_admission(line.text):
            used.add(index)
    return found


def _is_only_admission(text: str) -> bool:
    rest = _GENERAL_ADMISSION.sub("", text)
    return not re.sub(r"(?i)\b(?:innenraum|floor|parkett|unterrang|oberrang)\b|\W", "", rest)


# --- venue and city -------------------------------------------------------------------------

_STREET = re.compile(
    r"(?i)(?:[\wäöüß\-]{2,}(?:straße|strasse|str\.|weg|allee|ring|damm|platz|ufer|gasse|chaussee|"
    r"anlage|plaza|road|street|avenue|ave\.?|blvd|boulevard|laan|straat|plein|kade|gracht)"
    r"\s+\d+[a-z]?(?:\s*-\s*\d+)?\b)|"
    r"(?:\b(?:rue|calle|via|viale|piazza|avenida|paseo|am|an\s+der|im)\s+[\w\-' ]+?\s*,?\s*\d+\b)|"
    r"(?:\b\d+\s+[\w ]+?\s(?:street|st\.?|avenue|ave\.?|road|rd\.?|blvd\.?|boulevard|way)\b)"
)
_POSTCODE = re.compile(r"(?<![\d.,:/])(?:D-|A-|CH-|F-)?\d{4,5}\s+[A-ZÄÖÜ][\wäöüß\-]+")
_CITY_AFTER_POSTCODE = re.compile(
    r"(?<![\d.,:/])(?:D-|A-|CH-|F-)?\d{4,5}\s+(?P<city>[A-ZÄÖÜ][\wÄÖÜäöüß\-]+(?: am [A-Z]\w+)?)"
)


def is_address(text: str) -> bool:
    """A street address or a postcode line: where the venue is, not what it is called."""
    if not (_STREET.search(text) or _POSTCODE.search(text)) or _INLINE_SEAT.search(text):
        return False
    # "25 juni 2023 Aanvang": a year before a word is not a postcode.
    return not _dates_in(text, True, ("de", "fr", "es", "it", "nl"))


def _split_city(text: str) -> tuple[str, str | None]:
    """``"Venue, City"``, ``"Venue - City"`` or ``"VENUE NEW YORK NY"`` → (venue, city)."""
    parts = re.split(r"\s*(?:,|\s[-\u2013·|]\s)\s*", text, maxsplit=1)
    if len(parts) == 2 and parts[1] and not _VENUE_WORDS.search(parts[1]):
        venue, city = parts[0].strip(), parts[1]
        if city.strip(" .") in _US_STATES:
            # "WRIGLEY FIELD CHICAGO, IL": the city is what follows the venue's last word.
            words = list(_VENUE_WORDS.finditer(venue))
            known = _KNOWN_CITY_AT_END.search(venue)
            if known and known.start() > 0:
                return venue[: known.start()].strip(), known["city"]
            if words and words[-1].end() < len(venue):
                return venue[: words[-1].end()].strip(), venue[words[-1].end() :].strip()
            return venue, None
        state = _CITY_STATE.match(city)
        if state and state["state"] in _US_STATES:
            city = state["city"].strip()
        city = re.split(r"\s*,\s*", city)[0]
        return venue, city.strip().rstrip(".") or None
    known = _KNOWN_CITY_AT_END.search(text)
    if known and known.start() > 0:
        return text[: known.start()].strip(), known["city"]
    return text, None


def _city_from_line(text: str) -> str | None:
    postcode = _CITY_AFTER_POSTCODE.search(text)
    if postcode:
        return postcode["city"].strip()
    match = _KNOWN_CITY_ALONE.match(text)
    if match:
        return match["city"].strip()
    match = _CITY_STATE.match(text)
    if match and match["state"] in _US_STATES:
        return match["city"].strip()
    return None


def _not_a_name(text: str) -> bool:
    """Lines that are never the act's or the venue's name."""
    if _BOILERPLATE.search(text) or is_organiser(text):
        return True
    if _dates_in(text, True) or _times_in(text):
        return True
    if _PRICE_CURRENCY_FIRST.search(text) or _PRICE_AMOUNT_FIRST.search(text):
        return True
    if _INLINE_SEAT.search(text) or _LABEL_GROUP.search(text) or _GLUED_SEAT_TOKEN.match(text):
        return True
    tokens = text.split()
    if tokens and all(_label_kind(t, "de") or _label_kind(t, "fr") for t in tokens):
        return True
    letters = sum(ch.isalpha() for ch in text)
    return letters < 3 or letters < len(text.replace(" ", "")) * 0.5


def _without_prefix(text: str) -> str:
    return re.sub(r"^(?:at|in|im|@|live\s+(?:at|in|im))\s+", "", text, flags=re.IGNORECASE)


def _venue_from(text: str) -> str:
    """The venue's own name from a line that may go on with its address."""
    text = _without_prefix(text)
    parts = [part.strip() for part in text.split(",")]
    for cut, part in enumerate(parts):
        if cut > 0 and is_address(part):
            return ", ".join(parts[:cut])
    return text


_VENUE_DASH_CITY = re.compile(
    r"^(?P<venue>.+?)\s*[-\u2013·|]\s*(?P<city>[^-\u2013]+,\s*[A-Z]{2}\.?)$"
)


def _find_venue(
    lines: Sequence[OcrLine], used: set[int], known: KnownNames | None
) -> tuple[FieldValue | None, FieldValue | None]:
    candidates: list[tuple[float, int, str]] = []
    typical = statistics.median(line.height for line in lines) if lines else 0.0
    # A name printed over two lines is the act's ("GOLDEN" / "EARRING"), not a venue.
    two_line_names = {
        index for indices, _ in _act_lines(lines, used) if len(indices) > 1 for index in indices
    }
    for index, line in enumerate(lines):
        text = line.text
        labelled = _VENUE_LABEL.match(text)
        if labelled:
            candidates.append((0.9, index, labelled["v"]))
            continue
        if index in used:
            continue
        if known and known.venues:
            for piece in (text, _venue_from(text)):
                match = match_known(piece, known.venues)
                if match is not None:
                    candidates.append((0.8 + 0.15 * match[1], index, match[0]))
                    break
        name = _venue_from(text)
        if not name or is_address(name) or _not_a_name(name):
            continue
        dashed = _VENUE_DASH_CITY.match(name)
        if dashed and _city_from_line(dashed["city"]):
            # "WINTERLAND-SAN FRANCISCO, CA": the venue, a dash and its city.
            candidates.append((0.7, index, f"{dashed['venue']} - {dashed['city']}"))
            continue
        if _city_from_line(name) and not _VENUE_WORDS.search(name):
            continue
        below_line = _next_line(lines, index)
        big = line.height > 1.25 * typical or index in two_line_names
        if _VENUE_WORDS.search(name) and not _EVENT_WORDS.search(name):
            candidates.append((0.85, index, name))
        elif _venue_from(text) != _without_prefix(text) or (
            below_line is not None and is_address(lines[below_line].text)
        ):
            # The line its address follows, on the same line or the next.
            candidates.append((0.75, index, name))
        elif big:
            continue
        elif below_line is not None and _city_from_line(lines[below_line].text):
            candidates.append((0.65, index, name))
        elif _KNOWN_CITY_AT_END.search(name) or re.search(r"\s[-\u2013]\s", name):
            candidates.append((0.55, index, name))
    if not candidates:
        return None, None
    base, index, text = max(candidates, key=lambda c: (c[0], -c[1]))
    used.add(index)
    line = lines[index]
    venue, city = _split_city(text)
    if len(lines[index].text) > len(text):
        # "Olympiahalle, Spiridon-Louis-Ring 21, 80809 München": the city ends the address.
        city = _city_from_line(lines[index].text) or city
    city_value = FieldValue(city, _score(base - 0.1, line)) if city else None
    if city_value is None:
        for offset in (1, 2):
            following = _next_line(lines, index, offset)
            if following is None:
                continue
            next_city = _city_from_line(lines[following].text)
            if next_city:
                city_value = FieldValue(next_city, _score(0.75, lines[following]))
                used.add(following)
                break
    return FieldValue(venue, _score(base, line)), city_value


def _next_line(lines: Sequence[OcrLine], index: int, offset: int = 1) -> int | None:
    """The line printed ``offset`` lines under ``lines[index]`` in its column, if any."""
    line = lines[index]
    under = [
        i
        for i, other in enumerate(lines)
        if other.top > line.centre_y
        and other.top - line.bottom < 2.5 * max(line.height, 1.0) * offset
        and min(other.right, line.right) - max(other.left, line.left) > 0
    ]
    under.sort(key=lambda i: lines[i].top)
    return under[offset - 1] if len(under) >= offset else None


# --- performer and event --------------------------------------------------------------------


def _is_act_candidate(text: str) -> bool:
    if _not_a_name(text) or is_address(text):
        return False
    return not (_is_only_admission(text) or _city_from_line(text))


def _letter_spaced(text: str) -> str:
    """``"U D O  L I N D E N B E R G"`` → ``"UDO LINDENBERG"`` (logo lettering)."""
    tokens = text.split(" ")
    if len(tokens) >= 4 and sum(len(t) == 1 for t in tokens) >= len(tokens) * 0.7:
        return re.sub(r"(?<=\S) (?=\S)", "", re.sub(r" {2,}", "\0", text)).replace("\0", " ")
    return text


def _act_lines(lines: Sequence[OcrLine], used: set[int]) -> list[tuple[list[int], OcrLine]]:
    """Candidate lines, with a name printed over two lines ("HELENE" / "FISCHER") joined."""
    candidates = [
        (index, replace(line, text=_letter_spaced(without_organisers(line.text))))
        for index, line in enumerate(lines)
        if index not in used and _is_act_candidate(without_organisers(line.text))
    ]
    joined: list[tuple[list[int], OcrLine]] = []
    taken: set[int] = set()
    for index, line in candidates:
        if index in taken:
            continue
        indices = [index]
        for other_index, other in candidates:
            if other_index in taken or other_index == index:
                continue
            if (
                len(line.text.split()) == 1
                and len(other.text.split()) <= 2
                and 0.7 * line.height <= other.height <= line.height / 0.7
                and -0.3 * line.height <= other.top - line.bottom < 0.8 * line.height
                and (
                    abs(other.left - line.left) < 1.5 * line.height
                    or abs(other.centre_x - line.centre_x) < 1.5 * line.height
                )
                and other.text.isupper() == line.text.isupper()
            ):
                indices.append(other_index)
                taken.add(other_index)
                line = replace(
                    line,
                    text=f"{line.text} {other.text}",
                    right=max(line.right, other.right),
                    confidence=min(line.confidence, other.confidence),
                )
                break
        joined.append((indices, line))
    return joined


_PRESENTS_ALONE = re.compile(r"(?i)\W*(?:presents?|präsentiert|présente|presenta|presenteert)\W*")


def _act_score(
    line: OcrLine, tallest: float, lines: Sequence[OcrLine], indices: list[int]
) -> float:
    score = line.height / tallest if tallest else 1.0
    if looks_like_station(line.text):
        score *= 0.35
    following = _next_line(lines, indices[-1])
    # "XFM" over "presents": the line above "presents" is the presenter.
    if following is not None and _PRESENTS_ALONE.fullmatch(lines[following].text):
        score *= 0.2
    if _EVENT_WORDS.search(line.text):
        score *= 0.6
    if _VENUE_WORDS.search(line.text):
        score *= 0.4
    if len(line.text.replace(" ", "")) <= 2:
        score *= 0.5
    return score


def _find_act(
    lines: Sequence[OcrLine], used: set[int], known: KnownNames | None
) -> tuple[FieldValue | None, FieldValue | None]:
    candidates = _act_lines(lines, used)
    if not candidates:
        return None, None
    tallest = max(line.height for _, line in candidates)
    scored: list[tuple[float, list[int], OcrLine, str]] = []
    for indices, line in candidates:
        score = _act_score(line, tallest, lines, indices)
        name = line.text
        if known and known.performers:
            match = match_known(line.text, known.performers)
            if match is not None:
                score, name = score + 1.0 * match[1], match[0]
        scored.append((score, indices, line, name))
    acts = [entry for entry in scored if not _EVENT_WORDS.search(entry[2].text) or entry[0] > 1]
    performer = max(acts, key=lambda entry: (entry[0], -entry[1][0])) if acts else None
    performer_value = None
    if performer is not None:
        score, indices, line, name = performer
        rivals = [entry[0] for entry in acts if entry is not performer]
        # A clear winner is sure; a close second (a logo as big as the act) is not.
        margin = 1.0 if not rivals else min(1.0, (score - max(rivals)) / max(score, 0.01))
        base = 0.95 if score > 1 else 0.55 + 0.4 * margin
        performer_value = FieldValue(name, _score(base, line))
        used.update(indices)
    event_value = _find_event(used, scored, performer)
    return performer_value, event_value


def _find_event(
    used: set[int],
    scored: list[tuple[float, list[int], OcrLine, str]],
    performer: tuple[float, list[int], OcrLine, str] | None,
) -> FieldValue | None:
    events = [entry for entry in scored if _EVENT_WORDS.search(entry[2].text)]
    events = [entry for entry in events if performer is None or entry[1] != performer[1]]
    if events:
        return FieldValue(events[0][2].text, _score(0.8, events[0][2]))
    if performer is None:
        return None
    # A title printed right under the act ("Laune der Natour") reads as the event; lines
    # already read as something else (a tear-off seat line) may come between.
    start = performer[1][-1] + 1
    for entry in sorted(scored, key=lambda entry: entry[1][0]):
        first = entry[1][0]
        if first < start or any(i not in used for i in range(start, first)):
            continue
        if entry[2].height <= performer[2].height and entry[0] > 0:
            return FieldValue(entry[2].text, _score(0.55, entry[2]))
        break
    # No separate title printed: the act is the event.
    return FieldValue(performer[3], _score(0.6, performer[2]))
