"""Render the labelled stub image set used by ``bench/evaluate_reader.py``.

    .venv/bin/python bench/make_stub_images.py [--out bench/stubs] [--count 48] [--seed 2026]

Stubs are drawn with Pillow in the layouts real tickets use (US concert and ballgame
tickets, German concert tickets with Block/Reihe/Platz or Stehplatz, UK tickets), with
varied fonts, sizes, colours, a tear-off part and a barcode, then "photographed": placed
on a table, rotated, blurred, noised and JPEG-compressed. ``labels.json`` holds what is
printed, normalised as the reader must return it (``null`` = not printed).

Fonts come from the system (DejaVu, Liberation, Noto when installed: see ``fc-list``);
without any, Pillow's built-in font is used, so the script always runs. The committed set
was made with the DejaVu family of Debian's fonts-dejavu-core.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/noto"),
)
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
MONTHS_EN = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
MONTHS_EN_LONG = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTHS_DE = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
DAYS_EN = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
DAYS_EN_LONG = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAYS_DE = ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."]

US_ACTS = (
    ("PEARL JAM", "TEN TOUR"),
    ("RADIOHEAD", "OK COMPUTER TOUR"),
    ("BRUCE SPRINGSTEEN", "THE RIVER TOUR"),
    ("FOO FIGHTERS", "WASTING LIGHT TOUR"),
    ("TOM PETTY AND THE HEARTBREAKERS", None),
    ("R.E.M.", "MONSTER TOUR"),
    ("THE ROLLING STONES", "VOODOO LOUNGE TOUR"),
    ("METALLICA", "WORLDWIRED TOUR"),
    ("PHISH", None),
    ("WILCO", None),
    ("BILLY JOEL", "IN CONCERT"),
    ("THE NATIONAL", None),
)
US_VENUES = (
    ("MADISON SQUARE GARDEN", "NEW YORK", "NY"),
    ("THE FORUM", "INGLEWOOD", "CA"),
    ("RED ROCKS AMPHITHEATRE", "MORRISON", "CO"),
    ("THE FILLMORE", "SAN FRANCISCO", "CA"),
    ("HOLLYWOOD BOWL", "LOS ANGELES", "CA"),
    ("RYMAN AUDITORIUM", "NASHVILLE", "TN"),
    ("UNITED CENTER", "CHICAGO", "IL"),
    ("THE CHICAGO THEATRE", "CHICAGO", "IL"),
    ("BEACON THEATRE", "NEW YORK", "NY"),
)
US_GAMES = (
    ("CHICAGO CUBS VS ST. LOUIS CARDINALS", "WRIGLEY FIELD", "CHICAGO", "IL"),
    ("BOSTON RED SOX VS NEW YORK YANKEES", "FENWAY PARK", "BOSTON", "MA"),
    ("GREEN BAY PACKERS VS CHICAGO BEARS", "LAMBEAU FIELD", "GREEN BAY", "WI"),
    ("LAKERS VS CELTICS", "STAPLES CENTER", "LOS ANGELES", "CA"),
)
DE_ACTS = (
    ("DIE TOTEN HOSEN", "Laune der Natour"),
    ("Die Ärzte", "Tour 2019"),
    ("RAMMSTEIN", "Europa Stadion Tour"),
    ("Herbert Grönemeyer", "Tumult Tour"),
    ("Helene Fischer", "Live 2018"),
    ("KRAFTWERK", None),
    ("Scorpions", "Crazy World Tour"),
    ("Udo Lindenberg", "Stärker als die Zeit Tour"),
    ("Fettes Brot", None),
    ("Seeed", None),
)
DE_VENUES = (
    ("ESPRIT arena", "Düsseldorf", "40474"),
    ("Olympiastadion", "Berlin", "14053"),
    ("LANXESS arena", "Köln", "50679"),
    ("Olympiahalle", "München", "80809"),
    ("Festhalle", "Frankfurt", "60327"),
    ("Barclaycard Arena", "Hamburg", "22525"),
    ("Westfalenhalle", "Dortmund", "44139"),
    ("Waldbühne", "Berlin", "14053"),
    ("Zenith", "München", "80807"),
    ("Columbiahalle", "Berlin", "10965"),
)
DE_GAMES = (
    ("FC Bayern München - Borussia Dortmund", "Allianz Arena", "München", "80939"),
    ("1. FC Köln vs. FC Schalke 04", "RheinEnergieSTADION", "Köln", "50933"),
)
UK_ACTS = (("ARCTIC MONKEYS", "AM TOUR"), ("ADELE", "LIVE 2016"), ("OASIS", None), ("BLUR", None))
UK_VENUES = (
    ("O2 ACADEMY BRIXTON", "LONDON"),
    ("WEMBLEY STADIUM", "LONDON"),
    ("ROYAL ALBERT HALL", "LONDON"),
    ("MANCHESTER ARENA", "MANCHESTER"),
)


@dataclass
class Printed:
    """One printed line: text, relative size (1 = body text), bold or not."""

    text: str
    size: float = 1.0
    bold: bool = False


@dataclass
class Stub:
    name: str
    lines: list[Printed]
    labels: dict[str, str | None]
    side: list[str]  # the tear-off part
    palette: tuple[tuple[int, int, int], tuple[int, int, int]]


def _fonts() -> dict[str, list[Path]]:
    regular: list[Path] = []
    bold: list[Path] = []
    for folder in FONT_DIRS:
        for path in sorted(folder.glob("*.ttf")) if folder.exists() else []:
            name = path.name.lower()
            if any(skip in name for skip in ("oblique", "italic", "math", "extralight")):
                continue
            (bold if "bold" in name else regular).append(path)
    return {"regular": regular, "bold": bold}


def _font(paths: list[Path], size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if paths:
        return ImageFont.truetype(str(paths[0]), size)
    return ImageFont.load_default(size)


def _money(amount: float, decimal: str) -> str:
    text = f"{amount:.2f}"
    return text.replace(".", decimal)


def us_concert(rng: random.Random, index: int) -> Stub:
    performer, tour = rng.choice(US_ACTS)
    venue, city, state = rng.choice(US_VENUES)
    day = _date(rng, 1985, 2019)
    hour, minute = rng.choice([(19, 30), (20, 0), (19, 0), (20, 30)])
    twelve = f"{hour - 12}:{minute:02d}"
    date_line = rng.choice(
        [
            f"{DAYS_EN[day.weekday()]} {MONTHS_EN[day.month - 1]} {day.day} {day.year} {twelve}PM",
            f"{DAYS_EN_LONG[day.weekday()].upper()}, {MONTHS_EN_LONG[day.month - 1].upper()} "
            f"{day.day}, {day.year} {twelve} PM",
            f"{day.month:02d}/{day.day:02d}/{day.year} {twelve}PM",
        ]
    )
    price = rng.choice([25.0, 32.5, 45.0, 49.5, 65.0, 89.0, 125.0])
    seated = rng.random() < 0.75
    section, row, seat = (
        str(rng.randint(101, 340)),
        rng.choice(["A", "G", "14", "22", "AA"]),
        str(rng.randint(1, 30)),
    )
    lines = [Printed(rng.choice(["TICKETMASTER", "LIVE NATION PRESENTS", "AEG PRESENTS"]), 0.7)]
    lines.append(Printed(performer, 2.0, True))
    if tour:
        lines.append(Printed(tour, 1.2, True))
    lines.append(Printed(venue, 1.0))
    lines.append(Printed(f"{city}, {state}", 0.9))
    lines.append(Printed(date_line, 1.0, True))
    if seated:
        if rng.random() < 0.5:
            lines.append(Printed(f"SEC {section} ROW {row} SEAT {seat}", 1.0, True))
        else:
            lines.append(Printed("SECTION   ROW   SEAT", 0.8))
            lines.append(Printed(f"{section}      {row}      {seat}", 1.1, True))
    else:
        lines.append(Printed("GENERAL ADMISSION", 1.0, True))
    fee = rng.choice([None, 6.5, 8.75])
    price_text = rng.choice([f"${price:.2f}", f"PRICE ${price:.2f}", f"${price:.2f} USD"])
    lines.append(Printed(price_text, 1.0))
    if fee:
        lines.append(Printed(f"CONV CHG ${fee:.2f}", 0.7))
    lines.append(Printed("NO REFUNDS / NO EXCHANGES", 0.6))
    side = [f"SEC {section}", f"ROW {row}", f"SEAT {seat}"] if seated else ["GA"]
    labels = _labels(
        event_name=tour or performer,
        performer=performer,
        venue=venue,
        city=city,
        event_date=day.isoformat(),
        event_time=f"{hour:02d}:{minute:02d}",
        section=section if seated else "GA",
        row=row if seated else None,
        seat=seat if seated else None,
        face_value=f"{price:.2f}",
        currency="USD",
    )
    return Stub(f"{index:02d}-us-concert", lines, labels, side, _palette(rng))


def us_game(rng: random.Random, index: int) -> Stub:
    game, venue, city, state = rng.choice(US_GAMES)
    day = _date(rng, 1990, 2019)
    hour, minute = rng.choice([(19, 5), (13, 20), (18, 10), (19, 10)])
    twelve_hour = hour - 12 if hour > 12 else hour
    price = rng.choice([18.0, 42.0, 65.0, 95.0])
    section, row, seat = (
        str(rng.randint(100, 540)),
        str(rng.randint(1, 30)),
        str(rng.randint(1, 24)),
    )
    lines = [
        Printed(game, 1.6, True),
        Printed(venue, 1.1),
        Printed(f"{city}, {state}", 0.9),
        Printed(
            f"{DAYS_EN[day.weekday()]} {MONTHS_EN[day.month - 1]} {day.day} {day.year} "
            f"{twelve_hour}:{minute:02d} {'PM' if hour >= 12 else 'AM'}",
            1.0,
            True,
        ),
        Printed(f"SEC {section}  ROW {row}  SEAT {seat}", 1.0, True),
        Printed(f"${price:.2f}", 1.0),
        Printed("RAIN OR SHINE", 0.6),
    ]
    labels = _labels(
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
    )
    return Stub(
        f"{index:02d}-us-game", lines, labels, [f"SEC {section}", f"ROW {row}"], _palette(rng)
    )


def de_concert(rng: random.Random, index: int) -> Stub:
    performer, tour = rng.choice(DE_ACTS)
    venue, city, postcode = rng.choice(DE_VENUES)
    day = _date(rng, 1995, 2023)
    start = rng.choice([(19, 0), (20, 0), (19, 30), (18, 30)])
    doors = (start[0] - 1, start[1])
    year = day.year
    date_line = rng.choice(
        [
            f"{DAYS_DE[day.weekday()]} {day.day:02d}.{day.month:02d}.{year}",
            f"{DAYS_DE[day.weekday()]} {day.day:02d}.{day.month:02d}.{year % 100:02d}",
            f"{day.day}. {MONTHS_DE[day.month - 1]} {year}",
        ]
    )
    time_line = rng.choice(
        [
            f"Einlass {doors[0]}:{doors[1]:02d} Uhr  Beginn {start[0]}:{start[1]:02d} Uhr",
            f"Beginn: {start[0]}.{start[1]:02d} Uhr",
        ]
    )
    price = rng.choice([39.9, 49.5, 59.0, 69.9, 79.75, 89.5, 104.0])
    price_line = rng.choice(
        [
            f"Preis: {_money(price, ',')} € inkl. VVK-Gebühr",
            f"EUR {_money(price, ',')}",
            f"{_money(price, ',')} EUR zzgl. Gebühren",
        ]
    )
    standing = rng.random() < 0.35
    block, row, seat = (
        rng.choice(["42", "N4", "C1", "214", "O"]),
        str(rng.randint(1, 30)),
        str(rng.randint(1, 40)),
    )
    lines = [
        Printed(
            rng.choice(["CTS EVENTIM präsentiert", "Eventim", "Karsten Jahnke präsentiert"]), 0.7
        )
    ]
    lines.append(Printed(performer, 2.0, True))
    if tour:
        lines.append(Printed(tour, 1.2))
    if rng.random() < 0.5:
        lines.append(Printed(f"{venue}, {city}", 1.0))
    else:
        lines.append(Printed(venue, 1.0))
        lines.append(Printed(f"{postcode} {city}", 0.9))
    lines.append(Printed(date_line, 1.1, True))
    lines.append(Printed(time_line, 0.9))
    if standing:
        lines.append(
            Printed(rng.choice(["Stehplatz", "Innenraum Stehplatz", "STEHPLATZ"]), 1.1, True)
        )
    elif rng.random() < 0.5:
        lines.append(Printed(f"Block/Reihe/Platz {block}/{row}/{seat}", 1.0, True))
    else:
        lines.append(Printed(f"Block {block}  Reihe {row}  Platz {seat}", 1.0, True))
    lines.append(Printed(price_line, 0.9))
    lines.append(Printed("Keine Rücknahme. Bitte aufbewahren!", 0.6))
    labels = _labels(
        event_name=tour or performer,
        performer=performer,
        venue=venue,
        city=city,
        event_date=day.isoformat(),
        event_time=f"{start[0]:02d}:{start[1]:02d}",
        section="GA" if standing else block,
        row=None if standing else row,
        seat=None if standing else seat,
        face_value=f"{price:.2f}",
        currency="EUR",
    )
    side = ["Stehplatz"] if standing else [f"Block {block}", f"Reihe {row}", f"Platz {seat}"]
    return Stub(f"{index:02d}-de-concert", lines, labels, side, _palette(rng))


def de_game(rng: random.Random, index: int) -> Stub:
    game, venue, city, postcode = rng.choice(DE_GAMES)
    day = _date(rng, 2005, 2023)
    start = rng.choice([(15, 30), (18, 30), (20, 30)])
    price = rng.choice([15.0, 25.5, 45.0, 70.0])
    block, row, seat = str(rng.randint(101, 347)), str(rng.randint(1, 40)), str(rng.randint(1, 30))
    lines = [
        Printed("Bundesliga", 0.8),
        Printed(game, 1.4, True),
        Printed(venue, 1.0),
        Printed(f"{postcode} {city}", 0.9),
        Printed(
            f"{DAYS_DE[day.weekday()]} {day.day:02d}.{day.month:02d}.{day.year}  "
            f"Anpfiff {start[0]}:{start[1]:02d} Uhr",
            1.0,
            True,
        ),
        Printed(f"Block {block}  Reihe {row}  Platz {seat}", 1.0, True),
        Printed(f"Preis {_money(price, ',')} €", 0.9),
    ]
    labels = _labels(
        event_name=game,
        performer=None,
        venue=venue,
        city=city,
        event_date=day.isoformat(),
        event_time=f"{start[0]:02d}:{start[1]:02d}",
        section=block,
        row=row,
        seat=seat,
        face_value=f"{price:.2f}",
        currency="EUR",
    )
    return Stub(f"{index:02d}-de-game", lines, labels, [f"Block {block}"], _palette(rng))


def uk_concert(rng: random.Random, index: int) -> Stub:
    performer, tour = rng.choice(UK_ACTS)
    venue, city = rng.choice(UK_VENUES)
    day = _date(rng, 1994, 2019)
    start = rng.choice([(19, 0), (19, 30), (20, 0)])
    price = rng.choice([22.5, 35.0, 47.5, 65.0])
    row, seat = rng.choice(["K", "M", "12"]), str(rng.randint(1, 40))
    seated = rng.random() < 0.5
    lines = [
        Printed("SJM CONCERTS PRESENT", 0.7),
        Printed(performer, 2.0, True),
    ]
    if tour:
        lines.append(Printed(tour, 1.2))
    lines += [
        Printed(f"{venue}, {city}", 1.0),
        Printed(
            f"{DAYS_EN_LONG[day.weekday()]} {day.day} {MONTHS_EN_LONG[day.month - 1]} {day.year}",
            1.0,
            True,
        ),
        Printed(f"Doors {start[0] - 12}.{start[1]:02d}pm", 0.9),
        Printed(f"ROW {row}  SEAT {seat}" if seated else "STANDING", 1.0, True),
        Printed(f"£{price:.2f} (plus booking fee)", 0.9),
    ]
    labels = _labels(
        event_name=tour or performer,
        performer=performer,
        venue=venue,
        city=city,
        event_date=day.isoformat(),
        event_time=f"{start[0]:02d}:{start[1]:02d}",
        section=None if seated else "GA",
        row=row if seated else None,
        seat=seat if seated else None,
        face_value=f"{price:.2f}",
        currency="GBP",
    )
    return Stub(f"{index:02d}-uk-concert", lines, labels, [], _palette(rng))


def _labels(**values: str | None) -> dict[str, str | None]:
    assert set(values) == set(FIELDS)
    return {name: values[name] for name in FIELDS}


def _date(rng: random.Random, first: int, last: int):  # type: ignore[no-untyped-def]
    import datetime as dt

    start = dt.date(first, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(start, dt.date(last, 12, 31).toordinal()))


def _palette(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    return rng.choice(
        [
            ((250, 246, 235), (20, 20, 20)),
            ((232, 240, 250), (10, 30, 80)),
            ((255, 236, 210), (60, 20, 10)),
            ((240, 250, 238), (15, 60, 25)),
            ((255, 255, 255), (0, 0, 0)),
            ((245, 225, 235), (70, 10, 40)),
        ]
    )


def render(stub: Stub, rng: random.Random, fonts: dict[str, list[Path]]) -> Image.Image:
    regular = rng.choice(fonts["regular"]) if fonts["regular"] else None
    bold = rng.choice(fonts["bold"]) if fonts["bold"] else regular
    base = rng.randint(24, 30)
    width = 1100
    height = int(sum(base * line.size * 1.45 for line in stub.lines) + 90)
    paper, ink = stub.palette
    ticket = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(ticket)
    draw.rectangle((6, 6, width - 7, height - 7), outline=ink, width=3)
    main_width = 800 if stub.side else width - 40
    if stub.side:
        # The tear-off part, behind a perforation.
        for y in range(12, height - 12, 14):
            draw.line((main_width + 10, y, main_width + 10, y + 7), fill=ink, width=2)
        small = _font([regular] if regular else [], int(base * 0.8))
        y = 40
        for text in stub.side:
            draw.text((main_width + 30, y), text, font=small, fill=ink)
            y += int(base * 1.3)
        # A barcode at the foot of the tear-off.
        x = main_width + 30
        while x < width - 30:
            bar = rng.choice([2, 3, 5])
            draw.rectangle((x, height - 90, x + bar, height - 30), fill=ink)
            x += bar + rng.choice([2, 3, 4])
    y = 30
    indent = rng.choice([30, 40, 60])
    centred = rng.random() < 0.3
    for line in stub.lines:
        path = bold if line.bold else regular
        font = _font([path] if path else [], int(base * line.size))
        if centred:
            text_width = draw.textlength(line.text, font=font)
            x = max(20, int((main_width - text_width) / 2))
        else:
            x = indent
        draw.text((x, y), line.text, font=font, fill=ink)
        y += int(base * line.size * 1.45)
    return ticket


def photograph(ticket: Image.Image, rng: random.Random, *, scan: bool = False) -> Image.Image:
    """Put the ticket on a table and take a slightly imperfect picture of it.

    ``scan``: a flatbed scan saved as PNG, straighter and without sensor noise.
    """
    angle = rng.uniform(-1.0, 1.0) if scan else rng.uniform(-4.0, 4.0)
    table = rng.choice([(90, 70, 50), (200, 200, 195), (40, 40, 45), (150, 120, 90)])
    rotated = ticket.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=table)
    margin = rng.randint(20, 70)
    photo = Image.new("RGB", (rotated.width + 2 * margin, rotated.height + 2 * margin), table)
    photo.paste(rotated, (margin, margin))
    blur = rng.choice([0, 0, 0.6, 0.9, 1.2])
    if blur:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
    noise_level = 0 if scan else rng.choice([0, 8, 14, 20])
    if noise_level:
        noise = Image.effect_noise(photo.size, noise_level).convert("RGB")
        photo = Image.blend(photo, noise, 0.12)
    # Phone photos are downscaled before upload more often than not.
    scale = rng.uniform(0.75, 1.0)
    return photo.resize((int(photo.width * scale), int(photo.height * scale)))


LAYOUTS = (us_concert, us_concert, de_concert, de_concert, us_game, uk_concert, de_game)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "stubs")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    fonts = _fonts()
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.[jp][pn]g"):
        old.unlink()
    labels: dict[str, dict[str, str | None]] = {}
    for index in range(args.count):
        layout = LAYOUTS[index % len(LAYOUTS)]
        stub = layout(rng, index)
        scan = index % 6 == 5
        photo = photograph(render(stub, rng, fonts), rng, scan=scan)
        if scan:
            name = f"{stub.name}.png"
            photo.save(args.out / name, "PNG", optimize=True)
        else:
            name = f"{stub.name}.jpg"
            photo.save(args.out / name, "JPEG", quality=rng.choice([55, 70, 80]), optimize=True)
        labels[name] = stub.labels
    (args.out / "labels.json").write_text(
        json.dumps(labels, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    size = sum(path.stat().st_size for path in args.out.iterdir())
    print(f"{len(labels)} stubs in {args.out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
