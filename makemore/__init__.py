"""makemore: config-driven experiments with character-level language models."""

from hydra.errors import CompactHydraException


class MakemoreError(CompactHydraException):
    """A problem the user can fix (bad input, bad config, an interrupted run): reported as one line.

    A Hydra exception of the compact kind, so that where it escapes a sweep job Hydra prints its message
    and not a traceback.
    """

    exit_code = 1
