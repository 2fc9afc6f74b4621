"""Migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from registry_api.db.migrate import downgrade, is_current, upgrade
from registry_api.db.models import Base
from tests.registry_api.mirror.conftest import Database

#: Dialect-specific search structures the migration adds beside the models.
SEARCH_OBJECTS = ("rights_search", "ix_rights_search_key", "ix_rights_title_search")


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (name or "").startswith(SEARCH_OBJECTS) and name != "alembic_version"


def test_the_migrations_build_the_models_schema(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": _ours, "compare_type": True}
        )
        differences = compare_metadata(context, Base.metadata)

    assert differences == []
    assert is_current(database.engine)


def test_the_schema_downgrades_and_upgrades_again(database: Database) -> None:
    downgrade(database.engine, "base")
    assert not is_current(database.engine)

    upgrade(database.engine)

    assert is_current(database.engine)
