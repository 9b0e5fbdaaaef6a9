"""The demo operational database: a seeded generator and its vocabulary.

``DEMO_DATE`` is the demo's one fixed anchor (the last day of its data and the night
``make demo`` runs), so the demo never depends on today's date. The Makefile's ``DEMO_DATE``
and the README repeat it; ``tests/test_vocabularies.py`` keeps them equal.
"""

from __future__ import annotations

from datetime import date

DEMO_DATE = date(2026, 11, 24)
