"""The statistical section of a trial protocol, written from a design.

>>> from earlyphase.designs import BOIN
>>> from earlyphase.protocol import protocol_section, write_protocol
>>> section = protocol_section(BOIN(0.3, 5, n_cohorts=10), {"MTD at 3": [.1, .2, .3, .45, .6]})
>>> # write_protocol(section, "protocol.docx")   # or .html, .md

The section holds the design in prose, its decision table, stopping rules, priors, the
operating characteristics that justify the sample size, a schema figure, references and a
SPIRIT-DEFINE checklist (Yap et al. 2023, BMJ 383:e076386); see
:mod:`earlyphase.protocol.section` for the sources of each part.
"""

from earlyphase.protocol.demo import write_demo_protocols
from earlyphase.protocol.render import FORMATS, write_protocol
from earlyphase.protocol.section import (
    DesignRules,
    ProtocolSection,
    default_scenarios,
    design_rules,
    protocol_section,
)

__all__ = [
    "FORMATS",
    "DesignRules",
    "ProtocolSection",
    "default_scenarios",
    "design_rules",
    "protocol_section",
    "write_demo_protocols",
    "write_protocol",
]
