"""Alembic migrations of the archive database (run by ``agentrxiv.archive.db.migrate``)."""
