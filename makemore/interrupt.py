"""Ctrl-C and SIGTERM during training and while a run writes its outputs: noted by a flag and acted on between
two steps, or once the outputs are written, so that what the run saved is whole."""

import shlex
import signal
import threading
from contextlib import contextmanager

from hydra.core.override_parser.types import Quote, QuotedString

from makemore import MakemoreError


class Signals:
    received = None  # the name of the first signal received, or None


@contextmanager
def caught(*signums):
    """Within the block, the given signals set `.received` instead of stopping the process."""
    flag = Signals()
    if threading.current_thread() is not threading.main_thread():  # handlers can only live there
        yield flag
        return

    def note(signum, frame):
        flag.received = flag.received or signal.Signals(signum).name

    previous = {s: signal.signal(s, note) for s in signums}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class Stopped(MakemoreError):
    """A run stopped by a signal once what it had was saved: it ends a sweep too, as the user asked."""

    def __init__(self, message, signal_name, folder):
        super().__init__(message)
        self.folder = folder
        self.exit_code = 128 + signal.Signals[signal_name]  # as a shell reports a process the signal ended


class Interrupted(Stopped):
    """Training stopped by a signal, after saving a checkpoint of the step it stopped at: it can be continued."""

    def __init__(self, signal_name, step, path):
        super().__init__(f"{signal_name} at step {step}: saved {path}", signal_name, path.parent)


class StoppedAfterTraining(Stopped):
    """A signal while the outputs were written, acted on once all were: the run is complete."""

    def __init__(self, signal_name, folder):
        super().__init__(f"{signal_name} after training: waited until every output was written; the run in "
                         f"{folder} is complete", signal_name, folder)


def resume_override(folder):
    """`resume=<folder>` as one shell argument that Hydra parses back to the folder: run folders are named by
    their overrides, and Hydra reads a value with '=', ',', quotes or spaces only quoted, with its escapes."""
    return shlex.quote("resume=" + QuotedString(text=str(folder), quote=Quote.double).with_quotes())
