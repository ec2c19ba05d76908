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


class Interrupted(MakemoreError):
    """Training stopped by a signal, after saving a checkpoint of the step it stopped at."""

    resumable = True  # the error says how to continue the run

    def __init__(self, signal_name, step, path):
        super().__init__(f"{signal_name} at step {step}: saved {path}")
        self.folder = path.parent
        self.exit_code = 128 + signal.Signals[signal_name]  # as a shell reports a process the signal ended


class InterruptedAfterTraining(Interrupted):
    """A signal while the outputs were written, acted on once all were: the run is complete."""

    resumable = False

    def __init__(self, signal_name, folder):
        MakemoreError.__init__(self, f"{signal_name} after training: waited until every output was written; "
                                     f"the run in {folder} is complete")
        self.folder = folder
        self.exit_code = 128 + signal.Signals[signal_name]


def resume_override(folder):
    """`resume=<folder>` as one shell argument that Hydra parses back to the folder: run folders are named by
    their overrides, and Hydra reads a value with '=', ',', quotes or spaces only quoted, with its escapes."""
    return shlex.quote("resume=" + QuotedString(text=str(folder), quote=Quote.double).with_quotes())
