"""The stubs' folded search text: filled by migration w001 for stubs stored before it, kept
current by the model on every write, and repaired by ``flask stubs refresh-search``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from stubcollector.extensions import db
from stubcollector.models import Stub, utcnow
from stubcollector.models.search import REFILL_BATCH
from tests.support.database import reloaded
from tests.support.factories import StubFactory, UserFactory

# More than two batches of the refill, so that batch boundaries are crossed.
ROWS = 2 * REFILL_BATCH + 500

# The stubs table as it was before w001 (only the columns a row needs, and the searched).
BEFORE_W001 = "z002"
STUBS_BEFORE_W001 = sa.table(
    "stubs",
    sa.column("id", sa.Integer),
    sa.column("owner_id", sa.Integer),
    sa.column("event_name", sa.String),
    sa.column("performer", sa.String),
    sa.column("venue", sa.String),
    sa.column("city", sa.String),
    sa.column("event_date", sa.Date),
    sa.column("field_confidence", sa.JSON),
    sa.column("corrected_fields", sa.JSON),
    sa.column("reading_status", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def test_w001_fills_the_search_text_of_every_stub_stored_before_it(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    with app.app_context():
        owner_id = UserFactory.create().id
        db.session.remove()
        downgrade(revision=BEFORE_W001)
        try:
            now = utcnow()
            with db.engine.begin() as connection:
                connection.execute(
                    sa.insert(STUBS_BEFORE_W001),
                    [
                        {
                            "owner_id": owner_id,
                            "event_name": f"Tournée {n}",
                            "performer": "Die Ärzte" if n % 100 == 0 else "Pearl Jam",
                            "venue": "Olympiahalle",
                            "city": "München",
                            "event_date": dt.date(1990 + n % 10, 5, 1),
                            "field_confidence": {},
                            "corrected_fields": [],
                            "reading_status": "done",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for n in range(ROWS)
                    ],
                )
                # Nothing printed was read: empty search text, not a missing one.
                connection.execute(
                    sa.insert(STUBS_BEFORE_W001),
                    {
                        "owner_id": owner_id,
                        "event_name": None,
                        "performer": None,
                        "venue": None,
                        "city": None,
                        "event_date": None,
                        "field_confidence": {},
                        "corrected_fields": [],
                        "reading_status": "failed",
                        "created_at": now,
                        "updated_at": now,
                    },
                )
        finally:
            upgrade()
        with db.engine.connect() as connection:
            texts = dict(
                connection.execute(sa.select(Stub.id, Stub.search_text).order_by(Stub.id)).all()
            )
            venues = set(connection.execute(sa.select(Stub.search_venue)).scalars())
        assert len(texts) == ROWS + 1
        first_id = min(texts)
        assert texts[first_id] == "tournee 0 die arzte olympiahalle munchen 1990"
        assert texts[first_id + ROWS - 1] == (
            f"tournee {ROWS - 1} pearl jam olympiahalle munchen {1990 + (ROWS - 1) % 10}"
        )
        assert texts[first_id + ROWS] == ""
        assert sum("arzte" in text for text in texts.values()) == ROWS // 100
        assert venues == {"olympiahalle", ""}
        db.session.remove()


def test_refresh_search_fills_missing_text_and_all_rewrites_stale_text(app: Flask) -> None:
    written_by_old_code = StubFactory.create(performer="Björk", venue="Théâtre du Châtelet").id
    corrected_by_old_code = StubFactory.create(performer="Radiohead", venue="Roseland Ballroom").id
    current = StubFactory.create(performer="Die Ärzte").id
    # What a release before w001 leaves while the new one is deployed: a new stub without
    # search text, and a correction the text does not know about (Core updates bypass the
    # model, as the old code's writes do).
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(Stub)
            .where(Stub.id == written_by_old_code)
            .values(search_text=None, search_venue=None)
        )
        connection.execute(
            sa.update(Stub).where(Stub.id == corrected_by_old_code).values(venue="Wembley")
        )
    db.session.remove()
    runner = app.test_cli_runner()

    outcome = runner.invoke(args=["stubs", "refresh-search"])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip() == "1 stub(s) read, search text written for 1"
    refreshed = reloaded(Stub, written_by_old_code)
    assert "bjork" in (refreshed.search_text or "")
    assert refreshed.search_venue == "theatre du chatelet"
    assert "roseland" in (reloaded(Stub, corrected_by_old_code).search_text or "")

    outcome = runner.invoke(args=["stubs", "refresh-search", "--all"])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip() == "3 stub(s) read, search text written for 1"
    assert reloaded(Stub, corrected_by_old_code).search_venue == "wembley"
    assert "arzte" in (reloaded(Stub, current).search_text or "")

    # Nothing left to do: running it again writes nothing.
    again = runner.invoke(args=["stubs", "refresh-search", "--all"])
    assert again.output.strip() == "3 stub(s) read, search text written for 0"
