"""How every command reports: bad input and Ctrl-C as one line on stderr and a non-zero exit, no traceback.

An entry point calls `signals.start()` first, wraps its Hydra task in `reported` and calls Hydra's main
through `report_config_errors`; importing this module changes nothing.
"""

import functools
import logging
import os
import re
import shlex
import sys
from contextlib import suppress

from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException, MissingConfigException, OverrideParseException
from omegaconf.errors import OmegaConfBaseException

from makemore import MakemoreError, signals, summary
from makemore.config import sweeping
from makemore.files import file_error
from makemore.runs import Refused, resume_override, sweep_failed
from makemore.signals import Interrupted, Stopped, Terminated
from makemore.terminal import INTERRUPTED, fail

log = logging.getLogger("makemore")


def reported(task):
    """Wrap a Hydra task function. In a sweep the error is raised on, so Hydra marks just that job failed
    and runs the others; Hydra then prints the message (MakemoreError is one of its compact exceptions).
    A signal (Ctrl-C, SIGTERM) during training or while the outputs are written ends the whole sweep, once the
    job has saved what it had."""

    @functools.wraps(task)
    def wrapper(cfg):
        try:
            with signals.task():
                try:
                    return task(cfg)
                except OSError as e:  # a full disk, a folder that cannot be written
                    raise file_error(e, HydraConfig.get().runtime.output_dir) from None
        except Stopped as e:  # ends a sweep too: the user asked to stop
            message = (
                f"{e}; to continue, run {continuation(e.folder)}" if isinstance(e, Interrupted) else str(e)
            )
            log.error("%s", message)
            if sweeping():  # Hydra ends the job without on_job_end, where the summary gets each job's row
                with suppress(OSError):
                    summary.write(HydraConfig.get().sweep.dir)
            print(f"error: {message}", file=sys.stderr)
            sys.exit(e.exit_code)
        except MakemoreError as e:
            if log.hasHandlers():  # the run's log file (the sample and score commands keep none)
                log.error("%s", e)
            if sweeping():
                raise
            fail(e)
        except KeyboardInterrupt as e:  # outside training, which saves a checkpoint first (training.fit)
            print(INTERRUPTED, file=sys.stderr)
            sys.exit(143 if isinstance(e, Terminated) else 130)

    return wrapper


def continuation(folder):
    """The command that continues this run in `folder`: its overrides as a shell reads them, and resume=."""
    overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith("resume=")]
    return " ".join(["python train.py", *map(shlex.quote, overrides), resume_override(folder)])


def report_config_errors(main):
    """Call a @hydra.main function so that a config Hydra cannot compose (a value of the wrong type, an
    unknown key or option, an override it cannot parse) ends the command with one line `error: ...`, exit
    status 1; so does a file system error while Hydra sets up a run (a folder it cannot create or write into),
    and a sweep whose every job failed, whatever the sweeper then raises.

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
    except Refused as e:
        fail(e)
    except Exception:
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
    return (
        f"{message}: a value with characters other than ASCII letters, digits and _-+./\\$%*@?| "
        f'must be quoted for Hydra, as in "{key}={quoted}"'
    )
