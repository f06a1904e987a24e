"""What the service computes from a trial's record, kept per process and per state of the
record, and the bounds on what a design may be asked to compute.

Every change to a trial's record writes audit entries in the same transaction (21 CFR
11.10(e)), and the trail is appended under the writers' lock, so the trail's last entry (its
number and its hash, which chains every earlier entry) is a fingerprint of the whole record:
it changes with every committed write. A value computed in a read transaction is stored under
the fingerprint read *first* in that transaction: on SQLite the transaction reads one
snapshot; on PostgreSQL (read committed) later statements may see newer data, so a stored
value is never older than its key. A value is therefore served only
for the state it was computed from, never after new data: after a write the key differs and
the value is computed again.

Designs are kept by their name and settings (a design is immutable once built), and the tables
a protocol prints by the same key. All caches are bounded (least recently used out).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from earlyphase.conduct.models import AuditEntry, Trial

T = TypeVar("T")

#: Work units (array elements touched) a design's construction may take. BOIN with 300
#: patients (6e6 units) builds in about 0.5 s and with 400 in about 1.2 s on one core, so this
#: bounds a build to a few seconds and its memory to tens of megabytes.
MAX_WORK = 6.0e7
#: Rows of a dose-path table (every outcome of the next cohorts).
MAX_PATHS = 20_000


class _Pending:
    """A value being computed by one thread, awaited by the others that asked for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.failed = False


class BoundedCache:
    """A thread-safe least-recently-used mapping. The value is computed outside the lock, so
    a slow computation never blocks readers of other keys. Threads that miss a key while
    another thread is computing it wait for that result instead of computing it again: after
    a write every reader misses at once, and without this each of them (dozens under load)
    would rebuild the same view, so the write would cost the readers a queue of identical
    work. A waiter whose owner failed, or is slower than ``wait`` seconds, computes for
    itself (an error is then raised in each thread that asked, as without a cache)."""

    def __init__(self, maxsize: int, wait: float = 30.0) -> None:
        self.maxsize = maxsize
        self.wait = wait
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]  # type: ignore[no-any-return]
            self.misses += 1
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = _Pending()
        if not owner:
            if pending.done.wait(self.wait) and not pending.failed:
                return pending.value  # type: ignore[no-any-return]
            return compute()
        try:
            value = compute()
        except BaseException:
            pending.failed = True
            raise
        else:
            pending.value = value
            with self._lock:
                self._items[key] = value
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.done.set()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


#: Views of a trial's record (status, recommendation), by (kind, trial id, fingerprint).
STATES = BoundedCache(512)
#: Built designs, by (design name, settings as canonical JSON).
DESIGNS = BoundedCache(1024)
#: Trials (the latest created) whose designs are built before a write takes the lock; well
#: below :data:`DESIGNS`' size, so that doing it never evicts what it built.
PREBUILT = 256
#: Decision-rule tables as the dashboard prints them, by the design's key.
TABLES = BoundedCache(64)


#: The fingerprint, as one prepared statement (no expression to build and compile per
#: request); with the trial's id when ``:name`` is a trial.
_LAST = (
    f"SELECT a.id, a.hash FROM {AuditEntry.__tablename__} a "
    f"WHERE a.id = (SELECT max(id) FROM {AuditEntry.__tablename__})"
)
_FINGERPRINT = text(_LAST)
_TRIAL_AND_FINGERPRINT = text(
    f"SELECT t.id, f.id, f.hash FROM {Trial.__tablename__} t LEFT JOIN ({_LAST}) f ON 1 = 1 "
    "WHERE t.name = :name"
)


def fingerprint(s: Session) -> tuple[int, str]:
    """The number and hash of the trail's last entry ((0, "") for an empty trail). The hash
    chains every earlier entry, so two records (two databases in one process, or a database
    restored from a copy and written again) never share a fingerprint."""
    row = s.execute(_FINGERPRINT).first()
    return (0, "") if row is None else (int(row[0]), str(row[1]))


def trial_and_fingerprint(s: Session, name: str) -> tuple[int | None, tuple[int, str]]:
    """The id of the trial named ``name`` (None if there is none) and the fingerprint, in one
    query, the fingerprint read no later than anything else of the transaction."""
    row = s.execute(_TRIAL_AND_FINGERPRINT, {"name": name}).first()
    if row is None:
        return None, fingerprint(s)
    return int(row[0]), (int(row[1] or 0), str(row[2] or ""))


def fresh(value: T) -> T:
    """A copy of a JSON-like value (dicts, lists, tuples of plain values), so that a caller
    cannot change a kept one; several times quicker than :func:`copy.deepcopy`."""
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [fresh(v) for v in value]  # type: ignore[return-value]
    return value


def design_key(design_name: str, spec: Mapping[str, Any]) -> tuple[str, str]:
    return design_name, json.dumps(dict(spec), sort_keys=True, default=str)


# --- bounds -------------------------------------------------------------------------------


def _whole(spec: Mapping[str, Any], name: str, default: int) -> int:
    value = spec.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default  # the design's own checks name it
    return int(number) if math.isfinite(number) and number >= 0 else default


def construction_work(design_name: str, spec: Mapping[str, Any]) -> tuple[float, str]:
    """The work (array elements) building the design takes, with the setting that drives it.

    BOIN's boundaries (``get.boundary``) evaluate, for every sample size n up to N, a binomial
    tail for each count of DLTs, as an n x n array: about N^3 / 3 elements, twice. The
    single-arm boundary designs search every n up to ``n_max`` likewise. Other designs build
    in time independent of the sample size."""
    key = design_name.strip().lower()
    if key in ("boin", "boin12", "tite-boin"):
        n = _whole(spec, "n_cohorts", 10) * _whole(spec, "cohort_size", 3)
        return 2 * n**3 / 3, f"n_cohorts x cohort_size = {n} patients"
    if key in ("thall-simon", "predictive", "tox-monitor", "multi-outcome"):
        n = _whole(spec, "n_max", 0)
        return n**3 / 3, f"n_max = {n}"
    return 0.0, ""


def check_design_size(design_name: str, spec: Mapping[str, Any]) -> None:
    """Refuse, before any of it is computed, a design whose construction would take more
    than :data:`MAX_WORK` (minutes of CPU and gigabytes of memory in one request)."""
    from earlyphase.conduct.common import ConductError

    work, driver = construction_work(design_name, spec)
    if work > MAX_WORK:
        raise ConductError(
            f"design: {driver} is too large for the service to compute the {design_name} "
            f"design's rules (about {work:.1e} steps, at most {MAX_WORK:.0e})"
        )


def check_paths(design: Any, depth: int) -> None:
    """Refuse a dose-path table with more than :data:`MAX_PATHS` rows: each of the
    ``cohort_size + 1`` outcomes of a cohort branches again at the next."""
    from earlyphase.conduct.common import ConductError

    size = int(getattr(design, "cohort_size", 1) or 1)
    paths = sum((size + 1) ** k for k in range(1, depth + 1))
    if paths > MAX_PATHS:
        raise ConductError(
            f"design: the dose paths of {depth} cohorts of {size} have {paths} rows, more "
            f"than the service computes ({MAX_PATHS})"
        )
