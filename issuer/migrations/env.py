"""Alembic environment: migrate on the connection ``infra.db.upgrade`` hands over."""

from alembic import context

from infra.db import run_alembic_env
from issuer.tables import metadata

run_alembic_env(context, metadata)
