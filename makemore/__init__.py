"""makemore: config-driven experiments with character-level language models."""


class MakemoreError(Exception):
    """A problem the user can fix (bad input, bad config): reported as one line, never a traceback."""
