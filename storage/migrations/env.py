"""Alembic environment: migrations run on the engine handed over in ``config.attributes``."""

from alembic import context
from sqlmodel import SQLModel

import storage.tables  # noqa: F401 - registers the tables in SQLModel.metadata
from storage.search import declared_by_tables

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=declared_by_tables,
    )
    context.run_migrations()
