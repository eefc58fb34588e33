"""Issuer II: published Status List Token versions and their anchoring, credential records (public id, issuance,
keyed subject pseudonym), notifications, deferred requests awaiting a clerk, the audit log (append-only), leases.

- ``status_list``: 2 bits per entry from now on (VALID, INVALID, SUSPENDED — draft-ietf-oauth-status-list §7.1);
  nothing was published with 1 bit, so existing lists change width without any index moving. ``change_seq`` /
  ``published_seq`` say whether a list has changes not yet published, ``changed_at`` since when.
- ``status_entry`` (one row per issued credential): ``credential_id`` (the public id the admin API and the clerk's
  commands use), ``issuance_id`` (the credential response it was delivered in), ``subject_pseudonym``.
- ``offer``: ``subject_pseudonym`` (HMAC of the subject identifier, never the value), ``pending``/``denied`` states.

Revision ID: 0003
Revises: 0002
"""

import secrets

import sqlalchemy as sa
from alembic import op

from infra.audit import append_only_guard_sql
from infra.db import IrreversibleMigration

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_list") as batch:
        batch.add_column(sa.Column("change_seq", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("published_seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("changed_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("published_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("expires_at", sa.Float, nullable=True))
    op.execute("UPDATE status_list SET bits = 2, changed_at = created_at")

    with op.batch_alter_table("status_entry") as batch:
        batch.add_column(sa.Column("credential_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("issuance_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("subject_pseudonym", sa.String(64), nullable=True))
        batch.add_column(sa.Column("status_changed_at", sa.Float, nullable=True))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.text("SELECT id FROM status_entry"))]
    for row_id in ids:
        connection.execute(
            sa.text("UPDATE status_entry SET credential_id = :c WHERE id = :i"),
            {"c": "c" + secrets.token_hex(12), "i": row_id},
        )
    with op.batch_alter_table("status_entry") as batch:
        batch.alter_column("credential_id", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_status_entry_credential_id", ["credential_id"])
        batch.create_index("ix_status_entry_subject", ["authority_id", "subject_pseudonym"])
        batch.create_index("ix_status_entry_authority_type", ["authority_id", "type_id", "issued_at"])
        batch.create_index("ix_status_entry_issuance", ["issuance_id"])

    with op.batch_alter_table("offer") as batch:
        batch.add_column(sa.Column("subject_pseudonym", sa.String(64), nullable=True))

    op.create_table(
        "status_list_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status_list_id", sa.Integer, sa.ForeignKey("status_list.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("token", sa.Text, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("anchor_state", sa.String(16), nullable=False),
        sa.Column("anchor_detail", sa.String(200), nullable=True),
        sa.Column("anchored_at", sa.Float, nullable=True),
        sa.UniqueConstraint("status_list_id", "version", name="uq_status_list_token_version"),
    )
    op.create_table(
        "issuance",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("offer_id", sa.String(64), nullable=False, unique=True),
        sa.Column("type_id", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False),
        sa.Column("notification_event", sa.String(32), nullable=True),
        sa.Column("notified_at", sa.Float, nullable=True),
    )
    op.create_table(
        "deferred_request",
        sa.Column("offer_id", sa.String(64), primary_key=True),
        sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
        sa.Column("transaction_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("type_id", sa.String(64), nullable=False),
        sa.Column("holder_jwks", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("decided_at", sa.Float, nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Index("ix_deferred_request_state", "authority_id", "state"),
    )
    op.create_table(
        "lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subjects", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    for statement in append_only_guard_sql(connection.dialect.name, "audit_log"):
        op.execute(statement)


def downgrade() -> None:
    """Refused: dropping ``audit_log`` would erase the hash-chained record of every admin action and issuance."""
    raise IrreversibleMigration("the audit log is append-only; restore a backup to go back before 0003")
