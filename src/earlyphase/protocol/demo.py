"""Example protocols: the GVHD reference trial's 3+3 with expansion, and a standard BOIN.

The GVHD trial (hUC-MSC in steroid-refractory acute GVHD; phase Ib/IIa, 25 patients) escalated
over 0.5, 1.0 and 2.0 x 10^6 cells/kg with a 3+3 rule and then treated an expansion cohort at
the RP2D: 3 patients per level with no DLT, then 16 at 1.0 x 10^6 cells/kg (the dataset's
README in ``earlyphase/datasets/trials/gvhd``). The design is the one
:func:`earlyphase.demo.gvhd_design_summary` builds (the same doses, unit and expansion safety
rule), with the trial's expansion of 16. The true DLT curves are illustrative scenarios, not
estimates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from earlyphase.protocol.render import write_protocol
from earlyphase.protocol.section import protocol_section

#: Cell doses of the GVHD trial's escalation (x 10^6 cells/kg, twice weekly for 3 weeks).
GVHD_DOSES = (0.5, 1.0, 2.0)
GVHD_UNIT = "x 10^6 cells/kg"
#: Patients treated at the RP2D after escalation: 25 in all, 9 of them in escalation.
GVHD_EXPANSION = 16
#: The expansion's safety rule: stop if Pr(DLT rate > 0.33 | data at the RP2D) > 0.9.
GVHD_TOX_LIMIT = 0.33
GVHD_CUTOFF = 0.9

#: Plausible true DLT curves for the GVHD design's operating characteristics.
GVHD_SCENARIOS: dict[str, tuple[float, ...]] = {
    "all doses safe": (0.05, 0.08, 0.12),
    "middle dose at target": (0.08, 0.25, 0.45),
    "top dose toxic": (0.05, 0.15, 0.40),
    "all doses toxic": (0.35, 0.45, 0.60),
}

#: BOIN example: target 0.3, five doses, ten cohorts of three.
BOIN_TARGET = 0.3
BOIN_SCENARIOS: dict[str, tuple[float, ...]] = {
    "MTD at dose 2": (0.12, 0.30, 0.45, 0.58, 0.70),
    "MTD at dose 3": (0.10, 0.20, 0.30, 0.45, 0.60),
    "MTD at dose 5": (0.03, 0.06, 0.10, 0.18, 0.30),
    "all doses too toxic": (0.45, 0.55, 0.65, 0.75, 0.85),
}


def gvhd_design(expansion: int = GVHD_EXPANSION) -> Any:
    """The GVHD trial's design: 3+3 over 0.5/1.0/2.0 x 10^6 cells/kg, then ``expansion``
    patients at the RP2D with a Bayesian safety stop (Beta(1, 1) prior)."""
    from earlyphase.designs import DoseLevels, ThreePlusThree

    base = ThreePlusThree(3, doses=DoseLevels(list(GVHD_DOSES), GVHD_UNIT))
    return base.with_expansion(expansion, tox_limit=GVHD_TOX_LIMIT, cutoff=GVHD_CUTOFF)


def boin_design(n_cohorts: int = 10) -> Any:
    """BOIN with target 0.3 over 5 doses, cohorts of 3 (Liu & Yuan 2015)."""
    from earlyphase.designs import BOIN

    return BOIN(BOIN_TARGET, 5, cohort_size=3, n_cohorts=n_cohorts)


def write_demo_protocols(folder: Path) -> dict[str, Path]:
    """Write the example protocols into ``folder`` as .docx, .html and .md.

    Returns file name -> path, e.g. ``"gvhd_3plus3_expansion.docx"``. Operating
    characteristics are exact (every trial path enumerated).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sections = {
        "gvhd_3plus3_expansion": protocol_section(
            gvhd_design(),
            GVHD_SCENARIOS,
            title=(
                "Statistical considerations: hUC-MSC in steroid-refractory acute GVHD "
                "(3+3 escalation, then expansion at the RP2D)"
            ),
        ),
        "boin_target_0.3": protocol_section(
            boin_design(),
            BOIN_SCENARIOS,
            title="Statistical considerations: BOIN design, target DLT rate 0.3",
        ),
    }
    out: dict[str, Path] = {}
    for stem, section in sections.items():
        for suffix in (".docx", ".html", ".md"):
            name = f"{stem}{suffix}"
            out[name] = write_protocol(section, folder / name)
    return out
