"""dispute evidence: what was sent for each dispute, its files, and the sandbox's side

Revision ID: x003
Revises: x002
Create Date: 2026-12-12 11:00:00

Sellers and admins answer disputes from the app: ``stub_disputes`` keeps the evidence as
last sent to the provider (JSON: text fields and file ids), whether it is only staged, how
many times it was submitted, when and by whom; ``stub_dispute_files`` the files uploaded
to the provider for it. Existing disputes start with no evidence (answered, if at all, on
Stripe's dashboard; their status still comes from Stripe's events).

The sandbox keeps a dispute's evidence and submission count on its PaymentIntent, and the
files uploaded to it (not their bytes).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "x003"
down_revision = "x002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stub_disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("has_evidence", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("submission_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("evidence_submitted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("evidence_submitted_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_stub_disputes_evidence_submitted_by_id_users"),
            "users",
            ["evidence_submitted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "stub_dispute_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_row_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("file_type", sa.String(length=10), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "field IN ('receipt', 'shipping_documentation', 'customer_communication', "
            "'uncategorized_file')",
            name=op.f("ck_stub_dispute_files_field"),
        ),
        sa.CheckConstraint("size > 0", name=op.f("ck_stub_dispute_files_size_positive")),
        sa.ForeignKeyConstraint(
            ["dispute_row_id"],
            ["stub_disputes.id"],
            name=op.f("fk_stub_dispute_files_dispute_row_id_stub_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_stub_dispute_files_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stub_dispute_files")),
        sa.UniqueConstraint("file_id", name=op.f("uq_stub_dispute_files_file_id")),
    )
    with op.batch_alter_table("stub_dispute_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stub_dispute_files_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stub_dispute_files_dispute_row_id"), ["dispute_row_id"], unique=False
        )

    with op.batch_alter_table("sandbox_payment_intents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispute_evidence", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("dispute_submission_count", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "sandbox_files",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["sandbox_accounts.id"],
            name=op.f("fk_sandbox_files_account_id_sandbox_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_files")),
    )
    with op.batch_alter_table("sandbox_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_files_account_id"), ["account_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("sandbox_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_files_account_id"))
    op.drop_table("sandbox_files")
    with op.batch_alter_table("sandbox_payment_intents", schema=None) as batch_op:
        batch_op.drop_column("dispute_submission_count")
        batch_op.drop_column("dispute_evidence")
    with op.batch_alter_table("stub_dispute_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stub_dispute_files_dispute_row_id"))
        batch_op.drop_index(batch_op.f("ix_stub_dispute_files_created_at"))
    op.drop_table("stub_dispute_files")
    with op.batch_alter_table("stub_disputes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_stub_disputes_evidence_submitted_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("evidence_submitted_by_id")
        batch_op.drop_column("evidence_submitted_at")
        batch_op.drop_column("submission_count")
        batch_op.drop_column("has_evidence")
        batch_op.drop_column("evidence")
