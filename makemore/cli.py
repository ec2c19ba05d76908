"""What every command does with bad input and Ctrl-C: one line on stderr and a non-zero exit, no traceback; and
its --help, which lists the command's own keys with their comments."""

import functools
import gc
import logging
import os
import re
import shlex
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from makemore import MakemoreError
from makemore.interrupt import Interrupted, Stopped, resume_override
from makemore.terminal import INTERRUPTED, fail, file_error

log = logging.getLogger("makemore")
CONF = Path(__file__).resolve().parents[1] / "conf"


def _stop(signum, frame):
    print(INTERRUPTED, file=sys.stderr, flush=True)
    os._exit(130)


class Terminated(KeyboardInterrupt):
    """SIGTERM in a task but outside training: stops the command as Ctrl-C does there, with SIGTERM's status."""


def _terminate(signum, frame):
    raise Terminated


def _exit(signum, frame):
    """SIGTERM after the task: exit as Python does, where the signal's default would leave a joblib worker's
    semaphores to the resource tracker, which then warns about them. Once: a second SIGTERM is ignored while the
    process exits."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(128 + signum)


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


# The commands import this module before torch. While torch is imported and Hydra sets up (a second or two),
# Ctrl-C ends the process at once with one line: a KeyboardInterrupt there would print a traceback, or be
# swallowed by an import and leave a library half-imported. A sweep's job gets KeyboardInterrupt back; a single
# run a handler of its own (makemore/runs.py) from the moment Hydra writes into its folder.
_swap_sigint(signal.default_int_handler, _stop)


@contextmanager
def importing():
    """Around an import inside a task (torch, once a command's arguments are known to be good, so that a bad one
    is said at once): Ctrl-C ends the process at once with one line there too. What it imported is then left
    alone by the garbage collector, in its collections and at exit (see train.py)."""
    _swap_sigint(signal.default_int_handler, _stop)
    try:
        yield
    finally:
        _swap_sigint(_stop, signal.default_int_handler)
    gc.freeze()


def _thread_error(args):
    """TensorBoard's writer thread ends on a file system error (a full disk), which the run then raises and
    reports in one line: not also as the thread's traceback."""
    if not (issubclass(args.exc_type, OSError) and type(args.thread).__module__.startswith("tensorboard")):
        threading.__excepthook__(args)


threading.excepthook = _thread_error
# A log record that cannot be written (train.log on a full disk) is dropped, not printed with a traceback: the run
# reports the disk in one line when it next writes a file of its own.
logging.raiseExceptions = False


def reported(task):
    """Wrap a Hydra task function. In a sweep the error is raised on, so Hydra marks just that job failed
    and runs the others; Hydra then prints the message (MakemoreError is one of its compact exceptions).
    A signal (Ctrl-C, SIGTERM) during training or while the outputs are written ends the whole sweep, once the
    job has saved what it had."""

    @functools.wraps(task)
    def wrapper(cfg):
        _swap_sigint(_stop, signal.default_int_handler)
        terminate = _swap_sigterm((signal.SIG_DFL, _exit), _terminate)  # not a sweep's parent's (runs.py)
        try:
            try:
                return task(cfg)
            except OSError as e:  # a full disk, a folder that cannot be written
                raise file_error(e, HydraConfig.get().runtime.output_dir) from None
        except Stopped as e:  # ends a sweep too: the user asked to stop
            message = f"{e}; to continue, run {continuation(e.folder)}" if isinstance(e, Interrupted) else str(e)
            log.error("%s", message)
            print(f"error: {message}", file=sys.stderr)
            sys.exit(e.exit_code)
        except MakemoreError as e:
            if log.hasHandlers():  # the run's log file (the sample and score commands keep none)
                log.error("%s", e)
            if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
                raise
            fail(e)
        except KeyboardInterrupt as e:  # outside training, which saves a checkpoint first (training.fit)
            print(INTERRUPTED, file=sys.stderr)
            sys.exit(143 if isinstance(e, Terminated) else 130)
        finally:
            if terminate:
                signal.signal(signal.SIGTERM, _exit)

    return wrapper


def continuation(folder):
    """The command that continues this run in `folder`: its overrides as a shell reads them, and resume=."""
    overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith("resume=")]
    return " ".join(["python train.py", *map(shlex.quote, overrides), resume_override(folder)])


def report_config_errors(main):
    """Call a @hydra.main function so that a config Hydra cannot compose (a value of the wrong type, an unknown
    key or option, an override it cannot parse) ends the command with one line `error: ...`, exit status 1;
    so does a file system error while Hydra sets up a run (a folder it cannot create or write into), and a sweep
    whose every job failed, whatever the sweeper then raises.

    Hydra prints these errors itself, in several lines, and exits, unless HYDRA_FULL_ERROR=1: its documented
    switch under which it raises them instead. So it is set here, and what Hydra raises of its compact kind
    (the errors it would print as a message, MakemoreError among them) is printed as one line; any other
    exception, a bug, goes on as a traceback. A user who set HYDRA_FULL_ERROR=1 gets Hydra's full error.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        return main()
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        return main()
    except CompactHydraException as e:
        fail(MakemoreError(one_line(e)))
    except OSError as e:
        fail(file_error(e))
    except Exception:
        from makemore.runs import sweep_failed  # here: it imports torch, which Ctrl-C above must not interrupt

        error = sweep_failed()
        if error is None:  # a bug
            raise
        fail(error)
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)


def one_line(error):
    """A Hydra error's message, as one line."""
    if isinstance(error, MakemoreError):
        return str(error)
    if isinstance(error, OverrideParseException):
        return unparsable(error.override)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if isinstance(error, MissingConfigException):  # the rest is Hydra's search path
        return lines[0] + (f" (the options: {', '.join(error.options)})" if error.options else "")
    if isinstance(error.__cause__, OmegaConfBaseException):  # the first line says what; the rest is where
        lines.append(str(error.__cause__).strip().splitlines()[0])
    moved = re.match(r"Could not override '(model|optimizer)\.(lr|reg|smoothing)'", lines[0])
    if moved:  # a key of the design card, which the run takes at its top level (not Hydra's advice: +key=...)
        lines = [lines[0], f"{moved[2]} is a key of the run, not of the {moved[1]}: give {moved[2]}=<value>"]
    message = "; ".join(line.rstrip(".") for line in lines)
    return message.replace("Error merging override ", "bad override ", 1)


def unparsable(override):
    """Hydra's grammar reads a value unquoted only if it is made of ASCII letters, digits and a few signs:
    say so, with the override quoted the way that works from a shell."""
    message = f"Hydra cannot parse the override {override!r}"
    key, _, value = override.partition("=")
    if not value or any(q in value for q in "'\""):  # already quoted: quoting is not what is wrong
        return message
    if value.startswith("[") and value.endswith("]"):
        quoted = "[" + ",".join(f"'{v.strip()}'" for v in value[1:-1].split(",")) + "]"
    else:
        quoted = f"'{value}'"
    return (f"{message}: a value with characters other than ASCII letters, digits and _-+./\\$%*@?| "
            f"must be quoted for Hydra, as in \"{key}={quoted}\"")


def conf_help(name):
    """conf/<name>.yaml as --help shows it: every key with its default and comment, and the config groups to
    choose from; not the hydra: block, nor the defaults that are no choice (schemas, _self_)."""
    text = (CONF / f"{name}.yaml").read_text()
    text = re.split(r"^hydra:", text, flags=re.M)[0]
    lines = [line for line in text.splitlines() if not re.match(r"\s+- \w+\s*(#.*)?$", line)]
    for i, line in enumerate(lines):  # a group's choice: the files of conf/<group>/ are its options
        group = re.match(r"\s+- (\w+): ", line)
        if group:
            options = " | ".join(sorted(p.stem for p in (CONF / group[1]).glob("*.yaml")))
            lines[i] = f"{line}\n{' ' * 27}# {options} (conf/{group[1]}/)"
    text = "\n".join(lines).replace("defaults:\n\n", "\n")
    return text.replace("$", "$$").rstrip()  # Hydra fills the template with string.Template: $ is its sign


OmegaConf.register_new_resolver("conf_help", conf_help, replace=True)
