"""The folding that lets search forgive accents and case, for stored text and searches alike."""

from __future__ import annotations

from datetime import date

import pytest

from stubcollector.domain.search_text import (
    fold,
    search_words,
    stub_search_text,
    venue_search_text,
)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("München", "munchen"),
        ("MÜNCHEN", "munchen"),
        ("CÁRDINALS", "cardinals"),
        ("Beyoncé", "beyonce"),
        ("Björk", "bjork"),
        ("Düsseldorf", "dusseldorf"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Sigur Rós", "sigur ros"),
        ("Mötley Crüe", "motley crue"),
        ("Ærøskøbing", "aeroskobing"),
        ("Łódź", "lodz"),
        ("Œuvre", "oeuvre"),
        ("İstanbul", "istanbul"),
        ("ﬁnal  \t Tour\n", "final tour"),
        ("Ｗｉｄｅ", "wide"),  # noqa: RUF001 - full-width letters are the point
        ("Cubs vs. Cardinals 100%", "cubs vs. cardinals 100%"),
    ],
)
def test_fold_removes_accents_and_case(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_a_folded_text_folds_to_itself() -> None:
    text = fold("Théâtre du Châtelet · Paris 1997 ß Ø")
    assert fold(text) == text


def test_search_words_are_folded_and_distinct_in_typed_order() -> None:
    assert search_words("  München MUNCHEN  Olympiahalle 1997 ") == (
        "munchen",
        "olympiahalle",
        "1997",
    )
    assert search_words("") == ()
    # A lone combining accent is no word.
    assert search_words("\u0301") == ()


def test_stub_search_text_holds_every_searched_field_and_the_year() -> None:
    assert (
        stub_search_text(
            event_name="Laune der Natour",
            performer="Die Toten Hosen",
            venue="Olympiahalle",
            city="München",
            event_date=date(1997, 10, 29),
        )
        == "laune der natour die toten hosen olympiahalle munchen 1997"
    )
    assert (
        stub_search_text(
            event_name=None, performer="CÁRDINALS", venue=None, city=None, event_date=None
        )
        == "cardinals"
    )
    assert venue_search_text("Théâtre du Châtelet") == "theatre du chatelet"
    assert venue_search_text(None) == ""
