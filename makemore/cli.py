"""What every command does with a MakemoreError or Ctrl-C: one line on stderr and a non-zero exit, no traceback."""

import functools
import logging
import os
import shlex
import signal
import sys
import threading

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from makemore import MakemoreError
from makemore.interrupt import Interrupted, resume_override

log = logging.getLogger("makemore")
INTERRUPTED = "error: interrupted; the run did not finish"


def _stop(signum, frame):
    print(INTERRUPTED, file=sys.stderr, flush=True)
    os._exit(130)


def _swap_sigint(old, new):
    """Handle SIGINT with `new` where `old` handles it (not where it is ignored, as in a background job)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is old:
        signal.signal(signal.SIGINT, new)  # handlers can only be set in the main thread


# The commands import this module before torch. While torch is imported and Hydra sets up (a second or two),
# Ctrl-C ends the process at once with one line: a KeyboardInterrupt there would print a traceback, or be
# swallowed by an import and leave a library half-imported. The task itself gets KeyboardInterrupt back.
_swap_sigint(signal.default_int_handler, _stop)


def reported(task):
    """Wrap a Hydra task function. In a sweep the error is raised on, so Hydra marks just that job failed
    and runs the others; Hydra then prints the message (MakemoreError is one of its compact exceptions).
    A signal during training (Ctrl-C, SIGTERM) ends the whole sweep, once the job has saved its checkpoint."""

    @functools.wraps(task)
    def wrapper(cfg):
        _swap_sigint(_stop, signal.default_int_handler)
        try:
            return task(cfg)
        except Interrupted as e:  # ends a sweep too: the user asked to stop
            overrides = [shlex.quote(o) for o in HydraConfig.get().overrides.task if not o.startswith("resume=")]
            message = f"{e}; to continue, run " + " ".join(["python train.py", *overrides, resume_override(e.folder)])
            log.error("%s", message)
            print(f"error: {message}", file=sys.stderr)
            sys.exit(e.exit_code)
        except MakemoreError as e:
            if log.hasHandlers():  # the run's log file (the sample and score commands keep none)
                log.error("%s", e)
            if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
                raise
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:  # outside training, which saves a checkpoint first (training.fit)
            print(INTERRUPTED, file=sys.stderr)
            sys.exit(130)

    return wrapper
