"""The Jinja2 environment every page is rendered from (``templates/*.html``).

Autoescaping is on for every template, so a subject code, a reason or an adverse event's term
typed by a user is always shown as text; the only markup passed in whole is the decision
table pandas writes (it escapes the cells itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)

__all__ = ["ENV", "TEMPLATES", "render"]


def render(template: str, **context: Any) -> str:
    """``template`` rendered with ``context``."""
    return ENV.get_template(template).render(**context)
