"""The forgiving form of text that search compares: accents and case folded away.

A stub printed "MÜNCHEN" or "CÁRDINALS" is found by "munchen" and "cardinals", and the other
way round, because the stored search text and the words searched for go through the same
:func:`fold`. Stubs keep that folded text in ``stubs.search_text`` (event, performer, venue,
city and the event's year) and ``stubs.search_venue`` (the venue alone), written by the
model whenever those fields change (``models/stub.py``); searches fold their words here and
compare with ``LIKE '%word%'``, which trigram indexes serve on PostgreSQL
(docs/PERFORMANCE.md).

Changing what :func:`fold` produces changes what is stored: a migration must then write the
text of every stub again (as ``w001`` did first).
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Final

# Letters that carry no combining mark to strip (NFKD leaves them whole) but that a reader
# types without their stroke or ligature. "ß" needs no entry: casefold makes it "ss".
_LETTERS: Final = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",  # noqa: RUF001 - the dotless i is the point
        "ħ": "h",
    }
)


def fold(text: str) -> str:
    """``"Björk  CÁRDINALS Straße"`` → ``"bjork cardinals strasse"``.

    Compatibility-decompose (NFKD: "é" becomes "e" plus a combining accent, "ﬁ" becomes
    "fi"), drop the combining marks, case-fold (which also turns "ß" into "ss"), replace
    the few letters that have no decomposition, and collapse runs of whitespace.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().translate(_LETTERS).split())


def search_words(query: str) -> tuple[str, ...]:
    """The distinct folded words of a search, in the order typed."""
    return tuple(dict.fromkeys(fold(query).split()))


def stub_search_text(
    *,
    event_name: str | None,
    performer: str | None,
    venue: str | None,
    city: str | None,
    event_date: date | None,
) -> str:
    """What a marketplace or collection search over a stub compares its words with.

    The event's year is part of it, so that "1997" finds the events of 1997.
    """
    parts = [part for part in (event_name, performer, venue, city) if part]
    if event_date is not None:
        parts.append(f"{event_date.year:04d}")
    return fold(" ".join(parts))


def venue_search_text(venue: str | None) -> str:
    """What the venue filter compares with."""
    return fold(venue or "")
