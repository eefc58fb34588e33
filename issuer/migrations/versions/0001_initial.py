"""Authorities (tenants), their API keys, credential types and offers; server secrets and settings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authority",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(40), nullable=False, unique=True),
        sa.Column("name_de", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("did", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )
    op.create_table(
        "credential_type",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type_id", sa.String(64), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("authority_id", "type_id", name="uq_credential_type_authority_type"),
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type_id", sa.String(64), nullable=False),
        sa.Column("claims", sa.Text, nullable=True),
        sa.Column("tx_code_required", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("redeemed_at", sa.Float, nullable=True),
        sa.Column("delivered_at", sa.Float, nullable=True),
        sa.Column("credentials_issued", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_offer_state_expires", "offer", ["state", "expires_at"])
    op.create_table(
        "server_secret",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.create_table(
        "setting",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("setting", "server_secret", "offer", "credential_type", "api_key", "authority"):
        op.drop_table(table)
