"""Staff accounts of the authorities' admin web UI (issuer/web/accounts.py): account name per authority, Argon2id
password hash, role clerk/admin, times.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_account",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("password_changed_at", sa.Float, nullable=False),
        sa.Column("last_login_at", sa.Float, nullable=True),
        sa.Column("disabled_at", sa.Float, nullable=True),
        sa.UniqueConstraint("authority_id", "username", name="uq_staff_account_authority_username"),
    )


def downgrade() -> None:
    op.drop_table("staff_account")
