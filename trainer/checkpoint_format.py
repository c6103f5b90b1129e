"""The names of the checkpoint format and the error its readers raise (ARCHITECTURE.md "Checkpoint contract").

The bottom of the checkpoint code: ``trainer.validate`` checks a file against these names and
``trainer.checkpoint`` writes them and calls the checks, so both import this module and neither imports the
other backwards. Everyone else keeps importing them from ``trainer.checkpoint`` (docs/checkpoint-format.md).
"""

from __future__ import annotations

FORMAT_NAME = "snd-checkpoint"
FORMAT_VERSION = 1
META_KEY = "snd"
MAX_HEADER_BYTES = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file and what was expected."""
