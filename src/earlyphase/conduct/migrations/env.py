"""Alembic environment: the connection comes from ``earlyphase.conduct.store.migrate``."""

from __future__ import annotations

from alembic import context

from earlyphase.conduct.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
