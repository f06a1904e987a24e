"""Documented input: docs/input.md is generated from the schema that validates the tables and
from the declaration of trial.json keys, and trial.json is validated (unknown or mistyped keys
are errors naming the key, with a suggestion, reported in one pass with the tables' problems).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from earlyphase.data import SPECS, DataError, load_trial
from earlyphase.data.docs import markdown
from earlyphase.data.trial_json import TRIAL_JSON, Key, check_trial_json

ROOT = Path(__file__).parents[1]
TRIAL_FOLDERS = sorted(
    [
        *(ROOT / "examples" / "trials").iterdir(),
        *(ROOT / "src/earlyphase/datasets/trials").iterdir(),
    ]
)


def test_docs_input_md_is_up_to_date() -> None:
    """Regenerate with ``python -m earlyphase.data.docs > docs/input.md``."""
    assert (ROOT / "docs" / "input.md").read_text(encoding="utf-8") == markdown()


def test_generator_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "earlyphase.data.docs"], capture_output=True, text=True, check=True
    )
    assert out.stdout == markdown()


def test_every_column_and_key_is_documented() -> None:
    doc = markdown()
    for spec in SPECS.values():
        assert f"## {spec.name}: {spec.description}" in doc
        for col in spec.columns:
            assert col.description, f"{spec.name}.{col.name} has no description"
            assert f"| {col.name} |" in doc

    def walk(keys: tuple[Key, ...], prefix: str) -> None:
        for k in keys:
            assert k.description, k.name
            assert f"| `{prefix}{k.name}` |" in doc
            inner = f"{prefix}{k.name}[]." if k.kind == "list[object]" else f"{prefix}{k.name}."
            walk(k.keys, inner)

    walk(TRIAL_JSON, "")


def test_every_key_the_code_reads_is_declared() -> None:
    """Every ``meta.get("key")`` / ``meta["key"]`` in the loader, tables and report is
    declared."""
    import re

    declared = {k.name for k in TRIAL_JSON}
    used: set[str] = set()
    code = [
        *(ROOT / "src/earlyphase/report").glob("*.py"),
        *(ROOT / "src/earlyphase/tables").glob("*.py"),
        ROOT / "src/earlyphase/data/trial.py",
    ]
    for path in code:
        text = path.read_text()
        used |= set(re.findall(r'meta(?:\.get\(|\[)"([a-z_]+)"', text))
    assert used and used <= declared, used - declared


@pytest.mark.parametrize("folder", TRIAL_FOLDERS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_reference_trial_json_is_valid(folder: Path) -> None:
    meta = json.loads((folder / "trial.json").read_text())
    assert check_trial_json(meta) == []


def test_mistyped_keys_named_with_suggestion() -> None:
    problems = check_trial_json(
        {
            "titel": "x",
            "landmarks": [56, "100"],
            "response": {"paramcd": "OVRLRESP", "visti": "DAY 28"},
            "aesi": [{"label": "CRS", "term": ["Cytokine release syndrome"]}],
            "ae_grades": "full",
            "baseline": [["AGE", "Age", "mean"]],
            "competing": {"paramcd": "RELNRM"},
        }
    )
    text = {(p.field, p.message.split(" (known")[0]) for p in problems}
    assert ("titel", "unknown key; did you mean 'title'?") in text
    assert ("response.visti", "unknown key; did you mean 'visit'?") in text
    assert ("aesi[0].term", "unknown key; did you mean 'terms'?") in text
    assert ("aesi[0].terms", "required key is missing") in text
    assert ("competing.times", "required key is missing") in text
    assert ("landmarks", "[56, '100'] is not a list of numbers") in text
    assert ("ae_grades", "'full' is not one of ['summary', 'detail']") in text
    assert any(p.field == "baseline[0]" and "template 'mean'" in p.message for p in problems)
    assert len(problems) == 8
    assert check_trial_json([1, 2])[0].message == "must be a JSON object {...}"


def test_trial_json_problems_reported_with_table_problems(tmp_path: Path) -> None:
    folder = tmp_path / "itp"
    shutil.copytree(ROOT / "examples" / "trials" / "itp", folder)
    meta = json.loads((folder / "trial.json").read_text())
    meta["dose_units"] = "mg"
    meta["endpoints"][0]["visit"] = ["END OF STUDY"]
    (folder / "trial.json").write_text(json.dumps(meta))
    adae = pd.read_csv(folder / "adae.csv", dtype=str, keep_default_na=False)
    adae.loc[0, "AETOXGR"] = "7"
    adae.to_csv(folder / "adae.csv", index=False)
    with pytest.raises(DataError) as err:
        load_trial(folder)
    where = {(p.source, p.field) for p in err.value.problems}
    assert ("trial.json", "dose_units") in where
    assert ("trial.json", "endpoints[0].visit") in where
    assert ("adae.csv", "AETOXGR") in where
    msg = str(err.value)
    assert "did you mean 'dose_unit'?" in msg and "did you mean 'visits'?" in msg
