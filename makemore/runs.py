"""A run owns its folder, and the folder's name says what the run was.

A run starts in a new or empty folder, or, resumed, in its own (or in hydra.run.dir, if given); it holds a
lock on the folder for its whole life, so that a second run or resume started into it at the same moment is
refused; and a run that stops before it trains (bad input, Ctrl-C) leaves the folder as it was, without what
Hydra wrote into it. A sweep holds its sweep folder in the same way, and each job one new folder directly
inside it, of its own.

Both are held before Hydra writes: a run's folder by the callback (Hydra creates the folder, opens the log and
saves .hydra/ right after on_run_start); a sweep job's as Hydra configures the job's logging (JobFolder), in
the job's process, right before it writes there (it calls on_job_start only after).
"""

import atexit
import fcntl
import logging
import os
import shlex
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.types import Quote, QuotedString
from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback
from omegaconf import read_write

from makemore import MakemoreError, signals, summary
from makemore.config import sweeping
from makemore.files import file_error, replace
from makemore.terminal import fail, show

CHECKPOINT = "checkpoint.pt"
LOCK = ".lock"  # in a run or sweep folder: flock-ed by the process that runs in it
# a sweep folder's own files, never a job's folder
SWEEP_FILES = {LOCK, summary.RUN_FILE, "summary.csv", "summary.png"}
_claim = None  # the folder this process's single run holds (Hydra runs one per process)
_sweep = None  # the folder this process's sweep holds
_job = None  # the descriptor of the lock on the folder of the sweep job this process runs now


def resume_override(folder):
    """`resume=<folder>` as one shell argument that Hydra parses back to the folder: run folders are named by
    their overrides, and Hydra reads a value with '=', ',', quotes or spaces only quoted, with its escapes."""
    return shlex.quote("resume=" + QuotedString(text=str(folder), quote=Quote.double).with_quotes())


# --- holding a folder --------------------------------------------------------------------------------------


def own_folder(resume):
    """The run folder that `resume` names, by the folder or by its own checkpoint.pt; None for any other file
    (a copy, a backup), which a run in a new folder continues from, leaving the folder it lies in alone."""
    path = Path(resume)
    folder = path if path.is_dir() else path.parent if path.name == CHECKPOINT else None
    return folder if folder is not None and (folder / CHECKPOINT).is_file() else None


def _make(folder):
    """Create the folder and whichever of its parents are missing; return those this created, innermost
    first."""
    if folder.exists() and not folder.is_dir():
        raise MakemoreError(f"{folder} is a file, not a folder")
    missing = []
    for path in (folder, *folder.parents):
        if path.is_dir():
            break
        missing.append(path)
    made = []
    try:
        for path in reversed(missing):
            try:
                path.mkdir()
                made.insert(0, path)
            except FileExistsError:  # another process made it just now
                pass
    except OSError as e:
        _remove(made)
        raise MakemoreError(f"cannot create the folder {folder}: {e.strerror}") from None
    return made


def _remove(folders):
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty after all: leave it
            return


def _lock(folder, what):
    """Lock the folder for the life of this process (the descriptor stays open); return whether this created
    the lock file. MakemoreError where another process holds the lock."""
    path = folder / LOCK
    try:
        fd, made = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
    except FileExistsError:
        fd, made = os.open(path, os.O_RDWR), False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise MakemoreError(
            f"another {what} is writing into {folder} right now; wait until it ends, "
            f"or choose another hydra.{what}.dir"
        ) from None
    return made


def _refuse_if_used(folder, what):
    """A run or sweep starts only in a folder that holds nothing (but the lock): never over what is there."""
    held = sorted(set(os.listdir(folder)) - {LOCK})
    if what == "run" and CHECKPOINT in held:
        raise MakemoreError(
            f"{folder} already holds a run's checkpoint; resume it with {resume_override(folder)}, "
            f"or choose another hydra.run.dir"
        )
    if held:
        listed = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise MakemoreError(
            f"{folder} is not empty (it holds {listed}); a {what} starts in a new or empty folder: "
            f"choose another hydra.{what}.dir"
        )


def _hold(folder, what, fresh=True):
    """Create and lock the folder, and refuse it if it is not `fresh`; return (folders made, lock file
    made)."""
    made = _make(folder)
    try:
        made_lock = _lock(folder, what)
        try:
            if fresh:
                _refuse_if_used(folder, what)
        except MakemoreError:
            if made_lock:
                (folder / LOCK).unlink()
            raise
    except OSError as e:
        _remove(made)
        raise MakemoreError(f"cannot write into the folder {folder}: {e.strerror}") from None
    except MakemoreError:
        _remove(made)
        raise
    return made, made_lock


@dataclass
class Claim:
    """A single run's hold on its folder, and what putting the folder back takes if the run stops before it
    trains: the files Hydra writes, as they were (None: absent), the lock file if the claim made it, and the
    folders to remove, innermost first (those the claim made, and Hydra's .hydra/ where it is new)."""

    folder: Path
    before: dict
    made_lock: bool
    remove: list
    began: bool = False

    def undo(self):
        if self.began:
            return
        for path, data in self.before.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:  # a new file: the log handler Hydra opened writes on into the old one, which is gone
                replace(path, lambda tmp: Path(tmp).write_bytes(data))
        if self.made_lock:
            (self.folder / LOCK).unlink(missing_ok=True)
        remove = self.remove
        # made new for this run: what it began to write there (TensorBoard's file) goes too
        if self.folder in remove:
            shutil.rmtree(self.folder, ignore_errors=True)
            remove = remove[remove.index(self.folder) + 1 :]
        _remove(remove)


def claim(config):
    """Hold a single run's folder before Hydra writes into it: hydra.run.dir, which must be new or empty; or
    the resumed run's own folder, where Hydra is told to write instead of a new one unless hydra.run.dir is
    given (the run then continues there, leaving its own folder alone)."""
    own = own_folder(config.resume) if config.resume else None
    given = any(o.lstrip("+~").partition("=")[0] == "hydra.run.dir" for o in config.hydra.overrides.hydra)
    if own is not None and not given:
        with read_write(config.hydra.run):
            config.hydra.run.dir = str(own)
    folder = Path(config.hydra.run.dir)
    fresh = own is None or os.path.abspath(folder) != os.path.abspath(own)
    made, made_lock = _hold(folder, "run", fresh=fresh)
    written, new = [folder / f"{config.hydra.job.name}.log"], []
    if config.hydra.output_subdir is not None:
        saved = folder / config.hydra.output_subdir
        written += [saved / name for name in ("config.yaml", "hydra.yaml", "overrides.yaml")]
        new = [] if saved.exists() else [saved]
    before = {path: path.read_bytes() if path.exists() else None for path in written}
    return Claim(folder, before, made_lock, new + made)


def hold_job(hydra):
    """Hold a sweep job's folder, which Hydra has just created (hydra.sweep.dir joined with
    hydra.sweep.subdir), before Hydra writes into it: one folder directly inside the sweep folder, where the
    summary finds it, that no other job of the sweep has taken. Return the descriptor of its lock;
    MakemoreError naming the key to change."""
    folder, sweep = Path(hydra.runtime.output_dir), Path(os.path.abspath(hydra.sweep.dir))
    job = f"job {hydra.job.num}'s folder {folder}"
    if folder.parent != sweep or folder.name in SWEEP_FILES:
        if folder.is_relative_to(sweep) and folder != sweep:  # what Hydra made there for it, if empty
            inside = folder.relative_to(sweep)
            _remove([sweep / path for path in (inside, *inside.parents)][:-1])
        raise MakemoreError(
            f"{job} is not a folder of its own directly inside the sweep folder {sweep}: give "
            f"hydra.sweep.subdir one folder name per job (its default starts with ${{hydra.job.num}})"
        )
    shared = MakemoreError(
        f"{job} is another job's too: give hydra.sweep.subdir a folder name per job "
        f"(its default starts with ${{hydra.job.num}})"
    )
    try:  # the lock file is the claim: only the job that creates it holds the folder
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise shared from None
    try:  # and locked as a run's folder is: a resume by hand into it is refused while the job runs
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if set(os.listdir(folder)) == {LOCK}:
            return fd
    except BlockingIOError:
        pass
    os.close(fd)
    (folder / LOCK).unlink()
    raise shared


class Refused(BaseException):
    """A sweep job's folder refused: the sweep ends, in one line (cli.report_config_errors). Not an Exception,
    which logging's configuration would wrap and Hydra's launchers take for a job's failure, and go on to
    write."""


def hold_this_job():
    """Hold the folder of the sweep job this process runs now (Hydra's config says which), or end the
    sweep."""
    global _job
    try:
        _job = hold_job(HydraConfig.get())
    except (MakemoreError, OSError) as e:
        raise Refused(str(file_error(e) if isinstance(e, OSError) else e)) from None


class JobFolder(logging.Filter):
    """Not a filter, but the moment a sweep job holds its folder (conf/config.yaml names it among the job's
    log filters): Hydra configures a job's logging, filters first, after it creates the job's folder and
    before it opens train.log and saves .hydra/ there, and calls no callback in between, whichever launcher
    runs the job."""

    def __init__(self):
        super().__init__()
        if sweeping():
            hold_this_job()


def began():
    """The run passed its checks and trains: what it writes from now on stays, whatever stops it."""
    if _claim is not None:
        _claim.began = True


def sweep_failed():
    """A MakemoreError where every job of this process's sweep failed, else None: a sweeper may then fail in a
    way of its own (Optuna finds no best trial, and raises a ValueError)."""
    rows = summary.collect(_sweep) if _sweep is not None else []
    if not rows or any(row["status"] == "ok" for row in rows):
        return None
    first = rows[0]["status"].removeprefix("failed: ")
    return MakemoreError(
        f"every job of the sweep failed, the first with {first} ({_sweep}/summary.csv has them all)"
    )


class RunFolder(Callback):
    """Hydra callback (conf/config.yaml, before the summary's): hold the run's or the sweep's folder before
    Hydra writes into it, and print it at the end."""

    def on_run_start(self, config, **kwargs):
        global _claim
        try:
            _claim = claim(config)
        except (MakemoreError, OSError) as e:  # Hydra would turn an exception here into a warning, and run on
            fail(file_error(e) if isinstance(e, OSError) else e)
        atexit.register(_claim.undo)
        signals.on_interrupt(signals.interrupted)

    def on_run_end(self, config, job_return, **kwargs):
        if job_return.status == JobStatus.COMPLETED:
            show(f"run folder: {config.hydra.run.dir}")

    def on_multirun_start(self, config, **kwargs):
        global _sweep
        try:
            _hold(Path(config.hydra.sweep.dir), "sweep")
        except (MakemoreError, OSError) as e:
            fail(file_error(e) if isinstance(e, OSError) else e)
        _sweep = config.hydra.sweep.dir
        signal.signal(signal.SIGTERM, signals.stop_jobs)

    def on_job_start(self, config, **kwargs):
        # held already as Hydra configured the job's logging, unless it configures none
        # (hydra/job_logging=disabled)
        if sweeping(config) and _job is None:
            hold_this_job()

    def on_job_end(self, config, job_return, **kwargs):
        global _job
        if _job is not None:  # the basic launcher runs every job in this process: one lock at a time
            os.close(_job)
            _job = None

    def on_multirun_end(self, config, **kwargs):
        show(f"sweep folder: {config.hydra.sweep.dir}")
