"""Alembic environment, driven by Flask-Migrate and the app's own engine and metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from stubcollector.models.base import UTCDateTime
from stubcollector.models.search import include_object

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
engine = target_db.engine
config.set_main_option(
    "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def render_item(type_, obj, autogen_context):
    """Write our UTC type as a plain timezone-aware DateTime: migrations stay app-independent."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def process_revision_directives(context_, revision, directives):
    # An autogenerate with no changes writes no empty revision file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)
    # PostgreSQL-only indexes (trigram search) are not in the models; see models/search.py.
    conf_args.setdefault("include_object", include_object)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode alters a SQLite table by copying it into a new one and dropping the
            # old; with foreign keys enforced (the app turns them on for every connection)
            # SQLite refuses to drop a table that other rows refer to, e.g. ``users`` once
            # there are orders. Alembic's advice: enforcement off while migrating
            # ("Dealing with Referencing Foreign Keys"). A PRAGMA is ignored inside a
            # transaction, hence the commits around it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(
                connection=connection, target_metadata=target_db.metadata, **conf_args
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
