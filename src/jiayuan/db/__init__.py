"""Storage: declarative base, engines from settings, unit of work, Alembic migrations."""
