"""The audit trail: one JSON line per decision, appended, never rewritten.

It records what was decided and why (counts, expectation names, recipients), never a
person's values, so it can be shown to an auditor as it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.settings.storage import open_private, private_dir


def audit_log_path(workdir: str | Path) -> Path:
    return Path(workdir) / "audit" / "audit.jsonl"


def record(workdir: str | Path, *, run_id: str, event: str, **details: Any) -> None:
    """Append one event; the wall-clock time is the audit's own, never a transform's input."""
    path = audit_log_path(workdir)
    private_dir(path.parent)
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": run_id,
        "event": event,
        **details,
    }
    with open_private(path, "a") as f:
        f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str) + "\n")


def read_events(workdir: Path, *, run_id: str | None = None) -> list[dict[str, Any]]:
    path = audit_log_path(workdir)
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [e for e in events if run_id is None or e["run"] == run_id]
