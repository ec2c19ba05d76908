"""Sample names from a saved checkpoint: `python -m makemore.sample "checkpoint='runs/<run>/checkpoint.pt'" count=10`."""

import gc

import hydra

from makemore.cli import report_config_errors, reported  # first: Ctrl-C while torch is imported is one line (cli.py)
from makemore import checkpoint
from makemore.sampling import sample
from makemore.terminal import show
from makemore.tool_config import validate_sample

gc.freeze()  # as in train.py: the collector leaves the imports alone, and exit is fast


@hydra.main(version_base="1.3", config_path="../conf", config_name="sample")
@reported
def main(cfg):
    validate_sample(cfg)
    model, vocab, state = checkpoint.load(cfg.checkpoint)
    run = state["config"]  # what the run used, where this command is not told otherwise
    keys = ("seed", "temperature", "top_k", "max_length")
    seed, temperature, top_k, max_length = (
        (run["seed"] if k == "seed" else run["sample"][k]) if cfg[k] is None else cfg[k] for k in keys)
    drawn = sample(model, cfg.count, seed, cfg.batched, temperature, top_k, max_length)
    names = [vocab.decode(word) for word in drawn]
    if names:
        show("\n".join(names))


if __name__ == "__main__":
    report_config_errors(main)
