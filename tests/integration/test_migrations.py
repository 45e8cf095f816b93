"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from stubcollector.extensions import db
from stubcollector.models import Base
from stubcollector.models.search import include_object


def _pending_diff(app: Flask) -> list[object]:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            # The same hook as migrations/env.py: PostgreSQL-only indexes are not in the models.
            opts={"compare_type": True, "render_as_batch": True, "include_object": include_object},
        )
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_equals_the_models(migrated_app: Flask) -> None:
    assert _pending_diff(migrated_app) == []


def test_migrations_run_down_to_empty_and_up_again(make_app: object) -> None:
    app = make_app()  # type: ignore[operator]
    with app.app_context():
        downgrade(revision="base")
        with db.engine.connect() as connection:
            remaining = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()
    assert _pending_diff(app) == []
