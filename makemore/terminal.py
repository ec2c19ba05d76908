"""What the commands show on the terminal: errors as one line on stderr, and output to stdout that survives a
reader that stops reading (`python train.py | head -2`)."""

import logging
import os
import sys

INTERRUPTED = "error: interrupted; the run did not finish"


def first_line(error):
    """An exception's message as one line (its type's name where it has none)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0].strip()


def fail(error):
    """End the command: the error as one line on stderr, and its exit status."""
    print(f"error: {error}", file=sys.stderr)
    sys.exit(getattr(error, "exit_code", 1))


def _quiet_stdout():
    """The reader of stdout is gone: send what is still written there nowhere, so that the command finishes
    its work (a run writes all its outputs) and exits as it would have, without a traceback."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def show(text):
    """Print to stdout, whose reader may have stopped reading."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _quiet_stdout()


class Terminal(logging.StreamHandler):
    """Hydra's console log handlers (conf/config.yaml): stdout, whose reader may have stopped reading."""

    def handleError(self, record):
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            _quiet_stdout()
        else:
            super().handleError(record)


class NoErrors(logging.Filter):
    """For a run's log on the terminal: the command prints an error once, as `error: ...` on stderr (the log
    file keeps it), not once more on stdout."""

    def filter(self, record):
        return record.levelno < logging.ERROR
