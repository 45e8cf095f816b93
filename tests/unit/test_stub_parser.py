"""The printed-text parser on the forms real stubs use (US, European, German, UK)."""

from __future__ import annotations

import pytest

from stubcollector.adapters.ocr.base import READ_FIELDS, FieldValue, KnownNames
from stubcollector.adapters.ocr.parser import (
    FIELD_THRESHOLDS,
    OcrLine,
    apply_thresholds,
    detect_language,
    lines_from_text,
    normalize_amount,
    normalize_currency,
    normalize_date,
    normalize_price,
    normalize_time,
    parse_stub_text,
)


def values(text: str) -> dict[str, str]:
    return {name: field.value for name, field in parse_stub_text(lines_from_text(text)).items()}


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("SUN APR 19 2009", "2009-04-19"),
        ("Sunday, April 19, 2009", "2009-04-19"),
        ("APR 19, 2009 8:00PM", "2009-04-19"),
        ("SATURDAY OCTOBER 29 2016", "2016-10-29"),
        ("Oct. 29th, 2016", "2016-10-29"),
        ("29.10.2017", "2017-10-29"),
        ("So. 29.10.2017", "2017-10-29"),
        ("Sa. 29.09.18", "2018-09-29"),
        ("Fr 1.6.1990", "1990-06-01"),
        ("29. Oktober 2017", "2017-10-29"),
        ("3. März 2018", "2018-03-03"),
        ("3. Maerz 2018", "2018-03-03"),
        ("Mi, 12. Dez. 2012", "2012-12-12"),
        ("12 December 2012", "2012-12-12"),
        ("19th April 2009", "2009-04-19"),
        ("2017-10-29", "2017-10-29"),
        ("04/19/2009", "2009-04-19"),
        ("4/19/09", "2009-04-19"),
        ("19/04/2009", "2009-04-19"),
        ("7/17/97", "1997-07-17"),
        ("17 JUL '97", "1997-07-17"),
        ("12 juin 2015", "2015-06-12"),
        ("Fr.30.12.11", "2011-12-30"),
        ("08/19/19858:00PM", "1985-08-19"),
        ("Thursday 21 October2004", "2004-10-21"),
        ("FRI 0CT 25 2013", "2013-10-25"),
    ],
)
def test_dates(printed: str, expected: str) -> None:
    assert normalize_date(printed) == expected
    assert values(f"SOME BAND\n{printed}")["event_date"] == expected


def test_ambiguous_slash_dates_follow_the_stubs_language() -> None:
    assert values("03/04/2010 8PM\nSEC 1")["event_date"] == "2010-03-04"
    assert values("03/04/2010 20 Uhr\nReihe 4 Platz 9")["event_date"] == "2010-04-03"


def test_a_printed_weekday_settles_an_ambiguous_date() -> None:
    # 5 March 2010 was a Friday, 3 May 2010 a Monday.
    assert values("FRI 05/03/2010")["event_date"] == "2010-03-05"
    assert values("MON 05/03/2010")["event_date"] == "2010-05-03"


def test_impossible_and_purchase_dates_are_not_the_event_date() -> None:
    assert normalize_date("31.02.2017") is None
    assert normalize_date("13/13/2013") is None
    parsed = values("Bestelldatum 01.09.2017\nDIE ÄRZTE\nSa. 21.10.2017")
    assert parsed["event_date"] == "2017-10-21"


def test_a_year_alone_or_a_price_is_not_a_date() -> None:
    assert "event_date" not in values("TEN TOUR 1992\n$45.00")


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("8:00PM", "20:00"),
        ("8:00 PM", "20:00"),
        ("8:00 p.m.", "20:00"),
        ("7 PM", "19:00"),
        ("12:30 AM", "00:30"),
        ("12:00 PM", "12:00"),
        ("20:00", "20:00"),
        ("20.00 Uhr", "20:00"),
        ("20 Uhr", "20:00"),
        ("19h30", "19:30"),
        ("7.30pm", "19:30"),
        ("Doors 7.00 p.m.", "19:00"),
    ],
)
def test_times(printed: str, expected: str) -> None:
    assert normalize_time(printed) == expected


def test_show_time_wins_over_doors() -> None:
    assert values("Einlass 18:30 Uhr Beginn 20:00 Uhr")["event_time"] == "20:00"
    assert values("DOORS 7:00PM SHOW 8:00PM")["event_time"] == "20:00"
    assert values("Einlass: 18.00 Uhr\nBeginn: 19.30 Uhr")["event_time"] == "19:30"
    assert values("DOORS 6PM")["event_time"] == "18:00"


def test_dates_and_prices_are_not_times() -> None:
    parsed = values("29.10.2017\n12.50 EUR")
    assert "event_time" not in parsed


@pytest.mark.parametrize(
    ("printed", "amount", "currency"),
    [
        ("$45.00", "45.00", "USD"),
        ("$ 45", "45.00", "USD"),
        ("USD 45.00", "45.00", "USD"),
        ("45,00 €", "45.00", "EUR"),
        ("€ 69,90", "69.90", "EUR"),
        ("EUR 69,90", "69.90", "EUR"),
        ("69,90 EUR", "69.90", "EUR"),
        ("1.234,50 €", "1234.50", "EUR"),
        ("$1,234.50", "1234.50", "USD"),
        ("DM 45,-", "45.00", "DEM"),
        ("£25.00", "25.00", "GBP"),
        ("CHF 80.-", "80.00", "CHF"),
        ("CAD 59.50", "59.50", "CAD"),
        ("US$ 12", "12.00", "USD"),
    ],
)
def test_prices(printed: str, amount: str, currency: str) -> None:
    assert normalize_price(printed) == (amount, currency)
    parsed = values(f"SOME BAND\n{printed}")
    assert (parsed["face_value"], parsed["currency"]) == (amount, currency)


def test_labelled_price_beats_fees() -> None:
    parsed = values("CONV CHG $7.50\nPRICE $45.00\nFACILITY FEE $2.00")
    assert parsed["face_value"] == "45.00"
    parsed = values("Preis: 59,00 € zzgl. VVK-Gebühr 5,90 €")
    assert (parsed["face_value"], parsed["currency"]) == ("59.00", "EUR")


def test_price_label_without_currency() -> None:
    parsed = values("PRICE 95.00")
    assert parsed["face_value"] == "95.00"
    assert "currency" not in parsed


def test_percentages_are_not_prices() -> None:
    assert "face_value" not in values("inkl. 19% MwSt")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("45", "45.00"), ("45,5", "45.50"), ("1.234", "1234.00"), ("1,234", "1234.00"), ("x", None)],
)
def test_amounts(raw: str, expected: str | None) -> None:
    assert normalize_amount(raw) == expected


def test_currency_names() -> None:
    assert normalize_currency("€") == "EUR"
    assert normalize_currency("euro") == "EUR"
    assert normalize_currency("usd") == "USD"
    assert normalize_currency("money") is None


@pytest.mark.parametrize(
    ("printed", "seating"),
    [
        ("SEC 112 ROW 14 SEAT 7", ("112", "14", "7")),
        ("SECTION 112 ROW G SEAT 7", ("112", "G", "7")),
        ("Sec. 210, Row 5, Seat 14", ("210", "5", "14")),
        ("SEC: 101  ROW: AA  SEAT: 3", ("101", "AA", "3")),
        ("Block 42 Reihe 12 Platz 7", ("42", "12", "7")),
        ("Block: C1 Reihe: 3 Platz: 21", ("C1", "3", "21")),
        ("Block/Reihe/Platz 42/12/7", ("42", "12", "7")),
        ("Block / Reihe / Platz: 42 / 12 / 7", ("42", "12", "7")),
        ("SEC/ROW/SEAT 112/14/7", ("112", "14", "7")),
        ("Rang 1 Reihe 5 Sitzplatz 12", ("1", "5", "12")),
        ("SECTION ROW SEAT\n210 5 14", ("210", "5", "14")),
        ("Block Reihe Platz\nN4 17 22", ("N4", "17", "22")),
        ("Block/Reihe/Platz\n42/12/7", ("42", "12", "7")),
    ],
)
def test_seats(printed: str, seating: tuple[str, str, str]) -> None:
    parsed = values(f"SOME BAND\n{printed}")
    assert (parsed["section"], parsed["row"], parsed["seat"]) == seating


@pytest.mark.parametrize(
    "printed",
    ["GENERAL ADMISSION", "GA", "Stehplatz", "Innenraum Stehplatz", "GEN ADM", "Freie Platzwahl"],
)
def test_general_admission(printed: str) -> None:
    parsed = values(f"SOME BAND\n{printed}")
    assert parsed["section"] == "GA"
    assert "row" not in parsed
    assert "seat" not in parsed


def test_seat_words_inside_other_words_are_not_labels() -> None:
    parsed = values("TOMORROW NEVER KNOWS\nMarktplatz Open Air")
    assert "row" not in parsed
    assert "seat" not in parsed


@pytest.mark.parametrize(
    ("printed", "venue", "city"),
    [
        ("MADISON SQUARE GARDEN, NEW YORK, NY", "MADISON SQUARE GARDEN", "NEW YORK"),
        ("MADISON SQUARE GARDEN NEW YORK NY", "MADISON SQUARE GARDEN", "NEW YORK"),
        ("ESPRIT arena, Düsseldorf", "ESPRIT arena", "Düsseldorf"),
        ("Olympiahalle - München", "Olympiahalle", "München"),
        ("at the Fillmore, San Francisco", "the Fillmore", "San Francisco"),
        ("Ort: Zeche Bochum", "Zeche Bochum", None),
        ("Wembley Stadium London", "Wembley Stadium", "London"),
        ("Red Rocks Amphitheatre, Morrison, CO", "Red Rocks Amphitheatre", "Morrison"),
    ],
)
def test_venues(printed: str, venue: str, city: str | None) -> None:
    parsed = values(f"SOME BAND\n{printed}")
    assert parsed["venue"] == venue
    assert parsed.get("city") == city


def test_city_below_the_venue_past_a_tear_off_line() -> None:
    assert (
        values("CUBS VS CARDINALS\nWRIGLEY FIELD\nROW 5\nCHICAGO, IL\nSEC 1 ROW 5 SEAT 2")["city"]
        == "CHICAGO"
    )


def test_venue_without_a_venue_word_above_its_city() -> None:
    parsed = values("Die Ärzte\nZenith\n80807 München\nSa. 12.10.2019")
    assert (parsed["venue"], parsed["city"]) == ("Zenith", "München")
    assert values("Die Ärzte\nTour 2019\nZenith, München")["venue"] == "Zenith"


def test_city_on_the_line_below_the_venue() -> None:
    assert values("RAMMSTEIN\nOlympiastadion\n14053 Berlin")["city"] == "Berlin"
    assert values("PHISH\nRED ROCKS AMPHITHEATRE\nMORRISON, CO")["city"] == "MORRISON"
    assert values("WILCO\nTHE CHICAGO THEATRE\nChicago")["city"] == "Chicago"


def test_performer_is_the_biggest_print_and_the_tour_is_the_event() -> None:
    lines = [
        OcrLine("LIVE NATION PRESENTS", 0.99, 18),
        OcrLine("PEARL JAM", 0.98, 60),
        OcrLine("TEN TOUR", 0.97, 30),
        OcrLine("with special guest", 0.9, 16),
        OcrLine("MADISON SQUARE GARDEN", 0.97, 24),
    ]
    parsed = parse_stub_text(lines)
    assert parsed["performer"].value == "PEARL JAM"
    assert parsed["event_name"].value == "TEN TOUR"
    assert parsed["venue"].value == "MADISON SQUARE GARDEN"


def test_title_under_the_act_is_the_event() -> None:
    parsed = values("DIE TOTEN HOSEN\nLaune der Natour\nESPRIT arena")
    assert parsed["performer"] == "DIE TOTEN HOSEN"
    assert parsed["event_name"] == "Laune der Natour"


def test_without_a_title_the_act_is_the_event() -> None:
    parsed = values("RADIOHEAD\nROSELAND BALLROOM\nJUL 17 1997")
    assert parsed["performer"] == parsed["event_name"] == "RADIOHEAD"


def test_sports_fixture_is_the_event() -> None:
    parsed = values("CHICAGO CUBS VS ST. LOUIS CARDINALS\nWRIGLEY FIELD\nSAT OCT 29 2016")
    assert parsed["event_name"] == "CHICAGO CUBS VS ST. LOUIS CARDINALS"


def test_a_whole_us_stub() -> None:
    text = """TICKETMASTER
    LIVE NATION PRESENTS
    PEARL JAM
    TEN TOUR
    MADISON SQUARE GARDEN
    NEW YORK, NY
    SUN APR 19 2009 8:00PM
    SEC 112 ROW 14 SEAT 7
    $45.00
    CONV CHG $7.50
    NO REFUNDS/NO EXCHANGES"""
    assert values(text) == {
        "performer": "PEARL JAM",
        "event_name": "TEN TOUR",
        "venue": "MADISON SQUARE GARDEN",
        "city": "NEW YORK",
        "event_date": "2009-04-19",
        "event_time": "20:00",
        "section": "112",
        "row": "14",
        "seat": "7",
        "face_value": "45.00",
        "currency": "USD",
    }


def test_a_whole_german_stub() -> None:
    text = """CTS EVENTIM präsentiert
    DIE TOTEN HOSEN
    Laune der Natour 2017
    ESPRIT arena, Düsseldorf
    So. 29.10.2017 Einlass 17:30 Uhr Beginn 19:00 Uhr
    Block/Reihe/Platz 42/12/7
    Preis: 69,90 € inkl. VVK-Gebühr
    Keine Rücknahme"""
    assert values(text) == {
        "performer": "DIE TOTEN HOSEN",
        "event_name": "Laune der Natour 2017",
        "venue": "ESPRIT arena",
        "city": "Düsseldorf",
        "event_date": "2017-10-29",
        "event_time": "19:00",
        "section": "42",
        "row": "12",
        "seat": "7",
        "face_value": "69.90",
        "currency": "EUR",
    }


def test_a_whole_standing_ticket() -> None:
    text = "Rammstein\nStehplatz\nOlympiastadion\n14053 Berlin\nSa. 29.09.18 19:30\nEUR 89,50"
    parsed = values(text)
    assert parsed["performer"] == "Rammstein"
    assert parsed["section"] == "GA"
    assert (parsed["venue"], parsed["city"]) == ("Olympiastadion", "Berlin")
    assert (parsed["event_date"], parsed["event_time"]) == ("2018-09-29", "19:30")
    assert (parsed["face_value"], parsed["currency"]) == ("89.50", "EUR")


def test_confidence_follows_the_ocr_and_stays_in_range() -> None:
    sure = parse_stub_text([OcrLine("SUN APR 19 2009", 0.99)])["event_date"]
    unsure = parse_stub_text([OcrLine("SUN APR 19 2009", 0.5)])["event_date"]
    assert 0 < unsure.confidence < sure.confidence <= 1


def test_nothing_to_read() -> None:
    assert parse_stub_text([]) == {}
    assert values("!!! ~~~\n1234567890123") == {}


def test_title_under_the_act_past_tear_off_lines() -> None:
    parsed = values("DIE TOTEN HOSEN\nReihe 17\nLaune der Natour\nPlatz 22\nOlympiahalle")
    assert parsed["event_name"] == "Laune der Natour"


def test_a_glued_tear_off_label_is_not_an_act() -> None:
    parsed = values("WILCO\nROWAA\nTHE CHICAGO THEATRE")
    assert parsed["event_name"] == "WILCO"


# --- issue 21: the layout, organisers, addresses, languages, known names, thresholds -------


def test_labels_over_values_in_their_own_columns() -> None:
    # Eventim: every label and every value its own box, values under their labels.
    parsed = values(
        "Eingang      Block      Reihe      Platz\n"
        "Nord         L4         12         17\n"
        "HELENE FISCHER"
    )
    assert (parsed["section"], parsed["row"], parsed["seat"]) == ("L4", "12", "17")
    assert parsed["performer"] == "HELENE FISCHER"


def test_labels_in_one_column_and_values_in_the_next() -> None:
    parsed = values(
        "Block:             214\nReihe:             21\nPlatz:             20\nPAUL McCARTNEY"
    )
    assert (parsed["section"], parsed["row"], parsed["seat"]) == ("214", "21", "20")


def test_a_us_ticketmaster_table_with_the_price_under_admission() -> None:
    parsed = values(
        "SECTION/AISLE    ROW/BOX    SEAT    ADMISSION\n"
        "227              22         21      45.00\n"
        "BRUCE SPRINGSTEEN\n"
        "THE SPECTRUM\n"
        "MON JUL 20 1992 7:30PM"
    )
    assert (parsed["section"], parsed["row"], parsed["seat"]) == ("227", "22", "21")
    assert parsed["face_value"] == "45.00"
    assert "currency" not in parsed  # no currency printed anywhere
    # The slash the OCR often drops, and a misread label, still name their columns.
    parsed = values("SECTIONIAISLE    ROWBOX    SEAT\n227              22        21")
    assert (parsed["section"], parsed["row"], parsed["seat"]) == ("227", "22", "21")


def test_a_misread_label_is_neither_a_value_nor_lost() -> None:
    parsed = values("Vak       RJ       Stoel\n12        7        18")
    assert (parsed["section"], parsed["row"], parsed["seat"]) == ("12", "7", "18")
    assert values("Block: 3\nRelhe: 24\nPlatz: 12")["row"] == "24"


@pytest.mark.parametrize(
    ("printed", "seating"),
    [
        ("Bloc B  Rang 12  Place 7", ("B", "12", "7")),  # French: Rang is the row
        ("Sector C4 Fila 29 Asiento 11", ("C4", "29", "11")),
        ("Settore 203 Fila 12 Posto 7", ("203", "12", "7")),
        ("Vak 12 Rij 7 Stoel 18", ("12", "7", "18")),
        ("Tribüne N12 Reihe 3 Sitz 4", ("N12", "3", "4")),
        ("Bereich Parkett Reihe 7 Platz 2", ("Parkett", "7", "2")),
    ],
)
def test_seat_labels_in_european_languages(printed: str, seating: tuple[str, str, str]) -> None:
    parsed = values(f"SOME BAND\n{printed}")
    assert (parsed["section"], parsed["row"], parsed["seat"]) == seating


@pytest.mark.parametrize(
    "printed", ["FOSSE", "Pista", "POSTO UNICO", "STAANPLAATS", "GENERALADMISSION"]
)
def test_standing_in_european_languages(printed: str) -> None:
    assert values(f"SOME BAND\n{printed}")["section"] == "GA"


def test_glued_tear_off_labels_carry_their_values() -> None:
    parsed = values("SEC227\nROWAA\nSEAT 17")
    assert (parsed["section"], parsed["row"], parsed["seat"]) == ("227", "AA", "17")


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("Sonntag, 29.10.2017", "2017-10-29"),
        ("Fr. 12.09.07", "2007-09-12"),
        ("SAT APR 25 2009", "2009-04-25"),
        ("SAT APR252009", "2009-04-25"),
        ("FRI JUL 19 2013 8:00PM", "2013-07-19"),
        ("dimanche 15 janvier 2017 21h00", "2017-01-15"),
        ("Martes, 26 de agosto de 2003 20:30 h", "2003-08-26"),
        ("Sabato 12 giugno 2015 ore 21:00", "2015-06-12"),
        ("zondag 25 juni 2023 Aanvang 21:30 uur", "2023-06-25"),
        ("Sa., 3. Okt. 2015", "2015-10-03"),
    ],
)
def test_dates_in_the_forms_real_stubs_print(printed: str, expected: str) -> None:
    assert values(f"SOME BAND\n{printed}")["event_date"] == expected


def test_a_word_that_is_no_month_is_no_date() -> None:
    assert "event_date" not in values("SOME BAND\n12 Apostel 2015")


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("Beginn 20:00 Uhr", "20:00"),
        ("Einlass 18:30 Uhr", "18:30"),
        ("FRI JUL 19 2013 8:00PM", "20:00"),
        ("dimanche 15 janvier 2017 21h00", "21:00"),
        ("Aanvang 20:15 uur", "20:15"),
    ],
)
def test_times_in_the_forms_real_stubs_print(printed: str, expected: str) -> None:
    assert values(f"SOME BAND\n{printed}")["event_time"] == expected


@pytest.mark.parametrize(
    ("printed", "amount", "currency"),
    [
        ("Preis: 50,70 EUR inkl. Gebühren", "50.70", "EUR"),
        ("EUR 36.45", "36.45", "EUR"),  # a dot, still euros (issue 22)
        ("$7.50", "7.50", "USD"),
        ("£25.00", "25.00", "GBP"),
        ("Face value £22.50 + b/fee", "22.50", "GBP"),
        ("Prix: 68,00 €", "68.00", "EUR"),
    ],
)
def test_prices_keep_their_own_currency(printed: str, amount: str, currency: str) -> None:
    parsed = values(f"SOME BAND\n{printed}")
    assert (parsed["face_value"], parsed["currency"]) == (amount, currency)


def test_the_reader_does_not_invent_accents() -> None:
    # The recogniser decorates capitals now and then; English stubs print none.
    parsed = values("CHICAGO CUBS VS ST. LOUIS CÁRDINALS\nWRIGLEY FIELD\nSEC 112 ROW 5")
    assert parsed["event_name"] == "CHICAGO CUBS VS ST. LOUIS CARDINALS"
    # Accents the stub's language uses stay, as do names in mixed case on English stubs.
    assert values("Herbert Grönemeyer\nBlock 3 Reihe 4 Platz 5")["performer"] == (
        "Herbert Grönemeyer"
    )
    assert values("Christophe Maé\nBloc B Rang 2 Place 36")["performer"] == "Christophe Maé"
    assert values("Beyoncé\nSEC 112 ROW 5 SEAT 1")["performer"] == "Beyoncé"


def test_sponsor_and_radio_logos_are_not_the_act_however_big() -> None:
    lines = [
        OcrLine("eventim.de", 1.0, 13, left=18, top=11, right=80),
        OcrLine("SWR3", 1.0, 40, left=214, top=5, right=300),
        OcrLine("Block: 214", 1.0, 18, left=15, top=60, right=120),
        OcrLine("PAUL McCARTNEY", 1.0, 22, left=17, top=90, right=240),
        OcrLine("Out There Tour", 1.0, 18, left=18, top=116, right=130),
    ]
    parsed = parse_stub_text(lines)
    assert parsed["performer"].value == "PAUL McCARTNEY"
    assert parsed["event_name"].value == "Out There Tour"
    # Half-read logos and unknown stations too.
    for logo in ("Antenne Baye", "Radio PSR", "KROQ", "Q104.3", "WNEW-FM"):
        lines = [OcrLine(logo, 1.0, 40), OcrLine("THE WHO", 1.0, 24)]
        assert parse_stub_text(lines)["performer"].value == "THE WHO", logo


def test_a_presenter_over_presents_is_not_the_act() -> None:
    lines = [
        OcrLine("Kilimanjaro Live", 1.0, 34, left=20, top=10, right=300),
        OcrLine("presents", 1.0, 14, left=20, top=48, right=90),
        OcrLine("PULP", 1.0, 30, left=20, top=70, right=100),
    ]
    assert parse_stub_text(lines)["performer"].value == "PULP"


def test_a_name_printed_over_two_lines_is_read_whole() -> None:
    lines = [
        OcrLine("HELENE", 1.0, 30, left=10, top=40, right=120),
        OcrLine("FISCHER", 1.0, 29, left=11, top=72, right=140),
        OcrLine("Farbenspiel Live - Die Tournee", 1.0, 18, left=10, top=110, right=300),
    ]
    parsed = parse_stub_text(lines)
    assert parsed["performer"].value == "HELENE FISCHER"


def test_a_price_line_is_not_the_act() -> None:
    parsed = values("104,00 € inkl. 10% VVK-Geb.\nUdo Lindenberg")
    assert parsed["performer"] == "Udo Lindenberg"


@pytest.mark.parametrize(
    ("printed", "venue", "city"),
    [
        ("Olympiahalle, Spiridon-Louis-Ring 21, 80809 München", "Olympiahalle", "München"),
        ("Olympiahalle\nSpiridon-Louis-Ring 21, 80809 München", "Olympiahalle", "München"),
        ("Columbiahalle\nColumbiadamm 13-21, 10965 Berlin", "Columbiahalle", "Berlin"),
        ("Zenith\nLilienthalallee 29\n80939 München", "Zenith", "München"),
        ("WINTERLAND - SAN FRANCISCO, CA", "WINTERLAND", "SAN FRANCISCO"),
        ("WRIGLEY FIELD CHICAGO, IL", "WRIGLEY FIELD", "CHICAGO"),
        ("Paradiso - Amsterdam", "Paradiso", "Amsterdam"),
    ],
)
def test_the_venue_is_not_its_address(printed: str, venue: str, city: str) -> None:
    parsed = values(f"SOME BAND\n{printed}\nSa. 12.10.2019")
    assert (parsed["venue"], parsed["city"]) == (venue, city)
    assert parsed["performer"] == "SOME BAND"


def test_known_names_are_recognised_and_spelled_the_known_way() -> None:
    known = KnownNames(performers=("Herbert Grönemeyer", "Helene Fischer"), venues=("Zenith",))
    lines = lines_from_text("SWR3\nHERBERT GRONEMEYFR\nZENlTH\nSa. 12.10.2019")
    parsed = parse_stub_text(lines, known)
    assert parsed["performer"].value == "Herbert Grönemeyer"
    assert parsed["performer"].confidence >= 0.9
    assert parsed["venue"].value == "Zenith"
    # A first name alone is not taken for the whole known name.
    parsed = parse_stub_text(lines_from_text("HELENE\nZenith"), known)
    assert parsed["performer"].value == "HELENE"


def test_thresholds_leave_unsure_fields_empty() -> None:
    fields = {
        "performer": FieldValue("NJOY", 0.4),
        "venue": FieldValue("Zenith", 0.9),
        "face_value": FieldValue("45.00", 0.2),
        "currency": FieldValue("EUR", 0.9),
    }
    kept = apply_thresholds(fields)
    assert set(kept) == {"venue"}  # the currency goes with its amount
    assert apply_thresholds(fields, {}) == fields
    assert set(FIELD_THRESHOLDS) == set(READ_FIELDS)


def test_a_logo_as_big_as_the_act_makes_the_act_unsure() -> None:
    clear = parse_stub_text([OcrLine("THE WHO", 1.0, 40), OcrLine("Cow Palace", 1.0, 18)])
    close = parse_stub_text([OcrLine("THE WHO", 1.0, 40), OcrLine("OCEAN DRIVE", 1.0, 38)])
    assert close["performer"].confidence < FIELD_THRESHOLDS["performer"]
    assert clear["performer"].confidence >= FIELD_THRESHOLDS["performer"]


def test_language_detection() -> None:
    assert detect_language("Block 3 Reihe 4 Platz 5 Beginn 20 Uhr") == "de"
    assert detect_language("Bloc B Rang 2 Place 36 dimanche") == "fr"
    assert detect_language("SEC 112 ROW 5 SEAT 7 SAT APR 25 2009") == "en"
