"""Where tasks are kept: the schema (Alembic migrations in migrations/) and the
SQLite store (sqlite.py: which files are taskcli's, opening them for reading or
for writing, and the fast paths of bulk operations)."""
