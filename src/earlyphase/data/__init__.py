"""Trial data in: ADaM-style tables, readers (CSV, XPT, Dataset-JSON, REDCap) and validation."""

from earlyphase.data.adam import (
    NOT_COLLECTED,
    CausalityRule,
    Intensity,
    arm_order,
    collected,
    fatal_mask,
    intensity,
)
from earlyphase.data.readers import read_dataset_json, read_redcap, read_table, write_dataset_json
from earlyphase.data.schema import SPECS, Column, TableSpec
from earlyphase.data.trial import TrialData, build_trial, load_trial
from earlyphase.data.validate import DataError, Problem, check_table, validate_table

__all__ = [
    "NOT_COLLECTED",
    "SPECS",
    "CausalityRule",
    "Column",
    "DataError",
    "Intensity",
    "Problem",
    "TableSpec",
    "TrialData",
    "arm_order",
    "build_trial",
    "check_table",
    "collected",
    "fatal_mask",
    "intensity",
    "load_trial",
    "read_dataset_json",
    "read_redcap",
    "read_table",
    "validate_table",
    "write_dataset_json",
]
