"""Trial data in: ADaM-style tables, readers (CSV, XPT, Dataset-JSON, REDCap) and validation."""

from earlyphase.data.readers import read_dataset_json, read_redcap, read_table, write_dataset_json
from earlyphase.data.schema import SPECS, Column, TableSpec
from earlyphase.data.trial import TrialData, build_trial, load_trial
from earlyphase.data.validate import DataError, Problem, validate_table

__all__ = [
    "SPECS",
    "Column",
    "DataError",
    "Problem",
    "TableSpec",
    "TrialData",
    "build_trial",
    "load_trial",
    "read_dataset_json",
    "read_redcap",
    "read_table",
    "validate_table",
    "write_dataset_json",
]
