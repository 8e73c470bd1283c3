"""Alembic environment for the LMS. Its version table is ``lms_alembic_version`` so the
LMS can share a database with a host application that uses Alembic too."""
from __future__ import annotations

from alembic import context

from lms.db import TABLE_PREFIX, Base, make_engine
from lms.schema import load_models

load_models()
config = context.config
target_metadata = Base.metadata
VERSION_TABLE = "lms_alembic_version"


def include_object(obj, name, type_, reflected, compare_to):
    # Only the LMS's own tables: a host's tables in the same database are not ours.
    if type_ == "table":
        return name.startswith(TABLE_PREFIX)
    return True


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
        literal_binds=True, version_table=VERSION_TABLE, include_object=include_object,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, version_table=VERSION_TABLE,
        include_object=include_object, render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
