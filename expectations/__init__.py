"""Great Expectations privacy expectations, suites and ``run_validation()``.

The release contract: every dataset that leaves the company passes a suite of these checks.
Importing the package does not import GX (slow, ~5 s); ``expectations.custom`` and
``expectations.validation`` do. GX usage analytics are switched off before GX is ever imported.
"""

from __future__ import annotations

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
