"""The audit outbox (infra/audit.py): audit entries recorded in a transaction without the audit log's append lock
(one insert), linked into the hash chain right after by the sequencer, which moves them into ``audit_log`` and deletes
them here in one transaction.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subjects", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_outbox")
