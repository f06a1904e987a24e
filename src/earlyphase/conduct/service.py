"""The trial service: one facade over the conduct's parts, so that callers (the web
application, the command line, scripts) use a single object.

- :mod:`~earlyphase.conduct.accounts`: users, sites, API tokens;
- :mod:`~earlyphase.conduct.trials`: creating a trial (design and conduct settings);
- :mod:`~earlyphase.conduct.enrolment`: enrolment into cohorts;
- :mod:`~earlyphase.conduct.entry`: data entry with its checks;
- :mod:`~earlyphase.conduct.corrections`: corrections and voiding with reasons;
- :mod:`~earlyphase.conduct.decisions`: frozen decisions, review, signature, status;
- :mod:`~earlyphase.conduct.exports`: the ADaM-style tables for the report;
- :mod:`~earlyphase.conduct.packet`: the safety review packet for the escalation meeting;
- :mod:`~earlyphase.conduct.records`: a subject's whole record as the pages show it.

Every write happens in one transaction together with its audit entries; on SQLite each
transaction starts with ``BEGIN IMMEDIATE`` so two coordinators enrolling at once are
serialised (the second sees the first's subject and cannot take the same last slot).
"""

from __future__ import annotations

from earlyphase.conduct.accounts import ROLES, AccountsMixin
from earlyphase.conduct.common import ConductError, PermissionDenied
from earlyphase.conduct.corrections import MODELS, CorrectionsMixin
from earlyphase.conduct.decisions import MEANINGS, DecisionsMixin
from earlyphase.conduct.enrolment import EnrolmentMixin
from earlyphase.conduct.entry import EntryMixin
from earlyphase.conduct.exports import ExportsMixin
from earlyphase.conduct.packet import PacketMixin
from earlyphase.conduct.records import RecordsMixin
from earlyphase.conduct.status import StatusMixin
from earlyphase.conduct.trials import TrialsMixin

__all__ = ["MEANINGS", "MODELS", "ROLES", "ConductError", "PermissionDenied", "TrialService"]


class TrialService(
    PacketMixin,
    RecordsMixin,
    AccountsMixin,
    TrialsMixin,
    EnrolmentMixin,
    EntryMixin,
    CorrectionsMixin,
    DecisionsMixin,
    StatusMixin,
    ExportsMixin,
):
    """Trial operations on one database (``TrialService(open_store(url))``)."""
