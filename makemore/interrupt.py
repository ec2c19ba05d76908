"""Ctrl-C and SIGTERM during training: noted by a flag, acted on between steps, so the state saved is whole."""

import signal
import threading
from contextlib import contextmanager

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

    def __init__(self, signal_name, step, path):
        super().__init__(f"{signal_name} at step {step}: saved {path}")
        self.folder = path.parent
        self.exit_code = 130 if signal_name == "SIGINT" else 143


def resume_override(folder):
    """`resume=<folder>` as a shell argument Hydra can parse: run folders are named by their overrides, and an
    unquoted value may not hold '=' or ','."""
    return f"\"resume='{folder}'\""
