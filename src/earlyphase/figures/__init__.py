"""Figures (Matplotlib, no display needed): operating characteristics, dose paths and a
design's decision flow."""

from earlyphase.figures.designs import plot_design_summary
from earlyphase.figures.flowchart import flowchart_figure

__all__ = ["flowchart_figure", "plot_design_summary"]
