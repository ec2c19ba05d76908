"""Train one model (`python train.py model=neural reg=0.01`) or sweep (`python train.py -m model=counts,neural`)."""

import gc

from makemore import signals

signals.start()  # first: Ctrl-C while the imports below bring in torch is one line, not a traceback

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402

from makemore.cli import report_config_errors, reported  # noqa: E402
from makemore.training import run  # noqa: E402

# The imports made some 200,000 objects that live until exit: keep the garbage collector off them, in its
# collections during the run and at exit, which otherwise walk them all, in every command.
gc.freeze()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
@reported
def main(cfg):
    return run(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    report_config_errors(main)
