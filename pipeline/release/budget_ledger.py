"""The privacy-budget ledger: how much epsilon each recipient has spent in each window.

Differential privacy composes: every noisy table a recipient receives spends epsilon, and
the sum over a window (a calendar year by default) must stay within the recipient's budget,
or the noise stops protecting anyone. :meth:`BudgetLedger.spend` records one release's
epsilon and refuses, with :class:`BudgetExceededError`, a release that would overspend.

Atomic across processes: a spend runs in one transaction that first locks the
(recipient, window) row: ``BEGIN IMMEDIATE`` on SQLite (the whole database, which is small),
``SELECT ... FOR UPDATE`` elsewhere (PostgreSQL). Two nightly runs, or a run and an analyst's
report, racing for the same budget are serialized: together they never spend more than it.

Idempotent per release: a release is named by its ``release_id`` (:func:`release_id`: a
sha256 of the recipient, the spec, the window, the true table's content hash and the
mechanism's parameters). Spending the same id again spends nothing. :func:`noisy_release`
goes one step further: the first time an id is released, the noisy values are drawn and
stored beside the spend (in the same transaction); a rerun returns the stored values, byte
for byte. Drawing fresh noise on a rerun would let a recipient average the draws; a changed
true table is a new release and spends again.

The stored noisy values and the true tables' hashes are **internal data**: the SQLite file
is created owner-only (0600) before it is first opened. The database is any SQLAlchemy URL:
``ANONRELEASE_DP_BUDGET_URL``, else the configured URL, else SQLite at
``<workdir>/dp_budget.sqlite``. Budgets (epsilon per recipient and window) come from the
configuration and are passed in; the ledger stores only what was spent.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from pipeline.release.ledger import check_url, database_url
from pipeline.settings.storage import FILE_MODE, private_dir
from transforms.errors import (
    ConfigurationError,
    DataError,
    InternalError,
    PrivacyCheckFailed,
    TransientError,
)

if TYPE_CHECKING:
    import pandas as pd

BUDGET_URL_ENV = "ANONRELEASE_DP_BUDGET_URL"
BUDGET_FILE = "dp_budget.sqlite"
# Float sums of epsilons (0.3 + 0.3 + 0.4 > 1.0 in binary): a slack far below any epsilon.
SLACK = 1e-9
BUSY_TIMEOUT_MS = 30_000

_metadata = MetaData()
windows = Table(  # one row per (recipient, window): the row a spend locks
    "dp_windows",
    _metadata,
    Column("recipient", String(200), nullable=False),
    Column("window", String(64), nullable=False),
    PrimaryKeyConstraint("recipient", "window"),
)
spends = Table(
    "dp_spends",
    _metadata,
    Column("release_id", String(64), primary_key=True),
    Column("recipient", String(200), nullable=False, index=True),
    Column("window", String(64), nullable=False),
    Column("epsilon", Float, nullable=False),
    Column("delta", Float, nullable=False),
    Column("recorded_at", String(40), nullable=False),
)
noise = Table(  # the noisy values drawn for a release (internal data)
    "dp_noise",
    _metadata,
    Column("release_id", String(64), ForeignKey("dp_spends.release_id"), primary_key=True),
    Column("cells", Integer, nullable=False),
    Column("values_i64", LargeBinary, nullable=False),  # little-endian int64
    Column("sha256", String(64), nullable=False),
)


class BudgetExceededError(PrivacyCheckFailed):
    """A release would take a recipient's spent epsilon over its budget: it is refused."""

    def __init__(
        self, *, recipient: str, window: str, requested: float, remaining: float, budget: float
    ) -> None:
        super().__init__(
            f"DP budget of recipient {recipient}, window {window}: the release asks for "
            f"epsilon {requested:g} but only {remaining:g} of {budget:g} remains; refused"
        )
        self.recipient = recipient
        self.window = window
        self.requested = requested
        self.remaining = remaining
        self.budget = budget


class BudgetLedgerUnavailable(TransientError):
    """The budget database did not answer or refused the write (a retry may succeed)."""


@dataclass(frozen=True)
class Spend:
    """One release's spend: ``new`` is False when the release id had been spent before."""

    release_id: str
    recipient: str
    window: str
    epsilon: float
    new: bool
    remaining: float


# ----------------------------------------------------------------------------- naming


def budget_url(configured: str | None, workdir: str | Path) -> str:
    """``ANONRELEASE_DP_BUDGET_URL``, else ``configured``, else SQLite in the workdir."""
    return database_url(BUDGET_URL_ENV, configured, workdir, BUDGET_FILE)


def calendar_window(day: date) -> str:
    """The default budget window: the calendar year of the run date (``"2026"``)."""
    return f"{day.year:04d}"


def frame_sha256(frame: pd.DataFrame) -> str:
    """sha256 of a frame's CSV (columns, values, row order): the true table's content hash."""
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def release_id(
    *,
    recipient: str,
    spec: str,
    window: str,
    table_sha256: str,
    epsilon: float,
    mechanism: str,
    delta: float | None = None,
) -> str:
    """The id of one DP release: the same inputs and parameters give the same id."""
    body = {
        "recipient": recipient,
        "spec": spec,
        "window": window,
        "table_sha256": table_sha256,
        "epsilon": repr(float(epsilon)),
        "mechanism": mechanism,
        "delta": None if delta is None else repr(float(delta)),
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- opening


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def _create_owner_only(file: Path) -> None:
    """Create the SQLite file 0600 (or tighten it) before SQLite opens it with its own mode."""
    private_dir(file.parent)
    fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def _serialize_sqlite(engine: Engine) -> None:
    """Every SQLite transaction starts with ``BEGIN IMMEDIATE`` (the write lock, at once).

    pysqlite's own transaction handling begins lazily at the first write, too late for a
    read-then-write; SQLAlchemy's documented recipe hands BEGIN to us.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_budget_ledger(url: str, budgets: Mapping[str, float]) -> BudgetLedger:
    """The ledger at ``url`` (tables created), with each recipient's epsilon per window."""
    shown = check_url(url)
    file = _sqlite_file(url)
    if file is not None:
        _create_owner_only(file)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _serialize_sqlite(engine)
    try:
        _metadata.create_all(engine)
    except SQLAlchemyError as exc:
        raise BudgetLedgerUnavailable(
            f"DP budget ledger {shown}: cannot be opened ({type(exc).__name__})"
        ) from None
    return BudgetLedger(engine, budgets)


# ----------------------------------------------------------------------------- the ledger


class BudgetLedger:
    """Spends and remaining budgets per (recipient, window); see the module docstring."""

    def __init__(self, engine: Engine, budgets: Mapping[str, float]) -> None:
        for recipient, budget in budgets.items():
            if not (math.isfinite(budget) and budget >= 0):
                raise ConfigurationError(
                    f"DP budget of recipient {recipient} must be a finite epsilon >= 0"
                )
        self.engine = engine
        self.budgets = dict(budgets)

    def budget(self, recipient: str) -> float:
        """The recipient's epsilon per window (configuration)."""
        try:
            return self.budgets[recipient]
        except KeyError:
            raise ConfigurationError(
                f"no DP budget is configured for recipient {recipient}"
            ) from None

    # ---- reading

    def spent(self, recipient: str, window: str) -> float:
        try:
            with self.engine.begin() as conn:
                return _spent(conn, recipient, window)
        except SQLAlchemyError as exc:
            raise BudgetLedgerUnavailable(
                f"DP budget ledger cannot be read ({type(exc).__name__})"
            ) from None

    def remaining(self, recipient: str, window: str) -> float:
        """Epsilon the recipient may still spend in the window (never below 0)."""
        budget = self.budget(recipient)
        return max(budget - self.spent(recipient, window), 0.0)

    def remaining_after(self, recipient: str, window: str, release_id: str) -> float:
        """Epsilon that remained once ``release_id`` was recorded: the same whenever asked,
        so a rerun of a release writes the same bytes even after later spends."""
        try:
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(spends.c.recorded_at).where(spends.c.release_id == release_id)
                ).first()
                if row is None:
                    raise InternalError(f"DP release id {release_id[:12]} was never recorded")
                upto = (spends.c.recorded_at < row.recorded_at) | (
                    (spends.c.recorded_at == row.recorded_at) & (spends.c.release_id <= release_id)
                )
                rows: Iterator[float] = conn.execute(
                    select(spends.c.epsilon).where(
                        spends.c.recipient == recipient, spends.c.window == window, upto
                    )
                ).scalars()
                spent = math.fsum(rows)
        except SQLAlchemyError as exc:
            raise BudgetLedgerUnavailable(
                f"DP budget ledger cannot be read ({type(exc).__name__})"
            ) from None
        return max(self.budget(recipient) - spent, 0.0)

    # ---- spending

    def spend(
        self, recipient: str, window: str, release_id: str, epsilon: float, *, delta: float = 0.0
    ) -> Spend:
        """Record ``epsilon`` for ``release_id``, or refuse if the window's budget cannot cover it.

        A release id already recorded spends nothing again (``Spend.new`` is False).
        """
        with self._locked(recipient, window) as conn:
            return self._spend(conn, recipient, window, release_id, epsilon, delta)

    @contextmanager
    def _locked(self, recipient: str, window: str) -> Iterator[Connection]:
        """A transaction holding the (recipient, window) lock; committed if the block returns."""
        self.budget(recipient)  # an unconfigured recipient fails before any write
        try:
            self._ensure_window(recipient, window)
            with self.engine.begin() as conn:
                conn.execute(
                    select(windows.c.recipient)
                    .where(windows.c.recipient == recipient, windows.c.window == window)
                    .with_for_update()
                )
                yield conn
        except SQLAlchemyError as exc:
            raise BudgetLedgerUnavailable(
                f"DP budget ledger: the spend of recipient {recipient}, window {window} "
                f"could not be written ({type(exc).__name__})"
            ) from None

    def _ensure_window(self, recipient: str, window: str) -> None:
        """The row to lock exists (its own transaction: a lost insert race is no error)."""
        key = (windows.c.recipient == recipient) & (windows.c.window == window)
        with self.engine.begin() as conn:
            if conn.execute(select(windows.c.recipient).where(key)).first() is not None:
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(windows).values(recipient=recipient, window=window))
        except IntegrityError:
            pass

    def _spend(
        self,
        conn: Connection,
        recipient: str,
        window: str,
        release_id: str,
        epsilon: float,
        delta: float,
    ) -> Spend:
        if not (math.isfinite(epsilon) and epsilon > 0):
            raise ConfigurationError("a DP release's epsilon must be a positive finite number")
        budget = self.budget(recipient)
        before = conn.execute(select(spends).where(spends.c.release_id == release_id)).first()
        spent = _spent(conn, recipient, window)
        if before is not None:
            if (before.recipient, before.window, before.epsilon) != (recipient, window, epsilon):
                raise InternalError(
                    f"DP release id {release_id[:12]} was recorded for other parameters"
                )
            return Spend(release_id, recipient, window, epsilon, False, max(budget - spent, 0))
        if spent + epsilon > budget + SLACK:
            raise BudgetExceededError(
                recipient=recipient,
                window=window,
                requested=epsilon,
                remaining=max(budget - spent, 0.0),
                budget=budget,
            )
        conn.execute(
            insert(spends).values(
                release_id=release_id,
                recipient=recipient,
                window=window,
                epsilon=epsilon,
                delta=delta,
                recorded_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            )
        )
        return Spend(release_id, recipient, window, epsilon, True, max(budget - spent - epsilon, 0))


def _spent(conn: Connection, recipient: str, window: str) -> float:
    rows: Iterator[float] = conn.execute(
        select(spends.c.epsilon).where(spends.c.recipient == recipient, spends.c.window == window)
    ).scalars()
    return math.fsum(rows)


def _stored_values(conn: Connection, release_id: str) -> np.ndarray[Any, np.dtype[np.int64]] | None:
    row = conn.execute(select(noise).where(noise.c.release_id == release_id)).first()
    if row is None:
        return None
    blob = bytes(row.values_i64)
    if hashlib.sha256(blob).hexdigest() != row.sha256 or len(blob) != 8 * row.cells:
        raise DataError(
            f"DP budget ledger: the stored noise of release {release_id[:12]} is edited"
        )
    return np.frombuffer(blob, dtype="<i8").astype(np.int64)


def noisy_release(
    ledger: BudgetLedger,
    *,
    release_id: str,
    recipient: str,
    window: str,
    epsilon: float,
    draw: Callable[[], np.ndarray[Any, np.dtype[np.int64]]],
    delta: float | None = None,
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The noisy values of a release: drawn and stored once, returned as stored ever after.

    The first call for ``release_id`` spends ``epsilon`` (refusing with
    :class:`BudgetExceededError` when the window's budget cannot cover it), calls ``draw``
    and stores its values, all in one locked transaction: a failed draw spends nothing, and
    two processes releasing the same id draw once. Later calls return the stored values
    without spending or drawing.
    """
    with ledger._locked(recipient, window) as conn:
        stored = _stored_values(conn, release_id)
        if stored is not None:
            return stored
        ledger._spend(conn, recipient, window, release_id, epsilon, delta or 0.0)
        values = np.asarray(draw())
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
            raise InternalError("a DP draw must return a one-dimensional vector of integers")
        blob = values.astype("<i8").tobytes()
        conn.execute(
            insert(noise).values(
                release_id=release_id,
                cells=len(values),
                values_i64=blob,
                sha256=hashlib.sha256(blob).hexdigest(),
            )
        )
    return np.frombuffer(blob, dtype="<i8").astype(np.int64)
