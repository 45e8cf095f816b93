"""Render stubs that fail the way photographed real ones do, labelled, in two parts.

    .venv/bin/python bench/make_real_stubs.py            # bench/stubs_real/{tune,holdout}

``tune`` (seed 2126, 72 images) is what the reader was tuned on; ``holdout`` (seed 7331,
42 images) is never looked at while tuning: other fonts (serif, narrow and mono families
instead of DejaVu Sans / Liberation Sans), other acts, venues and sponsors (some of them
missing from the reader's organiser list), other layout variants' random choices.

What makes them hard, as on the real photos: small crops (about 480-700 px wide), colour,
gradient, watermark and photo-like backgrounds, sponsor/radio/promoter logos printed larger
than the act, two-column stubs with a tear-off part, labels and values in separate columns
or on the next line, faded thermal print, rotation and perspective, blur, noise and JPEG
artefacts. Layouts: German Eventim-style (four arrangements of Block/Reihe/Platz, standing
tickets, street-address lines), US Ticketmaster (label row over value row), Ticketron and
vintage US, UK, French, Spanish, Italian and Dutch.

``labels.json`` holds what a person reads on the stub (``null`` = not printed). Sections are
labelled as printed without their label ("L4" for "Block L4"), standing tickets as "GA".
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
FONTS = Path("/usr/share/fonts/truetype")
# (regular, bold) per family; the held-out part uses families the tuning part never shows.
FONT_FAMILIES = {
    "tune": (
        ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
        ("dejavu/DejaVuSansCondensed.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf"),
        ("liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf"),
    ),
    "holdout": (
        ("liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Bold.ttf"),
        ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
        ("liberation/LiberationSansNarrow-Regular.ttf", "liberation/LiberationSansNarrow-Bold.ttf"),
    ),
}
MONO_FAMILIES = {
    "tune": ("liberation/LiberationMono-Regular.ttf", "liberation/LiberationMono-Bold.ttf"),
    "holdout": ("dejavu/DejaVuSansMono.ttf", "dejavu/DejaVuSansMono-Bold.ttf"),
}
FIELDS = (
    "event_name",
    "performer",
    "venue",
    "city",
    "event_date",
    "event_time",
    "section",
    "row",
    "seat",
    "face_value",
    "currency",
)
RGB = tuple[int, int, int]

# --- what is printed: names per part ------------------------------------------------------

DE_ACTS = {
    "tune": (
        ("Helene Fischer", "Farbenspiel Live - Die Tournee"),
        ("DIE TOTEN HOSEN", "Laune der Natour"),
        ("Herbert Grönemeyer", "Dauernd Jetzt Tour"),
        ("Udo Lindenberg", "Stärker als die Zeit"),
        ("PAUL McCARTNEY", "Out There Tour"),
        ("Peter Maffay", "Tabaluga Tour"),
        ("Sportfreunde Stiller", None),
        ("Die Fantastischen Vier", "Captain Fantastic Tour"),
        ("Revolverheld", None),
        ("Silbermond", "Leichtes Gepäck Tour"),
        ("DEPECHE MODE", "Global Spirit Tour"),
        ("Mark Forster", None),
    ),
    "holdout": (
        ("RAMMSTEIN", "Stadion Tour"),
        ("Unheilig", "Gipfelstürmer"),
        ("Roland Kaiser", None),
        ("Max Giesinger", "Die Reise Tour"),
        ("KRAFTKLUB", None),
        ("Wincent Weiss", None),
        ("Sarah Connor", "Herz Kraft Werke"),
        ("BON JOVI", "This House Is Not For Sale"),
    ),
}
DE_VENUES = {
    "tune": (
        ("LANXESS arena", "Willy-Brandt-Platz 3", "50679", "Köln"),
        ("Olympiahalle", "Spiridon-Louis-Ring 21", "80809", "München"),
        ("Festhalle", "Ludwig-Erhard-Anlage 1", "60327", "Frankfurt"),
        ("Barclaycard Arena", "Sylvesterallee 10", "22525", "Hamburg"),
        ("Mercedes-Benz Arena", "Mercedes-Platz 1", "10243", "Berlin"),
        ("Westfalenhalle", "Rheinlanddamm 200", "44139", "Dortmund"),
        ("Porsche-Arena", "Mercedesstraße 69", "70372", "Stuttgart"),
        ("SAP Arena", "Xaver-Fuhr-Straße 150", "68163", "Mannheim"),
        ("Zenith", "Lilienthalallee 29", "80939", "München"),
        ("Columbiahalle", "Columbiadamm 13-21", "10965", "Berlin"),
    ),
    "holdout": (
        ("König-Pilsener-ARENA", "Arenastraße 1", "46047", "Oberhausen"),
        ("TUI Arena", "Expo Plaza 7", "30539", "Hannover"),
        ("Tempodrom", "Möckernstraße 10", "10963", "Berlin"),
        ("Palladium", "Schanzenstraße 36", "51063", "Köln"),
        ("Waldbühne", "Glockenturmstraße 1", "14053", "Berlin"),
        ("Arena Leipzig", "Am Sportforum 2", "04105", "Leipzig"),
    ),
}
DE_SPONSORS = {
    "tune": ("SWR3", "NJOY", "ByteFM", "1LIVE", "radioeins", "Antenne Bayern", "Musikexpress"),
    "holdout": ("bigFM", "Radio Bob!", "hr3", "Fritz", "Radio PSR", "ROCK ANTENNE"),
}
DE_PROMOTERS = {
    "tune": (
        "Marek Lieberberg Konzertagentur",
        "DEAG Concerts GmbH",
        "FKP Scorpio Konzertproduktionen",
        "Karsten Jahnke Konzertdirektion",
        "Live Nation GmbH",
    ),
    "holdout": (
        "Semmel Concerts",
        "Prime Entertainment",
        "Four Artists",
        "Wizard Promotions",
        "Mama Concerts",
    ),
}
US_ACTS = {
    "tune": (
        ("PEARL JAM", "TEN TOUR"),
        ("BRUCE SPRINGSTEEN", "THE RIVER TOUR"),
        ("PAUL McCARTNEY", "WINGS OVER AMERICA"),
        ("TOM PETTY & THE HEARTBREAKERS", None),
        ("THE GRATEFUL DEAD", None),
        ("FLEETWOOD MAC", "RUMOURS TOUR"),
        ("DAVE MATTHEWS BAND", None),
        ("BILLY JOEL", None),
        ("ELTON JOHN", None),
    ),
    "holdout": (
        ("THE WHO", "QUADROPHENIA"),
        ("NEIL YOUNG", None),
        ("AEROSMITH", None),
        ("JOURNEY", "ESCAPE TOUR"),
        ("BOB DYLAN", None),
        ("STEELY DAN", None),
    ),
}
US_VENUES = {
    "tune": (
        ("MADISON SQUARE GARDEN", "NEW YORK", "NY"),
        ("THE FORUM", "INGLEWOOD", "CA"),
        ("RED ROCKS AMPHITHEATRE", "MORRISON", "CO"),
        ("UNITED CENTER", "CHICAGO", "IL"),
        ("THE SPECTRUM", "PHILADELPHIA", "PA"),
        ("BOSTON GARDEN", "BOSTON", "MA"),
        ("WINTERLAND", "SAN FRANCISCO", "CA"),
    ),
    "holdout": (
        ("CAPITAL CENTRE", "LANDOVER", "MD"),
        ("COW PALACE", "DALY CITY", "CA"),
        ("NASSAU COLISEUM", "UNIONDALE", "NY"),
        ("CIVIC ARENA", "PITTSBURGH", "PA"),
    ),
}
US_SPONSORS = {
    "tune": (
        "WXRT WELCOMES",
        "KROQ",
        "Q104.3",
        "WNEW-FM",
        "BILL GRAHAM PRESENTS",
        "JAM PRODUCTIONS",
    ),
    "holdout": ("WMMR", "KISS 108", "WLUP PRESENTS", "ELECTRIC FACTORY", "WDVE WELCOMES"),
}
US_GAMES = {
    "tune": (
        ("CHICAGO CUBS VS ST. LOUIS CARDINALS", "WRIGLEY FIELD", "CHICAGO", "IL"),
        ("BOSTON RED SOX VS NEW YORK YANKEES", "FENWAY PARK", "BOSTON", "MA"),
    ),
    "holdout": (("GIANTS VS DODGERS", "CANDLESTICK PARK", "SAN FRANCISCO", "CA"),),
}
UK_ACTS = {
    "tune": (("ARCTIC MONKEYS", "AM TOUR"), ("OASIS", None), ("BLUR", None), ("MUSE", None)),
    "holdout": (("PULP", None), ("KASABIAN", None), ("ELBOW", None)),
}
UK_VENUES = {
    "tune": (
        ("O2 Academy Brixton", "London"),
        ("Wembley Arena", "London"),
        ("Manchester Apollo", "Manchester"),
        ("Royal Albert Hall", "London"),
    ),
    "holdout": (("Hammersmith Apollo", "London"), ("Barrowland Ballroom", "Glasgow")),
}
UK_SPONSORS = {
    "tune": ("SJM CONCERTS", "XFM", "Absolute Radio", "Metropolis Music", "Academy Events"),
    "holdout": ("Kilimanjaro Live", "Virgin Radio", "DF Concerts", "6 Music"),
}
FR_ACTS = {
    "tune": (
        ("Johnny Hallyday", "Rester Vivant Tour"),
        ("INDOCHINE", None),
        ("Mylène Farmer", None),
        ("Christophe Maé", None),
    ),
    "holdout": (("Julien Clerc", None), ("Vianney", None), ("CALOGERO", None)),
}
FR_VENUES = {
    "tune": (
        ("Zénith de Paris", "Paris"),
        ("Halle Tony Garnier", "Lyon"),
        ("Le Dôme", "Marseille"),
        ("Olympia", "Paris"),
    ),
    "holdout": (("Zénith de Toulouse", "Toulouse"), ("Le Bataclan", "Paris")),
}
FR_SPONSORS = {
    "tune": ("RTL2", "NRJ", "Fnac Spectacles", "Gérard Drouot Productions"),
    "holdout": ("Europe 1", "Oui FM", "Ticketnet"),
}
ES_ACTS = {
    "tune": (("Alejandro Sanz", None), ("Joaquín Sabina", None), ("ESTOPA", None)),
    "holdout": (("Fito & Fitipaldis", None), ("MELENDI", None)),
}
ES_VENUES = {
    "tune": (("WiZink Center", "Madrid"), ("Palau Sant Jordi", "Barcelona")),
    "holdout": (("Palacio Vistalegre", "Madrid"),),
}
ES_SPONSORS = {
    "tune": ("LOS40", "Cadena 100", "El Corte Inglés"),
    "holdout": ("Rock FM", "Europa FM"),
}
IT_ACTS = {
    "tune": (("Vasco Rossi", None), ("LIGABUE", None), ("Jovanotti", "Lorenzo Negli Stadi")),
    "holdout": (("Tiziano Ferro", None), ("NEGRAMARO", None)),
}
IT_VENUES = {
    "tune": (("Mediolanum Forum", "Assago"), ("PalaLottomatica", "Roma")),
    "holdout": (("Arena di Verona", "Verona"),),
}
IT_SPONSORS = {
    "tune": ("Radio Deejay", "RDS", "TicketOne"),
    "holdout": ("Radio Italia", "Vivo Concerti"),
}
NL_ACTS = {
    "tune": (("Marco Borsato", None), ("GOLDEN EARRING", None), ("Anouk", None)),
    "holdout": (("Racoon", None), ("KENSINGTON", None)),
}
NL_VENUES = {
    "tune": (("Ziggo Dome", "Amsterdam"), ("Ahoy", "Rotterdam"), ("Paradiso", "Amsterdam")),
    "holdout": (("GelreDome", "Arnhem"),),
}
NL_SPONSORS = {"tune": ("Radio 538", "3FM", "Mojo presents"), "holdout": ("Qmusic", "Ticketmaster")}

MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
}
DAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "es": "lunes martes miércoles jueves viernes sábado domingo",
    "it": "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "nl": "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
}
DE_SHORT_DAYS = ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So.")


def month(lang: str, day: dt.date) -> str:
    return MONTHS[lang].split()[day.month - 1]


def weekday(lang: str, day: dt.date) -> str:
    return DAYS[lang].split()[day.weekday()]


# --- drawing --------------------------------------------------------------------------------


@dataclass
class Text:
    """One printed piece; positions and sizes in ticket units (the ticket is 1000 wide)."""

    text: str
    x: float
    y: float
    size: float
    bold: bool = False
    color: RGB | None = None  # None: the ticket's ink
    spacing: float = 0.0  # extra space between letters (logo lettering)
    box: RGB | None = None  # a filled box behind the text (a logo printed inverted)
    rotate: int = 0  # 90: printed up the tear-off
    mono: bool = False
    centre: bool = False


@dataclass
class Stub:
    name: str
    texts: list[Text]
    labels: dict[str, str | None]
    height: int = 400
    tear_off: float | None = None  # x of the perforation, in units
    background: str = "plain"  # plain, gradient, watermark, photo, guilloche
    watermark: str = ""
    thermal: bool = False  # faded thermal print
    dot_matrix: bool = False
    paper: RGB = (248, 246, 240)
    ink: RGB = (25, 25, 30)
    extras: list[tuple[str, float, float, float, float]] = field(default_factory=list)


@dataclass
class Fonts:
    regular: Path
    bold: Path
    mono: Path
    mono_bold: Path

    def get(self, text: Text, size: int) -> ImageFont.FreeTypeFont:
        if text.mono:
            path = self.mono_bold if text.bold else self.mono
        else:
            path = self.bold if text.bold else self.regular
        return ImageFont.truetype(str(path), max(6, size))


def labels(**values: str | None) -> dict[str, str | None]:
    assert set(values) == set(FIELDS), set(FIELDS) ^ set(values)
    return {name: values[name] for name in FIELDS}


def money(amount: float, decimal: str = ",") -> str:
    return f"{amount:.2f}".replace(".", decimal)


def random_day(rng: random.Random, first: int, last: int) -> dt.date:
    start = dt.date(first, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(start, dt.date(last, 12, 31).toordinal()))


def pastel(rng: random.Random) -> RGB:
    base = rng.choice(
        [(250, 247, 238), (226, 238, 250), (255, 234, 206), (236, 248, 232), (250, 226, 236)]
    )
    return (base[0], base[1], base[2])


def logo_colour(rng: random.Random) -> RGB:
    return rng.choice([(200, 20, 30), (20, 60, 160), (230, 120, 0), (0, 120, 70), (120, 0, 120)])


def sponsor_logo(rng: random.Random, name: str, x: float, y: float, size: float) -> Text:
    """Sponsors print their name as a logo: big, bold, coloured, sometimes inverted."""
    colour = logo_colour(rng)
    if rng.random() < 0.35:
        return Text(name, x, y, size, bold=True, color=(255, 255, 255), box=colour)
    return Text(name, x, y, size, bold=True, color=colour, spacing=rng.choice([0, 0, 3]))


def performer_texts(
    rng: random.Random, performer: str, x: float, y: float, size: float, *, centre: bool = False
) -> tuple[list[Text], float]:
    """The act: one line, two lines (first name / surname) or letter-spaced logo type."""
    words = performer.split()
    style = rng.random()
    if len(words) == 2 and style < 0.3 and not centre:
        first = Text(words[0].upper(), x, y, size, bold=True)
        second = Text(words[1].upper(), x, y + size * 1.05, size, bold=True)
        return [first, second], y + size * 2.2
    spacing = 4.0 if style > 0.8 else 0.0
    return [Text(performer, x, y, size, bold=True, spacing=spacing, centre=centre)], y + size * 1.3


# --- layouts --------------------------------------------------------------------------------
# Each layout returns the printed pieces and the labels; ``part`` chooses the name pools.


def de_eventim(rng: random.Random, part: str, name: str) -> Stub:
    """The Eventim thermal ticket: seat grid at the top, act, date line, venue, address, price."""
    performer, tour = rng.choice(DE_ACTS[part])
    venue, street, postcode, city = rng.choice(DE_VENUES[part])
    day = random_day(rng, 2004, 2023)
    start = rng.choice([(20, 0), (19, 30), (19, 0), (20, 30)])
    doors = (start[0] - 1, start[1])
    price = rng.choice([36.45, 50.70, 59.90, 69.90, 79.75, 89.50, 104.0, 45.0])
    standing = rng.random() < 0.25
    section = rng.choice(["L4", "N12", "214", "C", "Innenraum", "Parkett", "3"])
    row, seat = str(rng.randint(1, 32)), str(rng.randint(1, 48))
    arrangement = rng.choice(["grid", "columns", "inline", "stacked"])
    texts: list[Text] = []
    sponsor = rng.choice(DE_SPONSORS[part])
    # Thermal tickets carry the seller's name small and a sponsor's logo large.
    texts.append(Text(rng.choice(["EVENTIM", "CTS EVENTIM", "eventim.de"]), 30, 18, 20))
    texts.append(sponsor_logo(rng, sponsor, rng.choice([300, 340, 380]), 14, rng.choice([46, 54])))
    y = 90.0
    section_label = "Block" if section not in ("Innenraum", "Parkett") else "Bereich"
    if standing:
        texts.append(
            Text(rng.choice(["Stehplatz", "Innenraum Stehplatz", "STEHPLATZ"]), 30, y, 30, True)
        )
        y += 44
    elif arrangement == "grid":
        # Labels in one row, the values under them: each its own box for the OCR.
        heads = [("Eingang", rng.choice(["Nord", "3", "West", "A"])), (section_label, section)]
        heads += [("Reihe", row), (rng.choice(["Platz", "Sitz"]), seat)]
        x = 30.0
        for label, value in heads:
            texts.append(Text(label, x, y, 18))
            texts.append(Text(value, x, y + 24, 30, True))
            x += max(130.0, 17.0 * len(value) + 40)
        y += 70
    elif arrangement == "columns":
        for label, value in ((section_label, section), ("Reihe", row), ("Platz", seat)):
            texts.append(Text(f"{label}:", 30, y, 22))
            texts.append(Text(value, 190, y - 2, 26, True))
            y += 32
    elif arrangement == "inline":
        texts.append(
            Text(f"{section_label} {section}   Reihe {row}   Platz {seat}", 30, y, 26, True)
        )
        y += 40
    else:
        # Label and value far apart on one line, in a table.
        for label, value in ((section_label, section), ("Reihe", row), ("Sitz", seat)):
            texts.append(Text(label, 30, y, 22))
            texts.append(Text(value, 330, y, 24, True))
            y += 30
    acts, y = performer_texts(rng, performer, 30, y + 6, rng.choice([34, 40]))
    texts += acts
    if tour:
        texts.append(Text(tour, 30, y, 22))
        y += 32
    date_text = rng.choice(
        [
            f"{weekday('de', day)}, {day:%d.%m.%Y}",
            f"{DE_SHORT_DAYS[day.weekday()]} {day:%d.%m.%y}",
            f"{DE_SHORT_DAYS[day.weekday()]}, {day.day}. {month('de', day)} {day.year}",
            f"{day:%d.%m.%Y}",
        ]
    )
    time_text = rng.choice(
        [
            f"Einlass: {doors[0]}:{doors[1]:02d} Uhr   Beginn: {start[0]}:{start[1]:02d} Uhr",
            f"Beginn {start[0]}:{start[1]:02d} Uhr",
            f"{start[0]}.{start[1]:02d} Uhr",
        ]
    )
    if rng.random() < 0.5:
        texts.append(Text(f"{date_text}   {time_text}", 30, y, 22, True))
        y += 32
    else:
        texts.append(Text(date_text, 30, y, 24, True))
        texts.append(Text(time_text, 30, y + 30, 20))
        y += 60
    if rng.random() < 0.5:
        texts.append(Text(venue, 30, y, 24, True))
        texts.append(Text(f"{street}, {postcode} {city}", 30, y + 30, 18))
        y += 56
    else:
        texts.append(Text(f"{venue}, {street}, {postcode} {city}", 30, y, 20))
        y += 30
    price_text = rng.choice(
        [
            f"Preis: {money(price)} EUR inkl. Gebühren",
            f"EUR {money(price, rng.choice([',', '.']))}",
            f"{money(price)} € inkl. 10% VVK-Geb.",
            f"Preis inkl. VVK {money(price)} EUR",
        ]
    )
    texts.append(Text(price_text, 30, y, 20))
    y += 28
    texts.append(Text(f"Veranstalter: {rng.choice(DE_PROMOTERS[part])}", 30, y, 15))
    y += 24
    tear = 770.0
    side = ["Stehplatz"] if standing else [section, f"Reihe {row}", f"Platz {seat}"]
    texts.append(Text(performer.upper()[:18], tear + 20, 30, 16, rotate=0))
    for offset, line in enumerate(side):
        texts.append(Text(line, tear + 20, 70 + offset * 30, 20, True))
    texts.append(Text(f"{day:%d.%m.%y}", tear + 20, 170, 18))
    texts.append(Text(f"{money(price)} EUR", tear + 20, 200, 18))
    return Stub(
        name,
        texts,
        labels(
            event_name=tour or performer,
            performer=performer,
            venue=venue,
            city=city,
            event_date=day.isoformat(),
            event_time=f"{start[0]:02d}:{start[1]:02d}",
            section="GA" if standing else section,
            row=None if standing else row,
            seat=None if standing else seat,
            face_value=f"{price:.2f}",
            currency="EUR",
        ),
        height=int(max(y + 20, 300)),
        tear_off=tear,
        background=rng.choice(["plain", "gradient", "watermark", "photo"]),
        watermark="EVENTIM",
        thermal=rng.random() < 0.6,
        paper=pastel(rng),
    )


def us_ticketmaster(rng: random.Random, part: str, name: str) -> Stub:
    """Ticketmaster 1985-2010: label row over value row, event lines centred below."""
    performer, tour = rng.choice(US_ACTS[part])
    venue, city, state = rng.choice(US_VENUES[part])
    day = random_day(rng, 1984, 2012)
    hour, minute = rng.choice([(19, 30), (20, 0), (19, 0), (20, 30)])
    price = rng.choice([17.50, 22.50, 28.50, 35.00, 45.00, 65.00])
    standing = rng.random() < 0.2
    section, row, seat = (
        str(rng.randint(101, 340)),
        rng.choice(["A", "G", "14", "22", "AA"]),
        str(rng.randint(1, 30)),
    )
    sponsor = rng.choice(US_SPONSORS[part])
    texts: list[Text] = []
    tear = 200.0
    # The stub part on the left: the seat again, small.
    side = ["GEN ADM"] if standing else [f"SEC {section}", f"ROW {row}", f"SEAT {seat}"]
    for offset, line in enumerate(side):
        texts.append(Text(line, 16, 30 + offset * 28, 18, True))
    texts.append(Text(f"{price:.2f}", 16, 30 + len(side) * 28 + 6, 18))
    texts.append(Text(f"CN {rng.randint(10000, 99999)}", 16, 250, 14))
    x0 = tear + 24
    heads = ["SECTION/AISLE", "ROW/BOX", "SEAT", rng.choice(["ADMISSION", "PRICE"])]
    values = ["GEN ADM" if standing else section, "" if standing else row]
    values += ["" if standing else seat, rng.choice([f"{price:.2f}", f"${price:.2f}"])]
    x = x0
    for head, value in zip(heads, values, strict=True):
        texts.append(Text(head, x, 16, 14))
        if value:
            texts.append(Text(value, x + 4, 36, 28, True))
        x += 190 if head == "SECTION/AISLE" else 150
    y = 84.0
    if rng.random() < 0.7:
        texts.append(sponsor_logo(rng, sponsor, 560, y - 6, 34))
        y += 42
    acts, y = performer_texts(rng, performer, 590, y, 34, centre=True)
    texts += acts
    if tour:
        texts.append(Text(tour, 590, y, 22, centre=True))
        y += 30
    texts.append(Text(venue, 590, y, 24, centre=True))
    y += 30
    if rng.random() < 0.5:
        texts.append(Text(f"{city}, {state}", 590, y, 18, centre=True))
        y += 26
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    days = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
    twelve = f"{hour - 12}:{minute:02d}PM"
    texts.append(
        Text(
            f"{days[day.weekday()]} {months[day.month - 1]} {day.day} {day.year} {twelve}",
            590,
            y,
            24,
            True,
            centre=True,
        )
    )
    y += 34
    texts.append(Text("NO REFUNDS/NO EXCHANGES", 590, y, 14, centre=True))
    return Stub(
        name,
        texts,
        labels(
            event_name=tour or performer,
            performer=performer,
            venue=venue,
            city=city,
            event_date=day.isoformat(),
            event_time=f"{hour:02d}:{minute:02d}",
            section="GA" if standing else section,
            row=None if standing else row,
            seat=None if standing else seat,
            face_value=f"{price:.2f}",
            currency="USD",
        ),
        height=int(max(y + 30, 280)),
        tear_off=tear,
        background=rng.choice(["watermark", "gradient", "guilloche"]),
        watermark="ticketmaster",
        paper=rng.choice([(236, 240, 250), (250, 244, 232), (238, 250, 240)]),
        ink=(20, 20, 60),
    )


def us_ticketron(rng: random.Random, part: str, name: str) -> Stub:
    """Ticketron 1970s-80s: dot-matrix capitals on a patterned card, price with a label."""
    performer, _tour = rng.choice(US_ACTS[part])
    venue, _city, _state = rng.choice(US_VENUES[part])
    day = random_day(rng, 1970, 1989)
    hour, minute = rng.choice([(20, 0), (19, 30), (20, 30)])
    price = rng.choice([6.50, 7.50, 8.50, 9.75, 12.50, 15.00])
    section, row, seat = (
        rng.choice(["E", "12", "LOGE 3", "H"]),
        rng.choice(["F", "12", "AA"]),
        str(rng.randint(1, 24)),
    )
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    days = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
    texts = [
        Text("SEC", 40, 20, 16, mono=True),
        Text("ROW", 230, 20, 16, mono=True),
        Text("SEAT", 380, 20, 16, mono=True),
        Text("PRICE", 560, 20, 16, mono=True),
        Text(section, 40, 42, 30, True, mono=True),
        Text(row, 230, 42, 30, True, mono=True),
        Text(seat, 380, 42, 30, True, mono=True),
        Text(f"{price:.2f}", 560, 42, 30, True, mono=True),
        Text(rng.choice(US_SPONSORS[part]), 40, 96, 24, mono=True),
        Text(performer, 40, 130, 32, True, mono=True),
        Text(venue, 40, 172, 26, mono=True),
        Text(
            f"{days[day.weekday()]} {months[day.month - 1]} {day.day:02d} {day.year} "
            f"{hour - 12}:{minute:02d}PM",
            40,
            208,
            26,
            mono=True,
        ),
        Text("ADMIT ONE  NO REFUNDS", 40, 246, 16, mono=True),
        Text(f"{section}/{row}/{seat}", 830, 40, 20, mono=True),
        Text(f"{price:.2f}", 830, 70, 20, mono=True),
    ]
    return Stub(
        name,
        texts,
        labels(
            event_name=performer,
            performer=performer,
            venue=venue,
            city=None,
            event_date=day.isoformat(),
            event_time=f"{hour:02d}:{minute:02d}",
            section=section,
            row=row,
            seat=seat,
            face_value=f"{price:.2f}",
            currency="USD",
        ),
        height=290,
        tear_off=800,
        background="watermark",
        watermark="TICKETRON",
        dot_matrix=True,
        paper=rng.choice([(214, 232, 246), (226, 244, 226), (250, 238, 212)]),
        ink=(30, 30, 50),
    )


def us_vintage(rng: random.Random, part: str, name: str) -> Stub:
    """A promoter-printed general admission ticket: big promoter, act, price, date."""
    performer, _tour = rng.choice(US_ACTS[part])
    venue, city, state = rng.choice(US_VENUES[part])
    day = random_day(rng, 1966, 1985)
    hour, minute = rng.choice([(20, 0), (19, 30), (21, 0)])
    price = rng.choice([3.50, 4.00, 5.50, 6.00, 7.50])
    promoter = rng.choice(US_SPONSORS[part])
    months = "January February March April May June July August September October November December"
    month_name = months.split()[day.month - 1].upper()
    long_day = f"{weekday('en', day).upper()} {month_name} {day.day}, {day.year}"
    texts = [
        sponsor_logo(rng, promoter, 500, 14, 44),
        Text("ADMIT ONE", 40, 20, 20, True),
        Text(rng.choice(["IN CONCERT", "PLUS SPECIAL GUESTS"]), 500, 80, 18, centre=True),
        *performer_texts(rng, performer, 500, 108, 40, centre=True)[0],
        Text(f"{venue} - {city}, {state}", 500, 170, 22, centre=True),
        Text(f"{long_day}  {hour - 12}:{minute:02d} P.M.", 500, 204, 22, True, centre=True),
        Text(rng.choice(["GENERAL ADMISSION", "GEN ADM"]), 40, 250, 22, True),
        Text(f"${price:.2f}", 760, 250, 28, True),
        Text("NO REFUNDS", 420, 256, 14),
    ]
    return Stub(
        name,
        texts,
        labels(
            event_name=performer,
            performer=performer,
            venue=venue,
            city=city,
            event_date=day.isoformat(),
            event_time=f"{hour:02d}:{minute:02d}",
            section="GA",
            row=None,
            seat=None,
            face_value=f"{price:.2f}",
            currency="USD",
        ),
        height=300,
        background=rng.choice(["plain", "gradient", "photo"]),
        paper=rng.choice([(250, 220, 150), (200, 230, 250), (250, 200, 200), (240, 240, 200)]),
        ink=(40, 20, 20),
    )


def us_game(rng: random.Random, part: str, name: str) -> Stub:
    game, venue, city, state = rng.choice(US_GAMES[part])
    day = random_day(rng, 1988, 2015)
    hour, minute = rng.choice([(19, 5), (13, 20), (19, 10)])
    price = rng.choice([12.0, 18.0, 42.0])
    section, row, seat = (
        str(rng.randint(100, 540)),
        str(rng.randint(1, 30)),
        str(rng.randint(1, 24)),
    )
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    days = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
    twelve = hour - 12 if hour > 12 else hour
    texts = [
        Text("SEC", 30, 16, 14),
        Text("ROW", 150, 16, 14),
        Text("SEAT", 250, 16, 14),
        Text(section, 30, 34, 28, True),
        Text(row, 150, 34, 28, True),
        Text(seat, 250, 34, 28, True),
        Text(f"${price:.2f}", 820, 34, 26, True),
        Text(game, 500, 94, 28, True, centre=True),
        Text(f"{venue}  {city}, {state}", 500, 136, 20, centre=True),
        Text(
            f"{days[day.weekday()]} {months[day.month - 1]} {day.day} {day.year} "
            f"{twelve}:{minute:02d}{'PM' if hour >= 12 else 'AM'}",
            500,
            168,
            24,
            True,
            centre=True,
        ),
        Text("RAIN OR SHINE", 500, 206, 14, centre=True),
    ]
    return Stub(
        name,
        texts,
        labels(
            event_name=game,
            performer=None,
            venue=venue,
            city=city,
            event_date=day.isoformat(),
            event_time=f"{hour:02d}:{minute:02d}",
            section=section,
            row=row,
            seat=seat,
            face_value=f"{price:.2f}",
            currency="USD",
        ),
        height=240,
        background=rng.choice(["gradient", "photo", "guilloche"]),
        paper=pastel(rng),
    )


def uk_ticket(rng: random.Random, part: str, name: str) -> Stub:
    performer, tour = rng.choice(UK_ACTS[part])
    venue, city = rng.choice(UK_VENUES[part])
    day = random_day(rng, 1994, 2019)
    start = rng.choice([(19, 0), (19, 30), (20, 0)])
    price = rng.choice([22.50, 35.00, 47.50, 65.00])
    seated = rng.random() < 0.55
    block, row, seat = (
        rng.choice(["A", "C2", "L"]),
        rng.choice(["K", "M", "12"]),
        str(rng.randint(1, 40)),
    )
    texts = [
        sponsor_logo(rng, rng.choice(UK_SPONSORS[part]), 30, 14, 40),
        Text(rng.choice(["presents", "PRESENTS"]), 30, 62, 16),
    ]
    acts, y = performer_texts(rng, performer, 30, 86, 38)
    texts += acts
    if tour:
        texts.append(Text(tour, 30, y, 22))
        y += 30
    texts.append(Text(f"{venue}, {city}", 30, y, 22))
    y += 30
    texts.append(
        Text(f"{weekday('en', day)} {day.day} {month('en', day)} {day.year}", 30, y, 22, True)
    )
    y += 30
    time_text = rng.choice(
        [f"Doors {start[0] - 12}.{start[1]:02d}pm", f"Doors {start[0]}:{start[1]:02d}"]
    )
    texts.append(Text(time_text, 30, y, 18))
    y += 28
    texts.append(Text(rng.choice([f"£{price:.2f}", f"Face value £{price:.2f} + b/fee"]), 30, y, 20))
    if seated:
        for offset, (label, value) in enumerate((("BLOCK", block), ("ROW", row), ("SEAT", seat))):
            texts.append(Text(label, 640, 60 + offset * 50, 16))
            texts.append(Text(value, 640, 78 + offset * 50, 26, True))
    else:
        texts.append(Text("STANDING", 640, 80, 30, True))
    return Stub(
        name,
        texts,
        labels(
            event_name=tour or performer,
            performer=performer,
            venue=venue,
            city=city,
            event_date=day.isoformat(),
            event_time=f"{start[0]:02d}:{start[1]:02d}",
            section=block if seated else "GA",
            row=row if seated else None,
            seat=seat if seated else None,
            face_value=f"{price:.2f}",
            currency="GBP",
        ),
        height=int(max(y + 40, 260)),
        tear_off=600,
        background=rng.choice(["gradient", "photo", "plain"]),
        thermal=rng.random() < 0.4,
        paper=pastel(rng),
    )


@dataclass(frozen=True)
class Europe:
    """The vocabulary of one European layout."""

    lang: str
    acts: Mapping[str, Sequence[tuple[str, str | None]]]
    venues: Mapping[str, Sequence[tuple[str, str]]]
    sponsors: Mapping[str, Sequence[str]]
    seat_labels: tuple[str, str, str]
    standing: str
    price: str
    time: Callable[[int, int], str]
    date: Callable[[dt.date], str]


def _fr_date(day: dt.date) -> str:
    return f"{weekday('fr', day)} {day.day} {month('fr', day)} {day.year}"


def _es_date(day: dt.date) -> str:
    return f"{weekday('es', day).capitalize()}, {day.day} de {month('es', day)} de {day.year}"


def _it_date(day: dt.date) -> str:
    return f"{weekday('it', day).capitalize()} {day.day} {month('it', day)} {day.year}"


def _nl_date(day: dt.date) -> str:
    return f"{weekday('nl', day)} {day.day} {month('nl', day)} {day.year}"


EUROPE = {
    "fr": Europe(
        "fr",
        FR_ACTS,
        FR_VENUES,
        FR_SPONSORS,
        ("Bloc", "Rang", "Place"),
        "Fosse",
        "Prix",
        lambda h, m: f"{h}h{m:02d}",
        _fr_date,
    ),
    "es": Europe(
        "es",
        ES_ACTS,
        ES_VENUES,
        ES_SPONSORS,
        ("Sector", "Fila", "Asiento"),
        "Pista",
        "Precio",
        lambda h, m: f"{h}:{m:02d} h",
        _es_date,
    ),
    "it": Europe(
        "it",
        IT_ACTS,
        IT_VENUES,
        IT_SPONSORS,
        ("Settore", "Fila", "Posto"),
        "Posto unico",
        "Prezzo",
        lambda h, m: f"ore {h}:{m:02d}",
        _it_date,
    ),
    "nl": Europe(
        "nl",
        NL_ACTS,
        NL_VENUES,
        NL_SPONSORS,
        ("Vak", "Rij", "Stoel"),
        "Staanplaats",
        "Prijs",
        lambda h, m: f"Aanvang {h}:{m:02d} uur",
        _nl_date,
    ),
}


def europe(lang: str) -> Callable[[random.Random, str, str], Stub]:
    def layout(rng: random.Random, part: str, name: str) -> Stub:
        vocab = EUROPE[lang]
        performer, tour = rng.choice(vocab.acts[part])
        venue, city = rng.choice(vocab.venues[part])
        day = random_day(rng, 2002, 2023)
        start = rng.choice([(20, 0), (20, 30), (21, 0), (21, 30)])
        price = rng.choice([35.0, 42.5, 49.9, 55.0, 68.0])
        standing = rng.random() < 0.25
        section, row, seat = (
            rng.choice(["B", "12", "C4", "203"]),
            str(rng.randint(1, 30)),
            str(rng.randint(1, 40)),
        )
        texts = [sponsor_logo(rng, rng.choice(vocab.sponsors[part]), 300, 14, 46)]
        acts, y = performer_texts(rng, performer, 30, 80, 38)
        texts += acts
        if tour:
            texts.append(Text(tour, 30, y, 22))
            y += 30
        texts.append(Text(f"{vocab.date(day)}  {vocab.time(*start)}", 30, y, 22, True))
        y += 32
        texts.append(Text(f"{venue} - {city}", 30, y, 22))
        y += 32
        amount = money(price)
        texts.append(
            Text(rng.choice([f"{vocab.price}: {amount} €", f"{vocab.price} € {amount}"]), 30, y, 20)
        )
        y += 30
        if standing:
            texts.append(Text(vocab.standing.upper(), 640, 96, 30, True))
        elif rng.random() < 0.5:
            for offset, (label, value) in enumerate(
                zip(vocab.seat_labels, (section, row, seat), strict=True)
            ):
                texts.append(Text(label, 640 + offset * 110, 90, 16))
                texts.append(Text(value, 640 + offset * 110, 110, 28, True))
        else:
            for offset, (label, value) in enumerate(
                zip(vocab.seat_labels, (section, row, seat), strict=True)
            ):
                texts.append(Text(f"{label} {value}", 640, 80 + offset * 34, 24, True))
        return Stub(
            name,
            texts,
            labels(
                event_name=tour or performer,
                performer=performer,
                venue=venue,
                city=city,
                event_date=day.isoformat(),
                event_time=f"{start[0]:02d}:{start[1]:02d}",
                section="GA" if standing else section,
                row=None if standing else row,
                seat=None if standing else seat,
                face_value=f"{price:.2f}",
                currency="EUR",
            ),
            height=int(max(y + 24, 250)),
            tear_off=610,
            background=rng.choice(["gradient", "photo", "watermark", "plain"]),
            watermark=rng.choice(["TICKET", "BILLET", "ENTRADA", "BIGLIETTO"]),
            thermal=rng.random() < 0.4,
            paper=pastel(rng),
        )

    return layout


# The tuning part leans German like the real photos (19 of 21 were Eventim-style).
LAYOUTS: tuple[tuple[str, Callable[[random.Random, str, str], Stub], int], ...] = (
    ("de-eventim", de_eventim, 6),
    ("us-ticketmaster", us_ticketmaster, 2),
    ("us-ticketron", us_ticketron, 1),
    ("us-vintage", us_vintage, 1),
    ("us-game", us_game, 1),
    ("uk", uk_ticket, 1),
    ("fr", europe("fr"), 1),
    ("es", europe("es"), 1),
    ("it", europe("it"), 1),
    ("nl", europe("nl"), 1),
)


# --- rendering and "photographing" --------------------------------------------------------


def background(stub: Stub, size: tuple[int, int], rng: random.Random) -> Image.Image:
    width, height = size
    paper = stub.paper
    image = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(image)
    if stub.background == "gradient":
        other = tuple(max(0, min(255, c + rng.randint(-70, 10))) for c in paper)
        for x in range(width):
            share = x / width
            colour = tuple(
                int(a * (1 - share) + b * share) for a, b in zip(paper, other, strict=True)
            )
            draw.line((x, 0, x, height), fill=colour)
    elif stub.background == "watermark":
        tint = tuple(max(0, c - 20) for c in paper)
        font = ImageFont.truetype(str(FONTS / "dejavu/DejaVuSans-Bold.ttf"), 26)
        for row, y in enumerate(range(-10, height, 34)):
            draw.text((-40 + (row % 2) * 60, y), ("  " + stub.watermark) * 12, font=font, fill=tint)
    elif stub.background == "photo":
        # A picture of the act behind the print: soft colour blobs.
        for _ in range(14):
            cx, cy = rng.randint(0, width), rng.randint(0, height)
            radius = rng.randint(40, 200)
            colour = tuple(max(0, min(255, c + rng.randint(-90, 30))) for c in paper)
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
        image = image.filter(ImageFilter.GaussianBlur(30))
    elif stub.background == "guilloche":
        tint = tuple(max(0, c - 40) for c in paper)
        for phase in range(0, 60, 12):
            points = [
                (x, height / 2 + math.sin((x + phase * 7) / 37) * height * 0.4)
                for x in range(0, width, 4)
            ]
            draw.line(points, fill=tint, width=2)
    return image


def draw_text(layer: Image.Image, text: Text, fonts: Fonts, scale: float, ink: RGB) -> None:
    draw = ImageDraw.Draw(layer)
    font = fonts.get(text, int(text.size * scale))
    colour = text.color or ink
    spacing = text.spacing * scale
    width = sum(draw.textlength(ch, font=font) for ch in text.text) + spacing * len(text.text)
    x, y = text.x * scale, text.y * scale
    if text.centre:
        x -= width / 2
    if text.rotate:
        tile = Image.new("RGBA", (int(width) + 8, int(text.size * scale * 1.4)), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((4, 0), text.text, font=font, fill=(*colour, 255))
        tile = tile.rotate(text.rotate, expand=True)
        layer.alpha_composite(tile, (int(x), int(y)))
        return
    if text.box:
        pad = text.size * scale * 0.25
        draw.rounded_rectangle(
            (x - pad, y - pad * 0.5, x + width + pad, y + text.size * scale * 1.2 + pad * 0.5),
            radius=pad,
            fill=(*text.box, 255),
        )
    for ch in text.text:
        draw.text((x, y), ch, font=font, fill=(*colour, 255))
        x += draw.textlength(ch, font=font) + spacing


def render(stub: Stub, fonts: Fonts, rng: random.Random) -> Image.Image:
    scale = 1.2
    size = (int(1000 * scale), int(stub.height * scale))
    ticket = background(stub, size, rng).convert("RGBA")
    ink_layer = Image.new("RGBA", size, (0, 0, 0, 0))
    for text in stub.texts:
        draw_text(ink_layer, text, fonts, scale, stub.ink)
    if stub.tear_off is not None:
        draw = ImageDraw.Draw(ink_layer)
        x = stub.tear_off * scale
        for y in range(0, size[1], 14):
            draw.line((x, y, x, y + 7), fill=(*stub.ink, 200), width=2)
    if stub.dot_matrix:
        # Dot-matrix print: ink only on a grid of dots.
        mask = Image.new("L", size, 0)
        dots = ImageDraw.Draw(mask)
        for y in range(0, size[1], 3):
            for x in range(0, size[0], 3):
                dots.point((x, y), 255)
                dots.point((x + 1, y), 255)
                dots.point((x, y + 1), 255)
        alpha = ink_layer.getchannel("A")
        ink_layer.putalpha(Image.composite(alpha, Image.new("L", size, 0), mask))
    if stub.thermal:
        # Faded thermal paper: the print is lighter in patches and grey overall.
        fade = Image.effect_noise((max(1, size[0] // 60), max(1, size[1] // 60)), 60)
        fade = fade.resize(size, Image.Resampling.BICUBIC).point(lambda v: int(110 + v * 0.55))
        alpha = ink_layer.getchannel("A")
        ink_layer.putalpha(Image.composite(fade, alpha, alpha.point(lambda v: 255 if v else 0)))
    ticket.alpha_composite(ink_layer)
    return ticket.convert("RGB")


def photograph(ticket: Image.Image, rng: random.Random) -> Image.Image:
    """A phone photo cropped to the stub: tilt, perspective, blur, noise, small, JPEG."""
    table = rng.choice([(90, 70, 50), (200, 200, 195), (40, 40, 45), (150, 120, 90)])
    angle = rng.uniform(-4.0, 4.0)
    image = ticket.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=table)
    width, height = image.size
    if rng.random() < 0.6:
        # Perspective: the far edge of the stub is a little shorter.
        squeeze = rng.uniform(0.0, 0.06) * width
        side = rng.choice([0, 1])
        quad = (
            (squeeze, 0, 0, height, width, height, width - squeeze, 0)
            if side
            else (0, 0, squeeze, height, width - squeeze, height, width, 0)
        )
        image = image.transform(
            (width, height), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC, fillcolor=table
        )
    blur = rng.choice([0, 0.5, 0.8, 1.1])
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    noise = rng.choice([0, 10, 18])
    if noise:
        image = Image.blend(image, Image.effect_noise(image.size, noise).convert("RGB"), 0.1)
    target = rng.randint(480, 700)
    return image.resize(
        (target, int(image.height * target / image.width)), Image.Resampling.LANCZOS
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "stubs_real")
    parser.add_argument("--tune", type=int, default=72)
    parser.add_argument("--holdout", type=int, default=42)
    args = parser.parse_args()
    for part, count, seed in (("tune", args.tune, 2126), ("holdout", args.holdout, 7331)):
        rng = random.Random(seed)
        folder = args.out / part
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.jpg"):
            old.unlink()
        schedule = [entry for entry in LAYOUTS for _ in range(entry[2])]
        found: dict[str, dict[str, str | None]] = {}
        for index in range(count):
            kind, layout, _weight = schedule[index % len(schedule)]
            stub = layout(rng, part, f"{index:03d}-{kind}")
            regular, bold = rng.choice(FONT_FAMILIES[part])
            mono, mono_bold = MONO_FAMILIES[part]
            fonts = Fonts(FONTS / regular, FONTS / bold, FONTS / mono, FONTS / mono_bold)
            photo = photograph(render(stub, fonts, rng), rng)
            buffer = io.BytesIO()
            photo.save(buffer, "JPEG", quality=rng.choice([40, 55, 70]), optimize=True)
            name = f"{stub.name}.jpg"
            (folder / name).write_bytes(buffer.getvalue())
            found[name] = stub.labels
        (folder / "labels.json").write_text(
            json.dumps(found, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        size = sum(path.stat().st_size for path in folder.iterdir())
        print(f"{part}: {len(found)} stubs in {folder} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
