"""Figures (Matplotlib, no display needed): operating characteristics and dose paths."""

from earlyphase.figures.designs import plot_design_summary

__all__ = ["plot_design_summary"]
