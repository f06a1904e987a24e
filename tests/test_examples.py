"""The examples run, reproduce what they claim, and ``earlyphase demo`` works from a wheel."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from earlyphase.data import load_trial
from earlyphase.datasets import REFERENCE_TRIALS, load_reference_trial, reference_trial_files

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"

#: Table 1 of the HLC-001 report (Doki et al., Int J Hematol 2025; seed 001): minimum number of
#: day-56 survivors to declare efficacy for n = 6..20 enrolled.
PUBLISHED_TABLE_1 = dict(
    zip(range(6, 21), [5, 5, 5, 6, 6, 6, 7, 7, 8, 8, 8, 9, 9, 9, 10], strict=True)
)


def test_ips_thall_simon_example_reproduces_table_1(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "ips_thall_simon.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    # the search finds the shipped parameterisation among the exact reproductions
    exact = out.split("Exact reproductions of Table 1 (ESS, delta, p_upper):")[1].split("With")[0]
    assert "ESS 5, delta 0, p_upper 0.95" in exact
    assert "With delta 0 and p_upper 0.95, ESS from 4.7 to 5.1 reproduces it." in out
    # the printed decision table of the shipped design, row by row: n, lower, upper
    rows = re.findall(r"^\s*(\d+)\s+<NA>\s+(\d+)\s*$", out, flags=re.MULTILINE)
    assert {int(n): int(upper) for n, upper in rows} == PUBLISHED_TABLE_1
    # operating characteristics quoted in the example's docstring: 5.8%, 58.7%, 93.3%
    oc = {
        float(m[0]): float(m[1])
        for m in re.findall(r"^\s*(0\.\d+)\s+(0\.\d+)\s", out, flags=re.MULTILINE)
    }
    # (printed to 4 decimals, e.g. 0.5875 for 0.58748..., hence the tolerance)
    claimed = {0.245: 5.8, 0.45: 58.7, 0.6: 93.3}
    assert oc.keys() == claimed.keys()
    assert all(abs(100 * oc[p] - claimed[p]) <= 0.05 + 0.005 for p in claimed), oc


def test_packaged_trials_are_the_examples() -> None:
    """One source: build_datasets.py writes examples/trials and the package copy identically."""
    for name in REFERENCE_TRIALS:
        packaged = Path(str(reference_trial_files(name)))
        example = EXAMPLES / "trials" / name
        files = sorted(p.name for p in example.iterdir())
        assert sorted(p.name for p in packaged.iterdir()) == files, name
        _, mismatch, errors = filecmp.cmpfiles(example, packaged, files, shallow=False)
        assert not mismatch and not errors, (name, mismatch, errors)
        packaged_trial, example_trial = load_reference_trial(name), load_trial(example)
        assert packaged_trial.meta == example_trial.meta
        for table, frame in example_trial.tables().items():
            assert packaged_trial.tables()[table].equals(frame), (name, table)


def test_demo_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    """Build a wheel, install it (no dependencies) into a fresh venv that borrows this
    environment's packages, and run ``earlyphase demo`` outside the source tree."""
    src = tmp_path / "src-copy"  # build from a copy: pip wheel writes build/ and egg-info
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copy(ROOT / "README.md", src)
    shutil.copytree(
        ROOT / "src" / "earlyphase",
        src / "src" / "earlyphase",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("earlyphase-*.whl")

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True,
        timeout=120,
    )
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # dependencies from this environment: its site-packages is appended to sys.path by a .pth
    # line (its own .pth files, e.g. an editable install of earlyphase, are not processed)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_earlyphase_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        timeout=120,
    )

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run(
        [str(python), "-c", "import earlyphase; print(earlyphase.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel, not the source tree
    demo = subprocess.run(
        [str(bindir / "earlyphase"), "demo"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert "5/7 alive" in demo.stdout
    for name in REFERENCE_TRIALS:
        assert (workdir / "reports" / f"{name}.html").is_file()
    # the protocol sections the demo writes open, and hold their design's rules
    from docx import Document

    gvhd = Document(str(workdir / "protocols" / "gvhd_3plus3_expansion.docx"))
    text = "\n".join(p.text for p in gvhd.paragraphs)
    assert "3+3" in text and "expan" in text.lower()
    boin = Document(str(workdir / "protocols" / "boin_target_0.3.docx"))
    cells = [c.text for t in boin.tables for row in t.rows for c in row.cells]
    words = "\n".join(p.text for p in boin.paragraphs) + "\n".join(cells)
    # R BOIN 2.7.2 get.boundary(target = 0.3): lambda_e = 0.2365, lambda_d = 0.3585
    assert cells and "0.2365" in words and "0.3585" in words
    for stem in ("gvhd_3plus3_expansion", "boin_target_0.3"):
        assert (workdir / "protocols" / f"{stem}.html").read_text(encoding="utf-8").count("<table")


def test_conduct_walkthrough_runs_the_whole_flow(tmp_path: Path) -> None:
    """The README's walkthrough: a refused tenfold dose, a deviation with its reason, a late
    DLT corrected after a signed decision, a rejection, an approval at another dose, the
    packet and a verified audit trail."""
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "conduct_walkthrough.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")},
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "refused: cells_per_kg: 5 is 900% above cohort 1's dose" in out
    assert "decision 1 now: data changed after signature" in out
    assert "decision 2: Rejected: enrolment stays paused" in out
    assert "decision 3: Approved with a deviation from the design" in out
    assert "audit trail intact" in out
    assert "vial overfill" in (tmp_path / "packet.html").read_text()
