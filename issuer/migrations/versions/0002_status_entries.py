"""Token Status List allocation: the lists of each authority and one entry per issued credential at a random,
never reused index (published by Issuer II).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_list",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("bits", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("allocated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("authority_id", "number", name="uq_status_list_authority_number"),
    )
    op.create_table(
        "status_entry",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status_list_id", sa.Integer, sa.ForeignKey("status_list.id", ondelete="CASCADE"), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type_id", sa.String(64), nullable=False),
        sa.Column("offer_id", sa.String(64), nullable=True),
        sa.Column("holder_jkt", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Column("status", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("status_list_id", "idx", name="uq_status_entry_list_idx"),
    )


def downgrade() -> None:
    op.drop_table("status_entry")
    op.drop_table("status_list")
