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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from stubcollector.adapters.ocr.base import FieldValue


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float = 1.0
    # Height of the printed text in pixels (0 when unknown): the act is usually the biggest.
    height: float = 0.0


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
_WORD = r"[A-Za-zÄÖÜäöüéûèô]{3,10}"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s*(?P<mon>{_WORD})\.?,?\s+"
    rf"(?P<y>(?:19|20)\d{{2}}|'\d{{2}})(?!\d)",
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
    r"\b(?:general\s+admission|gen\.?\s*adm(?:ission)?\.?|ga|stehplatz|stehplätze|"
    r"stehplatzkarte|freie\s+platzwahl|unreserved|unnummeriert|standing)\b",
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
    r"refunds?|exchanges?|rückgabe|umtausch|rain\s+or\s+shine|veranstalter|promoter|www|http|"
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


def parse_stub_text(lines: Sequence[OcrLine]) -> dict[str, FieldValue]:
    """Every field the printed ``lines`` reveal, with a confidence from 0 to 1."""
    cleaned = [
        OcrLine(_clean(line.text), line.confidence, line.height)
        for line in lines
        if _clean(line.text)
    ]
    text = "\n".join(line.text for line in cleaned)
    day_first = bool(_GERMAN_HINTS.search(text)) or "€" in text
    found: dict[str, FieldValue] = {}
    used: set[int] = set()

    _put(found, "event_date", _find_date(cleaned, day_first, used))
    _put(found, "event_time", _find_time(cleaned, used))
    price = _find_price(cleaned, used)
    if price is not None:
        amount, currency = price
        found["face_value"] = amount
        if currency is not None:
            found["currency"] = currency
    for name, value in _find_seating(cleaned, used).items():
        found[name] = value
    venue, city = _find_venue(cleaned, used)
    _put(found, "venue", venue)
    _put(found, "city", city)
    performer, event = _find_act(cleaned, used)
    _put(found, "performer", performer)
    _put(found, "event_name", event)
    return found


def _put(found: dict[str, FieldValue], name: str, value: FieldValue | None) -> None:
    if value is not None:
        found[name] = value


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()
    # Spaces OCR tends to lose, and its favourite confusion in month names ("0CT").
    text = _GLUED_YEAR_TIME.sub(r"\1 ", text)
    text = _GLUED_WORD_YEAR.sub(" ", text)
    return _ZERO_FOR_O.sub("O", text)


_GLUED_YEAR_TIME = re.compile(r"(?<=[/.\-])((?:19|20)\d{2})(?=\d{1,2}:\d{2})")
_GLUED_WORD_YEAR = re.compile(r"(?<=[A-Za-zäöü])(?=(?:19|20)\d{2}\b)")
_ZERO_FOR_O = re.compile(r"\b0(?=[A-Z]{2}\b)")


def _score(base: float, line: OcrLine) -> float:
    return round(max(0.0, min(1.0, base * line.confidence)), 3)


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


def _dates_in(text: str, day_first: bool) -> list[tuple[int, date, float]]:
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
            month = MONTHS.get(match["mon"].lower().rstrip("."))
            if month is None:
                continue
            parsed = _make_date(expand_year(match["y"]), month, int(match["d"]))
            if parsed:
                found.append((match.start(), parsed, 0.95))
    return found


def _find_date(lines: Sequence[OcrLine], day_first: bool, used: set[int]) -> FieldValue | None:
    best: tuple[float, int, date] | None = None
    for index, line in enumerate(lines):
        if _DATE_EXCLUDE.search(line.text):
            continue
        for _position, parsed, base in _dates_in(line.text, day_first):
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
    found = _dates_in(_clean(raw), day_first)
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


def _find_price(
    lines: Sequence[OcrLine], used: set[int]
) -> tuple[FieldValue, FieldValue | None] | None:
    candidates: list[tuple[float, int, int, str, str | None]] = []
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


def _is_value(token: str) -> bool:
    word = token.lower().rstrip(".")
    if word in _LABEL_KIND or word in {"no", "nr", "und", "and"}:
        return False
    return bool(re.search(r"\d", token)) or len(token) <= 3 or token.isupper()


def _find_seating(lines: Sequence[OcrLine], used: set[int]) -> dict[str, FieldValue]:
    found: dict[str, FieldValue] = {}

    def put(kind: str, value: str, base: float, index: int) -> None:
        if kind not in found and _is_value(value):
            found[kind] = FieldValue(
                value.upper() if len(value) <= 3 else value, _score(base, lines[index])
            )
            used.add(index)

    # OCR drops the space in "ROW 12  SEAT 16" now and then: "ROW 12SEAT 16".
    lines = [
        OcrLine(_GLUED_LABEL.sub(r"\1 ", line.text), line.confidence, line.height) for line in lines
    ]
    for index, line in enumerate(lines):
        # "Block/Reihe/Platz 42/12/7" or the labels alone with values on the next line.
        for group in _LABEL_GROUP.finditer(line.text):
            kinds = [
                _LABEL_KIND[label.strip().rstrip(".").lower()]
                for label in re.split(r"[/|,]", group["labels"])
            ]
            values: list[str] | None = None
            if group["values"]:
                values = [v.strip() for v in re.split(r"[/|,]", group["values"])]
            elif index + 1 < len(lines):
                values = re.split(r"\s*[/|,]\s*|\s+", lines[index + 1].text.strip())
                if len(values) == len(kinds):
                    used.add(index + 1)
            if values is not None and len(values) == len(kinds):
                for kind, value in zip(kinds, values, strict=True):
                    put(kind, value, 0.9, index)
        # A row of labels ("SECTION  ROW  SEAT") above a row of values ("112  14  7").
        tokens = line.text.split()
        if (
            len(tokens) >= 2
            and all(t.lower().rstrip(".:") in _LABEL_KIND for t in tokens)
            and index + 1 < len(lines)
        ):
            values = lines[index + 1].text.split()
            if len(values) == len(tokens):
                for label, value in zip(tokens, values, strict=True):
                    put(_LABEL_KIND[label.lower().rstrip(".:")], value, 0.85, index)
                used.add(index + 1)
            continue
        for match in _INLINE_SEAT.finditer(line.text):
            kind = _LABEL_KIND[match["label"].lower()]
            put(kind, match["value"], 0.9, index)
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


def _split_city(text: str) -> tuple[str, str | None]:
    """``"Venue, City"``, ``"Venue - City"`` or ``"VENUE NEW YORK NY"`` → (venue, city)."""
    parts = re.split(r"\s*(?:,|\s[-\u2013·|]\s)\s*", text, maxsplit=1)
    if len(parts) == 2 and parts[1] and not _VENUE_WORDS.search(parts[1]):
        city = parts[1]
        state = _CITY_STATE.match(city)
        if state and state["state"] in _US_STATES:
            city = state["city"].strip()
        return parts[0].strip(), city.strip().rstrip(".") or None
    known = _KNOWN_CITY_AT_END.search(text)
    if known and known.start() > 0:
        return text[: known.start()].strip(), known["city"]
    return text, None


def _city_from_line(text: str) -> str | None:
    for pattern in (_POSTCODE_CITY, _KNOWN_CITY_ALONE):
        match = pattern.match(text)
        if match:
            return match["city"].strip()
    match = _CITY_STATE.match(text)
    if match and match["state"] in _US_STATES:
        return match["city"].strip()
    return None


def _is_venue_shaped(text: str) -> bool:
    if _BOILERPLATE.search(text) or _dates_in(text, True) or _times_in(text):
        return False
    if _PRICE_CURRENCY_FIRST.search(text) or _INLINE_SEAT.search(text):
        return False
    return sum(ch.isalpha() for ch in text) >= 3 and not _city_from_line(text)


def _find_venue(
    lines: Sequence[OcrLine], used: set[int]
) -> tuple[FieldValue | None, FieldValue | None]:
    chosen: tuple[int, str, float] | None = None
    for index, line in enumerate(lines):
        labelled = _VENUE_LABEL.match(line.text)
        if labelled:
            chosen = (index, labelled["v"], 0.9)
            break
    if chosen is None:
        for index, line in enumerate(lines):
            if index in used or _BOILERPLATE.search(line.text) or _dates_in(line.text, True):
                continue
            if _VENUE_WORDS.search(line.text) and not _EVENT_WORDS.search(line.text):
                chosen = (index, line.text, 0.8)
                break
    if chosen is None:
        # No venue word: the line printed just above a city line ("Zenith" / "80807 München")
        # or ending in a known city ("Zenith, München") is the venue.
        for index, line in enumerate(lines):
            if index in used or not _is_venue_shaped(line.text):
                continue
            below = lines[index + 1].text if index + 1 < len(lines) else ""
            if _city_from_line(below) or _KNOWN_CITY_AT_END.search(line.text):
                chosen = (index, line.text, 0.6)
                break
    if chosen is None:
        return None, None
    index, text, base = chosen
    used.add(index)
    text = re.sub(r"^(?:at|in|im|@|live\s+(?:at|in|im))\s+", "", text, flags=re.IGNORECASE)
    venue, city = _split_city(text)
    line = lines[index]
    city_value = FieldValue(city, _score(base - 0.1, line)) if city else None
    # The city is printed below the venue; a line of the tear-off part may come between.
    city_index = next(
        (i for i in range(index + 1, min(index + 3, len(lines))) if i not in used), None
    )
    if city_value is None and city_index is not None:
        next_city = _city_from_line(lines[city_index].text)
        if next_city:
            city_value = FieldValue(next_city, _score(0.75, lines[city_index]))
            used.add(city_index)
    return FieldValue(venue, _score(base, line)), city_value


# --- performer and event --------------------------------------------------------------------


def _is_act_candidate(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    if letters < 3 or letters < len(text.replace(" ", "")) * 0.5:
        return False
    if _is_only_admission(text) or _city_from_line(text) or _GLUED_SEAT_TOKEN.match(text):
        return False
    if _BOILERPLATE.search(text) or _INLINE_SEAT.search(text) or _LABEL_GROUP.search(text):
        return False
    if _dates_in(text, True) or _times_in(text):
        return False
    return not (_PRICE_CURRENCY_FIRST.search(text) or _PRICE_AMOUNT_FIRST.search(text))


def _find_act(
    lines: Sequence[OcrLine], used: set[int]
) -> tuple[FieldValue | None, FieldValue | None]:
    candidates = [
        (index, line)
        for index, line in enumerate(lines)
        if index not in used and _is_act_candidate(line.text)
    ]
    if not candidates:
        return None, None
    events = [(i, line) for i, line in candidates if _EVENT_WORDS.search(line.text)]
    acts = [(i, line) for i, line in candidates if not _EVENT_WORDS.search(line.text)]
    performer: tuple[int, OcrLine] | None = None
    if acts:
        if any(line.height for _, line in acts):
            tallest = max(line.height for _, line in acts)
            # Ties go to the line printed first.
            performer = next((i, line) for i, line in acts if line.height >= tallest * 0.9)
        else:
            performer = acts[0]
    event: tuple[int, OcrLine] | None = events[0] if events else None
    event_base = 0.8
    if event is None and performer is not None:
        # A title printed right under the act ("Laune der Natour") reads as the event.
        # Lines already read as something else (a tear-off seat line) may come between.
        start = performer[0] + 1
        following = [
            (i, line) for i, line in acts if i >= start and all(j in used for j in range(start, i))
        ]
        if following:
            event, event_base = following[0], 0.55
    performer_value = None
    if performer is not None:
        base = 0.75 if len(acts) > 1 else 0.85
        performer_value = FieldValue(performer[1].text, _score(base, performer[1]))
    if event is not None:
        event_value = FieldValue(event[1].text, _score(event_base, event[1]))
    elif performer is not None:
        # No separate title printed: the act is the event.
        event_value = FieldValue(performer[1].text, _score(0.6, performer[1]))
    else:
        event_value = None
    return performer_value, event_value


def lines_from_text(text: str) -> list[OcrLine]:
    """Plain text (one printed line per text line) as parser input."""
    return [OcrLine(line) for line in text.splitlines() if line.strip()]
