"""Alembic migrations of the issuer's database, run programmatically by ``infra.db.upgrade`` (version table
``issuer_alembic_version``). Each revision is written by hand and tested from the first one up
(``tests/issuer/test_migrations.py``)."""
