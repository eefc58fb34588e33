"""The issuer's tables (SQLAlchemy Core). The schema is made by the Alembic migrations in ``issuer/migrations``
(run by :func:`issuer.storage.IssuerStorage.migrate`); this module describes it for queries and must match them
(``tests/issuer/test_migrations.py`` compares).

- ``authority``: the tenants (public authorities), each with its own keys (files named by ``slug``), types and offers;
- ``api_key``: per-authority API keys, stored as SHA-256 of their random secret part;
- ``credential_type``: each authority's credential type documents (:mod:`issuer.credential_type`);
- ``offer``: credential offers; ``claims`` holds the claim values only until delivery or expiry, then ``NULL``;
- ``server_secret``: random secrets shared by all instances (DPoP nonce MAC, transaction-code MAC);
- ``setting``: small facts the service remembers (e.g. the DID registry it deployed on a development chain);
- ``status_list`` / ``status_entry`` (migration 0002): the Token Status Lists of each authority and one entry per
  issued credential, at a random index never used twice in a list; since 0003 a status entry is *the* record of an
  issued credential (public ``credential_id``, ``issuance_id``, keyed ``subject_pseudonym``), lists have 2 bits per
  entry and count their changes (``change_seq``) against what was published (``published_seq``);
- ``status_list_token`` (0003): every published Status List Token version with its SHA-256 and anchoring state;
- ``issuance`` (0003): one row per credential response (its id is the ``notification_id``), with the wallet's last
  notification event;
- ``deferred_request`` (0003): credential requests waiting for a clerk (OpenID4VCI §9), by offer;
- ``lease`` (0003): which instance runs a singleton task (the status list publisher) until when;
- ``audit_log`` (0003): :mod:`infra.audit`'s hash-chained, append-only log (triggers refuse UPDATE and DELETE).
- ``audit_outbox`` (0005): audit entries recorded in issuance transactions without the log's append lock, chained
  into ``audit_log`` right after (:meth:`infra.audit.AuditLog.sequence`).
"""

from __future__ import annotations

import sqlalchemy as sa

from infra.audit import define_audit_outbox_table, define_audit_table

metadata = sa.MetaData()

authority = sa.Table(
    "authority",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(40), nullable=False, unique=True),
    sa.Column("name_de", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("did", sa.String(200), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

api_key = sa.Table(
    "api_key",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

credential_type = sa.Table(
    "credential_type",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type_id", sa.String(64), nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("authority_id", "type_id", name="uq_credential_type_authority_type"),
)

offer = sa.Table(
    "offer",
    metadata,
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
    sa.Column("subject_pseudonym", sa.String(64), nullable=True),
    sa.Index("ix_offer_state_expires", "state", "expires_at"),
)

server_secret = sa.Table(
    "server_secret",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)

setting = sa.Table(
    "setting",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

status_list = sa.Table(
    "status_list",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("uri", sa.String(2048), nullable=False),
    sa.Column("bits", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("allocated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("change_seq", sa.Integer, nullable=False, server_default="1"),
    sa.Column("published_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("changed_at", sa.Float, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("published_at", sa.Float, nullable=True),
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.UniqueConstraint("authority_id", "number", name="uq_status_list_authority_number"),
)

status_entry = sa.Table(
    "status_entry",
    metadata,
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
    sa.Column("credential_id", sa.String(32), nullable=False),
    sa.Column("issuance_id", sa.String(32), nullable=True),
    sa.Column("subject_pseudonym", sa.String(64), nullable=True),
    sa.Column("status_changed_at", sa.Float, nullable=True),
    sa.UniqueConstraint("status_list_id", "idx", name="uq_status_entry_list_idx"),
    sa.UniqueConstraint("credential_id", name="uq_status_entry_credential_id"),
    sa.Index("ix_status_entry_subject", "authority_id", "subject_pseudonym"),
    sa.Index("ix_status_entry_authority_type", "authority_id", "type_id", "issued_at"),
    sa.Index("ix_status_entry_issuance", "issuance_id"),
)

status_list_token = sa.Table(
    "status_list_token",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("status_list_id", sa.Integer, sa.ForeignKey("status_list.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("token", sa.Text, nullable=True),  # NULL for old versions: their digest stays, the text is pruned
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("anchor_state", sa.String(16), nullable=False),
    sa.Column("anchor_detail", sa.String(200), nullable=True),
    sa.Column("anchored_at", sa.Float, nullable=True),
    sa.UniqueConstraint("status_list_id", "version", name="uq_status_list_token_version"),
)

issuance = sa.Table(
    "issuance",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("authority_id", sa.Integer, sa.ForeignKey("authority.id", ondelete="CASCADE"), nullable=False),
    sa.Column("offer_id", sa.String(64), nullable=False, unique=True),
    sa.Column("type_id", sa.String(64), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("notification_event", sa.String(32), nullable=True),
    sa.Column("notified_at", sa.Float, nullable=True),
)

deferred_request = sa.Table(
    "deferred_request",
    metadata,
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

lease = sa.Table(
    "lease",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

audit_log = define_audit_table(metadata)
audit_outbox = define_audit_outbox_table(metadata)
