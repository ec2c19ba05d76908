"""Ctrl-C and SIGTERM, in one place: what a command does with them at each moment of its life.

- From `start()` (the first thing an entry point calls) while torch is imported and Hydra sets up, and inside
  `importing()`: the process ends at once with one line, where a KeyboardInterrupt would print a traceback or
  leave a library half-imported.
- In a task (`task()`, which makemore/cli.py's `reported` enters): KeyboardInterrupt, and SIGTERM as
  `Terminated`, which the command reports in one line.
- A single run from the moment Hydra writes into its folder (`interrupted`): one line, and an exit that puts
  the folder back as it was (makemore/runs.py).
- During training and while a run makes and writes its outputs (`caught`): noted by a flag and acted on
  between two steps, between two chunks of long work (an evaluation, sampling, counting: `check`), or once the
  outputs are written, so that what the run saved is whole.
- A sweep's parent (`stop_jobs`): SIGTERM is passed on to the processes that run its jobs.
"""

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

from makemore import MakemoreError
from makemore.terminal import INTERRUPTED, fail

STOP_WAIT = 60  # seconds a sweep's job processes get to save their checkpoints after SIGTERM
RESEND = (
    2  # seconds between two SIGTERMs to a job's process: the first stops its job, a later one the process
)


def start():
    """An entry point's first call, before it imports torch. Errors that Python would print as a traceback of
    their own are left to the one line the command prints: a TensorBoard writer thread's file system error (a
    full disk, which the run then raises), and a log record that cannot be written (train.log on a full
    disk)."""
    _swap_sigint(signal.default_int_handler, _stop)
    threading.excepthook = _thread_error
    logging.raiseExceptions = False


def _stop(signum, frame):
    print(INTERRUPTED, file=sys.stderr, flush=True)
    os._exit(130)


def _thread_error(args):
    if not (issubclass(args.exc_type, OSError) and type(args.thread).__module__.startswith("tensorboard")):
        threading.__excepthook__(args)


def _swap_sigint(old, new):
    """Handle SIGINT with `new` where `old` handles it (not where it is ignored, as in a background job)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is old:
        signal.signal(signal.SIGINT, new)  # handlers can only be set in the main thread


def _swap_sigterm(olds, new):
    """Handle SIGTERM with `new` where one of `olds` handles it; return whether it did."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in olds:
        signal.signal(signal.SIGTERM, new)
        return True
    return False


@contextmanager
def importing():
    """Around an import inside a task (torch, once a command's arguments are known to be good, so that a bad
    one is said at once): Ctrl-C ends the process at once with one line there too. What it imported is then
    left alone by the garbage collector, in its collections and at exit (see train.py)."""
    _swap_sigint(signal.default_int_handler, _stop)
    try:
        yield
    finally:
        _swap_sigint(_stop, signal.default_int_handler)
    gc.freeze()


def command(main, *args):
    """Run a command that is not a Hydra app (the summary, the benchmark) as the Hydra ones run: Ctrl-C,
    SIGTERM and a MakemoreError as one line and an exit status (makemore/cli.py does this for a Hydra
    task)."""
    start()
    try:
        with task():
            return main(*args)
    except MakemoreError as e:
        fail(e)
    except KeyboardInterrupt as e:
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(143 if isinstance(e, Terminated) else 130)


class Terminated(KeyboardInterrupt):
    """SIGTERM in a task but outside training: stops the command as Ctrl-C does there, with SIGTERM's
    status."""


def _terminate(signum, frame):
    raise Terminated


def _exit(signum, frame):
    """SIGTERM after the task: exit as Python does, where the signal's default would leave a joblib worker's
    semaphores to the resource tracker, which then warns about them. Once: a second SIGTERM is ignored while
    the process exits."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(128 + signum)


@contextmanager
def task():
    """A task's life: Ctrl-C raises KeyboardInterrupt again, and SIGTERM Terminated (not in a sweep's parent,
    whose own handler passes it on to the jobs); after it, SIGTERM exits as Python does."""
    _swap_sigint(_stop, signal.default_int_handler)
    terminate = _swap_sigterm((signal.SIG_DFL, _exit), _terminate)
    try:
        yield
    finally:
        if terminate:
            signal.signal(signal.SIGTERM, _exit)


def interrupted(signum, frame):
    """Ctrl-C or SIGTERM to a single run outside training (which saves a checkpoint first): one line, and an
    exit that runs the run folder's undo (atexit), from the moment Hydra starts to write into the folder."""
    for handled in (signal.SIGINT, signal.SIGTERM):
        signal.signal(handled, signal.SIG_IGN)  # once: the exit is under way
    print(INTERRUPTED, file=sys.stderr)
    sys.exit(128 + signum)


def on_interrupt(handler):
    """Handle Ctrl-C and SIGTERM with `handler`, where they are not ignored (as in a background job)."""
    for handled in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(handled) is not signal.SIG_IGN:
            signal.signal(handled, handler)


def stop_jobs(signum, frame):
    """SIGTERM to a sweep's parent: pass it on to the processes that run the jobs (joblib's), each of which
    saves its checkpoint and stops its job, then end the sweep. A job's process acts on the signal between two
    steps and then waits for work, where the signal ends it: so it is sent until the process is gone."""
    jobs, deadline = multiprocessing.active_children(), time.monotonic() + STOP_WAIT
    while jobs and time.monotonic() < deadline:
        for job in jobs:
            job.terminate()
        resent = time.monotonic() + RESEND  # time for a job to save, say so and go back to waiting for work
        while jobs and time.monotonic() < resent:
            time.sleep(0.05)
            jobs = [job for job in jobs if job.is_alive()]
    for job in jobs:
        os.kill(job.pid, signal.SIGKILL)
    error = MakemoreError(
        "SIGTERM: the sweep stopped, and its jobs with it (a job that was training saved its "
        "checkpoint, and its line above says how to continue it)"
    )
    error.exit_code = 128 + signum
    fail(error)


class Signals:
    received = None  # the name of the first signal received, or None


_flags = []  # the flags of the `caught` blocks this process is in, the innermost last


@contextmanager
def caught(*signums):
    """Within the block, the given signals set `.received` instead of stopping the process."""
    flag = Signals()
    _flags.append(flag)
    try:
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
    finally:
        _flags.remove(flag)


def check():
    """Where long work may stop (between two chunks of an evaluation, of sampling or of counting): raise
    Signalled if a signal was caught, so that the run stops within a chunk's time, its last checkpoint whole.
    Outside a `caught` block a signal acts at once, and this does nothing."""
    if _flags and _flags[-1].received:
        raise Signalled(_flags[-1].received)


class Signalled(Exception):
    """A caught signal, raised by `check` from inside long work: the block that caught it saves what it has
    and stops (makemore/training.py)."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


class Stopped(MakemoreError):
    """A run stopped by a signal once what it had was saved: it ends a sweep too, as the user asked."""

    def __init__(self, message, signal_name, folder):
        super().__init__(message)
        self.folder = folder
        self.exit_code = 128 + signal.Signals[signal_name]  # as a shell reports a process the signal ended


class Interrupted(Stopped):
    """Training stopped by a signal, after saving a checkpoint of the step it stopped at: it can be
    continued."""

    def __init__(self, signal_name, step, path):
        super().__init__(f"{signal_name} at step {step}: saved {path}", signal_name, path.parent)


class InterruptedOutputs(Interrupted):
    """A signal while the final evaluation and the samples were made, before any output was written: the last
    checkpoint is whole, and continuing it writes them."""

    def __init__(self, signal_name, step, path):
        Stopped.__init__(
            self,
            f"{signal_name} after training, before its outputs were written: {path} holds step {step}",
            signal_name,
            path.parent,
        )


class StoppedAfterTraining(Stopped):
    """A signal while the outputs were written, acted on once all were: the run is complete."""

    def __init__(self, signal_name, folder):
        super().__init__(
            f"{signal_name} after training: waited until every output was written; the run in "
            f"{folder} is complete",
            signal_name,
            folder,
        )
