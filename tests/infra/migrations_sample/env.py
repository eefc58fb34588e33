import sqlalchemy as sa
from alembic import context

from infra.db import run_alembic_env

run_alembic_env(context, sa.MetaData())
