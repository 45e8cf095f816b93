"""audit_log is append-only in the database (PostgreSQL trigger)

Revision ID: s001
Revises: m001
Create Date: 2026-11-22 00:10:00

The application already refuses to change or delete audit entries (ORM events in
models/audit.py). On PostgreSQL this trigger refuses it for every client of the database,
so a bug in a raw SQL statement or a console session cannot rewrite history either. The one
update it lets through is the foreign key's ON DELETE SET NULL of the actor (erasing a
user keeps their audit entries, without the link). TRUNCATE is not row-level and stays
possible for the database owner (tests empty tables that way).

SQLite has no equivalent that would still allow that foreign-key action, so there only the
application guard applies.
"""

from alembic import op

revision = "s001"
down_revision = "m001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE'
               AND NEW.actor_user_id IS NULL
               AND OLD.actor_user_id IS NOT NULL
               AND (to_jsonb(NEW) - 'actor_user_id') = (to_jsonb(OLD) - 'actor_user_id') THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TRIGGER audit_log_append_only
        BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
