"""second: a column added (batch mode keeps this working on SQLite)"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("thing") as batch:
        batch.add_column(sa.Column("name", sa.String(40), nullable=True))
