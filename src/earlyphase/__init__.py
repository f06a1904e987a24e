"""earlyphase: design, conduct and report small early-phase clinical trials."""

__version__ = "0.1.0"
