"""What the foresight commands share: their use cases, imported on first use."""

from __future__ import annotations


def use_cases():
    from ... import foresight  # on first use: a command of another group does not pay for importing it

    return foresight
