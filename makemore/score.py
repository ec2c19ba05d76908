"""Score words with a saved checkpoint: `python -m makemore.score "checkpoint='...'"
words=[andrej,andrejq]`."""

import hydra

from makemore import signals
from makemore.cli import report_config_errors, reported
from makemore.config import validate_score
from makemore.terminal import show


@hydra.main(version_base="1.3", config_path="../conf", config_name="score")
@reported
def main(cfg):
    words = validate_score(cfg)
    # torch only now: a bad argument is said at once, not after the seconds torch takes
    with signals.importing():
        from makemore import checkpoint
        from makemore.inference import score
    model, vocab, _ = checkpoint.load(cfg.checkpoint)
    show("\n".join(f"{word}\t{nll:.4f}" for word, nll in zip(words, score(model, vocab, words))))


if __name__ == "__main__":
    signals.start()
    report_config_errors(main)
