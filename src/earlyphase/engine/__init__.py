"""How a design is run: trial states as arrays, one step of a trial, exact enumeration of every
trial path, vectorised Monte Carlo and dose paths.

This package sits below :mod:`earlyphase.designs` and :mod:`earlyphase.simulate` and imports
neither; it sees a design only through :class:`earlyphase.engine.rule.BatchRule`.
"""
