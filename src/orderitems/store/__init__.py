"""Persistence: SQLAlchemy Core tables, queries, loading and Alembic migrations."""
