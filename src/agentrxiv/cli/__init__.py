"""The ``agentrxiv`` command line (Typer). Only this package configures Rich output."""
