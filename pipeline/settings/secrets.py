"""Credentials in configuration values: redacted in everything written to disk or printed.

A source URL may carry a password (``postgresql+psycopg://alice:SECRET@host/salon``). The run
keeps the real value in memory only, as it was loaded (the environment or the config file);
the pinned config of a run, reports, messages and the audit trail hold the redacted form
``postgresql+psycopg://alice:***@host/salon``.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url

MASK = "***"
# scheme://user:<everything up to the last @>: for text that is not a well-formed URL (an
# unencoded @ in a password); masks too much rather than too little.
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*):.*@")
_SECRET_QUERY_KEYS = ("password", "passwd", "sslpassword")


def redact_url(url: str, /) -> str:
    """``url`` with its password replaced by ``***`` (unchanged when it has none).

    >>> redact_url("postgresql+psycopg://alice:SECRET@host/salon")
    'postgresql+psycopg://alice:***@host/salon'
    """
    try:
        parsed = make_url(url)
        well_formed = parsed.render_as_string(hide_password=False) == url and "@" not in (
            parsed.host or ""
        )
    except Exception:  # not a database URL at all
        parsed, well_formed = None, False
    if parsed is None or not well_formed:
        return _USERINFO.sub(rf"\g<head>:{MASK}@", url)
    secret_keys = [k for k in parsed.query if k.lower() in _SECRET_QUERY_KEYS]
    if parsed.password is None and not secret_keys:
        return url
    if secret_keys:
        parsed = parsed.update_query_dict({k: MASK for k in secret_keys})
    return parsed.render_as_string(hide_password=True)
