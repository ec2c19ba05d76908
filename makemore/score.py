"""Score words with a saved checkpoint: `python -m makemore.score "checkpoint='...'" words=[andrej,andrejq]`."""

import gc

import hydra

from makemore.cli import report_config_errors, reported  # first: Ctrl-C while torch is imported is one line (cli.py)
from makemore import checkpoint
from makemore.sampling import score
from makemore.terminal import show
from makemore.tool_config import validate_score

gc.freeze()  # as in train.py: the collector leaves the imports alone, and exit is fast


@hydra.main(version_base="1.3", config_path="../conf", config_name="score")
@reported
def main(cfg):
    words = validate_score(cfg)
    model, vocab, _ = checkpoint.load(cfg.checkpoint)
    show("\n".join(f"{word}\t{nll:.4f}" for word, nll in zip(words, score(model, vocab, words))))


if __name__ == "__main__":
    report_config_errors(main)
