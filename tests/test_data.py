"""Loading trial data: readers, validation naming file/row/field, nothing loaded partially."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from earlyphase.data import (
    DataError,
    build_trial,
    load_trial,
    read_dataset_json,
    read_redcap,
    write_dataset_json,
)

IPS = Path(__file__).parents[1] / "examples" / "trials" / "ips"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "trial"
    shutil.copytree(IPS, dst)
    return dst


def test_load_and_derivations() -> None:
    t = load_trial(IPS)
    assert t.n == 7 and t.adae is not None and t.adex is not None
    # total cells derived as cells/kg x weight
    row = t.adex.iloc[0]
    assert row["TOTCELLS"] == pytest.approx(row["EXDOSE"] * row["WEIGHT"])


@pytest.mark.parametrize(
    "table, row, field, value, message",
    [
        ("adae", 3, "AETOXGR", "6", "is not one of"),
        ("adae", 2, "USUBJID", "IPS-99", "not in ADSL"),
        ("adtte", 1, "AVAL", "-4", "below the minimum"),
        ("adtte", 2, "CNSR", "2", "is not one of"),
        ("adsl", 5, "AGE", "forty", "is not a number"),
        ("adae", 1, "AESER", "maybe", "Y/N flag"),
        ("adsl", 2, "USUBJID", "IPS-1", "duplicate key"),
    ],
)
def test_bad_value_named_by_file_row_field(
    tmp_path: Path, table: str, row: int, field: str, value: str, message: str
) -> None:
    folder = _copy(tmp_path)
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 1, field] = value
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_trial(folder)
    text = str(err.value)
    assert f"{table}.csv, row {row}, field {field}" in text and message in text
    assert "nothing was loaded" in text


def test_missing_required_column_and_all_problems_listed(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    frame = pd.read_csv(folder / "adae.csv", dtype=str, keep_default_na=False)
    frame.drop(columns="AEDECOD").to_csv(folder / "adae.csv", index=False)
    tte = pd.read_csv(folder / "adtte.csv", dtype=str, keep_default_na=False)
    tte.loc[0, "AVAL"] = "-1"
    tte.to_csv(folder / "adtte.csv", index=False)
    with pytest.raises(DataError) as err:
        load_trial(folder)
    fields = {(p.source, p.field) for p in err.value.problems}
    assert ("adae.csv", "AEDECOD") in fields and ("adtte.csv", "AVAL") in fields


def test_dataset_json_round_trip(tmp_path: Path) -> None:
    t = load_trial(IPS)
    folder = tmp_path / "json"
    folder.mkdir()
    for name, frame in t.tables().items():
        write_dataset_json(
            frame.astype(object).where(frame.notna(), None), folder / f"{name.lower()}.json", name
        )
    again = load_trial(folder)
    assert again.n == 7
    assert len(again.adae) == len(t.adae)
    doc = json.loads((folder / "adsl.json").read_text())
    assert doc["datasetJSONVersion"].startswith("1.1") and doc["records"] == 7
    bad = folder / "adsl.json"
    doc["rows"][0] = doc["rows"][0][:-1]
    bad.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="row 1"):
        read_dataset_json(bad)


def test_xpt_reader(tmp_path: Path) -> None:
    t = load_trial(IPS)
    folder = tmp_path / "xpt"
    folder.mkdir()
    adsl = t.adsl[["USUBJID", "TRT01A", "AGE", "WEIGHT"]].astype(
        {"USUBJID": str, "TRT01A": str, "AGE": float, "WEIGHT": float}
    )
    pyreadstat.write_xport(adsl, str(folder / "adsl.xpt"), table_name="ADSL")
    back = load_trial(folder)
    assert back.adsl["AGE"].tolist() == t.adsl["AGE"].tolist()


def test_redcap_flat_export(tmp_path: Path) -> None:
    export = pd.DataFrame(
        {
            "record_id": ["1", "1", "1", "2"],
            "redcap_repeat_instrument": ["", "adverse_events", "adverse_events", ""],
            "dose_level": ["1.0 x 10^6", "", "", "2.0 x 10^6"],
            "ae_soc": ["", "General disorders", "Infections", ""],
            "ae_term": ["", "Pyrexia", "Pneumonia", ""],
            "ae_grade": ["", "1", "3", ""],
        }
    )
    path = tmp_path / "export.csv"
    export.to_csv(path, index=False)
    mapping = {
        "ADSL": {"USUBJID": "record_id", "TRT01A": "dose_level"},
        "ADAE": {
            "_instrument": "adverse_events",
            "USUBJID": "record_id",
            "AESOC": "ae_soc",
            "AEDECOD": "ae_term",
            "AETOXGR": "ae_grade",
        },
    }
    frames = read_redcap(path, mapping)
    t = build_trial(frames)
    assert t.n == 2 and len(t.adae) == 2 and t.adae["AETOXGR"].tolist() == [1, 3]
    with pytest.raises(DataError, match="not in the export"):
        read_redcap(path, {"ADSL": {"USUBJID": "record", "TRT01A": "dose_level"}})


def test_adlb_baseline_and_change() -> None:
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "TRT01A": "X"})
    adlb = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "B", "B"],
            "PARAMCD": "PLT",
            "ADY": ["0", "28", "0", "28"],
            "AVAL": ["20", "55", "10", "8"],
            "ABLFL": ["Y", "N", "Y", "N"],
        }
    )
    t = build_trial({"ADSL": adsl, "ADLB": adlb})
    assert t.adlb["BASE"].tolist() == [20, 20, 10, 10]
    assert t.adlb["CHG"].tolist() == [0, 35, 0, -2]
