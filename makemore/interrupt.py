"""Ctrl-C and SIGTERM during training: noted by a flag, acted on between steps, so the state saved is whole."""

import signal
import threading
from contextlib import contextmanager


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
