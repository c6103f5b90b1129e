"""How a training ends other than by finishing: the two exceptions ``trainer train`` turns into its exit.

They live apart from :mod:`trainer.loop` so that the command line can catch them without importing torch
(seconds) before it has read the command line: ``trainer train --help`` and a bad flag answer at once.
"""

from __future__ import annotations


class TrainError(RuntimeError):
    """A problem the user can fix; the message is one line."""


class TrainingStopped(Exception):
    """A SIGTERM / SIGINT stopped training after a checkpoint was written (an outcome, not an error:
    ``trainer train`` exits 0 with it); the message says how to resume."""
