"""The registry's database: models, engine and sessions, migrations."""
