"""Train one model (`python train.py model=neural reg=0.01`) or sweep (`python train.py -m
model=counts,neural`)."""

import gc

# The imports below make some 200,000 objects that live until exit, and next to no garbage: no collection
# walks them while they are made, nor (frozen, below) in its collections during the run and at exit.
gc.disable()

from makemore import signals  # noqa: E402

signals.start()  # first: Ctrl-C while the imports below bring in torch is one line, not a traceback

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402

from makemore.cli import report_config_errors, reported  # noqa: E402
from makemore.training import run  # noqa: E402

gc.freeze()
gc.enable()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
@reported
def main(cfg):
    return run(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    report_config_errors(main)
