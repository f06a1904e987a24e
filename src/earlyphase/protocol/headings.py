"""The headings of the statistical section, in the order they are written.

The checklist points at these names, and every writer numbers and prints them, so a heading
renamed here is renamed everywhere it is referred to.
"""

from __future__ import annotations

DESIGN = "Trial design"
SCHEMA = "Trial schema"
RULES = "Dose-escalation rules"
BOUNDARIES = "Stopping boundaries"
STOPPING = "Stopping rules"
PRIORS = "Models and prior distributions"
SAMPLE_SIZE = "Sample size and operating characteristics"
CHECKLIST = "SPIRIT-DEFINE checklist"
REFERENCES = "References"

#: Heading order for a dose-finding design; single-arm designs print BOUNDARIES for RULES.
ORDER: tuple[str, ...] = (
    DESIGN,
    SCHEMA,
    RULES,
    STOPPING,
    PRIORS,
    SAMPLE_SIZE,
    CHECKLIST,
    REFERENCES,
)


def number(heading: str, rules_heading: str = RULES) -> str:
    """``"3. Dose-escalation rules"``: the heading with its section number."""
    order = [rules_heading if h == RULES else h for h in ORDER]
    return f"{order.index(heading) + 1}. {heading}"
