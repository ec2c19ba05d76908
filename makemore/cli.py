"""What every command does with a MakemoreError: one line on stderr and a non-zero exit, no traceback."""

import functools
import logging
import sys

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from makemore import MakemoreError

log = logging.getLogger("makemore")


def reported(task):
    """Wrap a Hydra task function. In a sweep the error is raised on, so Hydra marks just that job failed
    and runs the others; Hydra then prints the message (MakemoreError is one of its compact exceptions)."""

    @functools.wraps(task)
    def wrapper(cfg):
        try:
            return task(cfg)
        except MakemoreError as e:
            if log.hasHandlers():  # the run's log file (the sample and score commands keep none)
                log.error("%s", e)
            if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
                raise
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:  # outside training, which saves a checkpoint first (training.fit)
            print("error: interrupted; nothing was written", file=sys.stderr)
            sys.exit(130)

    return wrapper
