"""Conduct: the trial record in a database, design-driven decisions with sign-off, audit trail."""

from earlyphase.conduct.service import ConductError, PermissionDenied, TrialService
from earlyphase.conduct.store import open_store

__all__ = ["ConductError", "PermissionDenied", "TrialService", "open_store"]
