"""Alembic migrations of the trial database (upgraded automatically by ``open_store``)."""
