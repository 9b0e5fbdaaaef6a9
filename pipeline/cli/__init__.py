"""The ``anonrelease`` command line: one module per command group, one entry point (``app``)."""

from pipeline.cli.main import app

__all__ = ["app"]
