"""Names on a stub that are not the act or the venue, and names we already know.

The organiser list (``data/organisers.txt``: ticket sellers, promoters, radio stations,
sponsors) keeps logos printed larger than the act from being read as the act. Known
performers and venues (:class:`~stubcollector.adapters.ocr.base.KnownNames`, from what
owners confirmed) make a line that fuzzily matches one a strong candidate, spelled the
known way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process, utils

_ORGANISERS_FILE = Path(__file__).parent / "data" / "organisers.txt"
# Words that make a line the organiser's, whatever the name: "SWR3 präsentiert".
_PRESENTS = re.compile(
    r"\b(?:presents?|präsentiert|praesentiert|präsentieren|présente|presenta|presentano|"
    r"presenteert|welcomes?|begrüßt|in\s+association\s+with|in\s+zusammenarbeit\s+mit|"
    r"veranstalter|promoter|organisé\s+par|organizza|organiza)\b",
    re.IGNORECASE,
)
# Radio stations the list does not know: call letters (WXRT, KROQ-FM), "Radio X", "104.3 FM",
# names with a channel number (SWR3, 1LIVE, hr3, 3FM).
_STATION = re.compile(
    r"^(?:[KW][A-Z]{2,3}(?:[- ]?FM)?|radio\s+\S+(?:\s+\S+)?|\S+\s+radio|[\d.]+\s*fm|\S*fm|"
    r"[a-z]{1,5}\d{1,3}|\d{1,3}[a-z]{1,5}|q\s?\d{2,3}(?:\.\d)?)\W*$",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """Lower case without accents, for comparing names as people read them."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def _organiser_names() -> tuple[str, ...]:
    return tuple(
        fold(line.strip())
        for line in _ORGANISERS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )


@lru_cache(maxsize=1)
def _organiser_pattern() -> re.Pattern[str]:
    names = _organiser_names()
    alternation = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


def is_organiser(text: str) -> bool:
    """A line made mostly of a seller's, promoter's, radio's or sponsor's name."""
    folded = fold(text)
    letters = sum(ch.isalnum() for ch in folded)
    if not letters:
        return False
    if _PRESENTS.search(text):
        return True
    rest = _organiser_pattern().sub("", folded)
    remaining = sum(ch.isalnum() for ch in rest)
    if remaining <= letters * 0.4:
        return True
    # A logo the OCR half-read ("Antenne Baye", "Gérard Drout Productions").
    if len(folded) <= 40:
        close = process.extractOne(
            folded, _organiser_names(), scorer=fuzz.partial_ratio, score_cutoff=88.0
        )
        if close is not None and len(str(close[0])) >= max(5, 0.5 * len(folded)):
            return True
    return False


def without_organisers(text: str) -> str:
    """``"Antenne Bayern HERBERT GRONEMEYER"`` → ``"HERBERT GRONEMEYER"``: a logo beside the act."""
    pattern = _organiser_pattern()
    folded = fold(text)
    if len(folded) != len(text):
        return text
    spans = [match.span() for match in pattern.finditer(folded)]
    for start, end in reversed(spans):
        text = text[:start] + text[end:]
    return re.sub(r"\s+", " ", text).strip(" -,|")


def looks_like_station(text: str) -> bool:
    """Call letters, "Radio X", "104.3 FM", "SWR3": likely a radio logo (or U2: only a hint)."""
    return bool(_STATION.match(text.strip()))


def match_known(
    text: str, known: Sequence[str], *, cutoff: float = 82.0
) -> tuple[str, float] | None:
    """The known name ``text`` reads as (OCR slips allowed), and the match score 0..1.

    A line that also carries other words ("HELENE FISCHER LIVE 2018") matches a known name
    it contains, if the name is most of the line.
    """
    if not known or len(text) < 3:
        return None
    found = process.extractOne(
        text, known, scorer=fuzz.ratio, processor=_processor, score_cutoff=cutoff
    )
    if found is not None:
        return str(found[0]), float(found[1]) / 100
    partial = process.extractOne(
        text, known, scorer=fuzz.partial_ratio, processor=_processor, score_cutoff=92.0
    )
    if partial is not None:
        name = str(partial[0])
        # The name must be most of the line, and the line must hold the whole name.
        if len(name) >= 5 and len(name) >= 0.55 * len(text) and len(text) >= 0.85 * len(name):
            return name, float(partial[1]) / 100 * 0.95
    return None


def _processor(text: str) -> str:
    return str(utils.default_process(fold(text)))
