"""How the command line prints: literally (no rich markup in messages), one line per message.

Rich reads ``[k=50, l=2]`` or a regex's ``[a-z0-9]`` as markup and drops them, so nothing a
user, a config file or a message wrote is ever printed as a markup string: styles are applied
to :class:`rich.text.Text` parts, and messages are joined onto one line.
"""

from __future__ import annotations

from rich.console import Console


def one_line(text: object) -> str:
    """A message on one line (a YAML or pydantic message may span several)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def console(*, stderr: bool = False) -> Console:
    """A console that never highlights and never wraps a message onto a second line."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)
