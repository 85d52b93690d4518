"""Alembic environment: taskcli runs migrations from code on a connection it passes in."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)

with context.begin_transaction():
    context.run_migrations()
