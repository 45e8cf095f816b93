"""Time the marketplace search queries themselves, in-process: no HTTP, no page cache.

Seeds listings as ``bench/browse.py`` does (into ``DATABASE_URL``, else a throw-away SQLite
file; a second run reuses them), then, for each search below, times what a browse request
asks of the database when its page is not cached: the page query, and the count as well
when the total is not cached either (``--with-count``). Searches run interleaved, in
rounds, so other load on the machine meets them alike; medians and p95 per search.

    .venv/bin/python bench/search.py --listings 100000
    DATABASE_URL=postgresql://postgres@127.0.0.1/stubcollector_searchbench \\
        .venv/bin/python bench/search.py --listings 100000 --with-count
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.browse import database_url, seed
from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db
from stubcollector.models import utcnow
from stubcollector.services.marketplace import browsing

# (label, browse parameters): common and rare words, accents both ways, a year, a venue.
SEARCHES: tuple[tuple[str, dict[str, str]], ...] = (
    ("q=pearl", {"q": "pearl"}),
    ("q=pearl jam", {"q": "pearl jam"}),
    ("q=björk rumours", {"q": "björk rumours"}),
    ("q=bjork", {"q": "bjork"}),
    ("q=BEYONCE", {"q": "BEYONCE"}),
    ("q=dusseldorf", {"q": "dusseldorf"}),
    ("q=1997", {"q": "1997"}),
    ("q=no such band", {"q": "no such band"}),
    ("venue=wrigley", {"venue": "wrigley"}),
    ("browse (no filter)", {}),
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30, help="timed runs of each search")
    parser.add_argument("--with-count", action="store_true", help="clear the total cache too")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="stubcollector-searchbench-"))
    url = database_url(workdir)
    settings = Settings.from_env(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(workdir),
            "LOG_LEVEL": "WARNING",
            # Count on every request, or never again once counted.
            "MARKETPLACE_TOTAL_CACHE_SECONDS": "0" if args.with_count else "3600",
        }
    )
    print(f"database: {settings.database_url.split('@')[-1]}  listings: {args.listings}")
    seed(settings, args.listings)
    app = create_app(settings)
    timings: dict[str, list[float]] = {label: [] for label, _ in SEARCHES}
    found: dict[str, int] = {}
    with app.app_context():
        filters = {label: browsing.listing_filters(**params) for label, params in SEARCHES}  # type: ignore[arg-type]
        for round_number in range(args.rounds + 2):
            for label, _ in SEARCHES:
                started = time.perf_counter()
                rows = browsing._read_page(filters[label], 1, 24, None, utcnow())
                elapsed = (time.perf_counter() - started) * 1000
                db.session.rollback()
                if round_number >= 2:  # the first two rounds warm caches and plans
                    timings[label].append(elapsed)
                found[label] = rows.total
        db.engine.dispose()
    load = os.getloadavg()
    print(
        f"{args.rounds} rounds; {'page + count' if args.with_count else 'page only'}; "
        f"load average {load[0]:.1f} {load[1]:.1f}"
    )
    header = f"{'search':<22}{'found':>8}{'median ms':>11}{'p95 ms':>9}"
    print(header)
    print("-" * len(header))
    for label, _ in SEARCHES:
        values = sorted(timings[label])
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"{label:<22}{found[label]:>8}{statistics.median(values):>11.2f}{p95:>9.2f}")
    if not os.environ.get("DATABASE_URL"):
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
