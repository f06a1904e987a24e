"""Result tables as tidy DataFrames, ready for the report layer to format."""

from earlyphase.tables.survival import landmark_survival_table

__all__ = ["landmark_survival_table"]
