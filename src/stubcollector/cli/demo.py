"""``flask demo ...``: demo users and stubs for a local try-out (``make seed``)."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from stubcollector.domain.statuses import ReadingStatus
from stubcollector.models import Stub, User
from stubcollector.services import accounts
from stubcollector.services.transaction import transaction

demo_cli = click.Group("demo", help="Demo data for a local try-out.")

DEMO_PASSWORD = "stubs-demo-2026"  # noqa: S105 - documented demo credential, local data only
DEMO_STUBS = (
    (
        "Pearl Jam",
        "Pearl Jam - Ten Tour",
        "Paramount Theatre",
        "Seattle",
        dt.date(1992, 3, 20),
        "20:00",
        "GA",
        None,
        None,
        1850,
    ),
    (
        "Radiohead",
        "Radiohead - OK Computer",
        "Roseland Ballroom",
        "New York",
        dt.date(1997, 7, 17),
        "19:30",
        "FLOOR",
        None,
        None,
        2500,
    ),
    (
        "Die Toten Hosen",
        "Die Toten Hosen - Laune der Natour",
        "ESPRIT arena",
        "Düsseldorf",
        dt.date(2017, 10, 29),
        "19:00",
        "Block 42",
        "12",
        "7",
        6990,
    ),
    (
        "Chicago Cubs",
        "Cubs vs. Cardinals",
        "Wrigley Field",
        "Chicago",
        dt.date(2016, 10, 29),
        "19:08",
        "210",
        "5",
        "14",
        9500,
    ),
)


@demo_cli.command("seed")
def seed() -> None:
    """Create demo users (password: stubs-demo-2026) with stubs in their collections."""
    created = 0
    for name in ("demo_seller", "demo_buyer"):
        with transaction() as session:
            exists = session.scalar(select(User.id).where(User.username == name))
        if exists is None:
            accounts.register(name, f"{name}@example.com", DEMO_PASSWORD)
            created += 1
    with transaction() as session:
        seller = session.scalars(select(User).where(User.username == "demo_seller")).one()
        have = set(session.scalars(select(Stub.event_name).where(Stub.owner_id == seller.id)))
        for performer, event, venue, city, date, time, section, row, seat, face in DEMO_STUBS:
            if event in have:
                continue
            session.add(
                Stub(
                    owner_id=seller.id,
                    performer=performer,
                    event_name=event,
                    venue=venue,
                    city=city,
                    event_date=date,
                    event_time=time,
                    section=section,
                    row=row,
                    seat=seat,
                    face_value_cents=face,
                    currency="EUR" if city == "Düsseldorf" else "USD",
                    reading_status=ReadingStatus.DONE.value,
                    extraction_engine="manual",
                    field_confidence={},
                    corrected_fields=[],
                )
            )
            created += 1
    click.echo(f"demo data ready ({created} new rows); log in as demo_seller / {DEMO_PASSWORD}")
