"""Sample names from a saved checkpoint: `python -m makemore.sample "checkpoint='runs/<run>/checkpoint.pt'"
count=10`."""

import hydra

from makemore import signals
from makemore.cli import report_config_errors, reported
from makemore.config import validate_sample
from makemore.terminal import show


@hydra.main(version_base="1.3", config_path="../conf", config_name="sample")
@reported
def main(cfg):
    validate_sample(cfg)
    # torch only now: a bad argument is said at once, not after the seconds torch takes
    with signals.importing():
        from makemore import checkpoint
        from makemore.inference import sample
    model, vocab, state = checkpoint.load(cfg.checkpoint)
    run = state["config"]  # what the run used, where this command is not told otherwise
    keys = ("seed", "temperature", "top_k", "max_length")
    seed, temperature, top_k, max_length = (
        (run["seed"] if k == "seed" else run["sample"][k]) if cfg[k] is None else cfg[k] for k in keys
    )
    drawn = sample(model, cfg.count, seed, cfg.batched, temperature, top_k, max_length)
    names = [vocab.decode(word) for word in drawn]
    if names:
        show("\n".join(names))


if __name__ == "__main__":
    signals.start()
    report_config_errors(main)
