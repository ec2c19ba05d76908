"""Score words with a saved checkpoint: `python -m makemore.score "checkpoint='...'" words=[andrej,andrejq]`."""

import hydra

from makemore.cli import importing, report_config_errors, reported
from makemore.terminal import show
from makemore.tool_config import validate_score


@hydra.main(version_base="1.3", config_path="../conf", config_name="score")
@reported
def main(cfg):
    words = validate_score(cfg)
    with importing():  # torch only now: a bad argument is said at once, not after the seconds torch takes
        from makemore import checkpoint
        from makemore.sampling import score
    model, vocab, _ = checkpoint.load(cfg.checkpoint)
    show("\n".join(f"{word}\t{nll:.4f}" for word, nll in zip(words, score(model, vocab, words))))


if __name__ == "__main__":
    report_config_errors(main)
