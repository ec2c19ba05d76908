"""One run: data, model, training loop with TensorBoard logging, then checkpoint, samples and metrics."""

import json
import logging
import math
import signal
import time
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from makemore import MakemoreError, board, checkpoint
from makemore.config import validate
from makemore.data import count, read_words, split, split_examples
from makemore.interrupt import Interrupted, caught, resume_override
from makemore.models import Stats
from makemore.sampling import sample

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def nll_or_none(model, stats):
    return model.nll(stats).item() if stats.total else None


def fit(model, data, cfg, writer, save, start=0, rng=None):
    """Gradient descent from step `start`: full batch on the training counts, or minibatches of the training
    examples when cfg.batch_size is set; a model without parameters is logged as a flat line.

    `save` (checkpoint.Checkpoints) writes a checkpoint; it is called at every evaluation, so a run that
    stops leaves the last good one, and on Ctrl-C or SIGTERM, which stop the run between two steps.
    """
    train, val = data["train"], data["val"]
    params = [p for p in model.parameters() if p.requires_grad]
    minibatch = cfg.batch_size is not None and params
    g = torch.Generator().manual_seed(cfg.seed)  # draws the minibatches and nothing else
    if rng is not None:
        g.set_state(rng)
    last_saved = None
    with caught(signal.SIGINT, signal.SIGTERM) as signals:
        bar = tqdm(range(start, cfg.steps + 1), initial=start, total=cfg.steps + 1, disable=None, leave=False)
        for step in bar:
            rng = g.get_state()  # as it was before this step's draw: a run resumed here draws the same batch
            if signals.received:
                save(step, rng)
                raise Interrupted(signals.received, step, save.path)
            if minibatch:
                i = torch.randint(len(data["examples"][1]), (cfg.batch_size,), generator=g)
                nll = model.nll_examples(data["examples"][0][i], data["examples"][1][i])
            else:
                nll = model.nll(train)
            loss = nll + model.regularization()
            value = loss.item()
            if not math.isfinite(value):
                kept = f"{save.path} of step {last_saved} is kept" if last_saved is not None else "nothing was saved"
                raise MakemoreError(f"training stopped at step {step}: the loss became {value} "
                                    f"(is lr={cfg.lr} too large?); {kept}")
            writer.add_scalar("train/loss", value, step)
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            if step % cfg.eval_interval == 0 or step == cfg.steps:
                with torch.no_grad():
                    writer.add_scalar("train/nll", model.nll(train).item() if minibatch else nll.item(), step)
                    if val.total:
                        writer.add_scalar("val/nll", model.nll(val).item(), step)
                save(step, rng)
                last_saved = step
            if step == cfg.steps or not params:
                continue
            loss.backward()
            model.step(cfg.lr)
    log.info("step %d: train loss %.4f", cfg.steps, value)


RESUMABLE = {"steps", "eval_interval", "threads", "sample", "figures", "resume"}  # what a resumed run may change


def resumed(cfg):
    """(run folder, checkpoint state) to continue, after checking that the run is the same but for RESUMABLE."""
    path = Path(cfg.resume)
    path = path / "checkpoint.pt" if path.is_dir() else path
    _, _, state = checkpoint.load(path)
    then, now = state["config"], OmegaConf.to_container(cfg, resolve=True)
    for key in sorted((set(then) | set(now)) - RESUMABLE):
        if then.get(key) != now.get(key):
            raise MakemoreError(f"resume={cfg.resume}: {key} is {now.get(key)} here but {then.get(key)} in the "
                                f"checkpoint; resume with the run's own config (only {sorted(RESUMABLE)} may change)")
    if state["step"] > cfg.steps:
        raise MakemoreError(f"resume={cfg.resume}: the checkpoint is at step {state['step']}, past steps={cfg.steps}")
    log.info("resuming %s from step %d", path.parent, state["step"])
    return path.parent, state


def run(cfg, out):
    """Train the configured model and write everything into the folder `out` (or the resumed run's folder);
    return the validation NLL."""
    validate(cfg)
    begin = time.perf_counter()
    out, state = resumed(cfg) if cfg.resume else (Path(out), None)
    if state is None and (out / "checkpoint.pt").exists():
        raise MakemoreError(f"{out} already holds a run's checkpoint; resume it with {resume_override(out)}, "
                            f"or choose another hydra.run.dir")
    torch.set_num_threads(cfg.threads)

    words = read_words(cfg.data.path)
    for note in words.notes:
        log.warning(note)
    log.info("%d words (%d of them repeat an earlier line, and count as often as they appear)",
             len(words), words.duplicates())
    labels = split(len(words), cfg.data.val_fraction, cfg.data.test_fraction, cfg.data.split_seed)
    data = dict(zip(SPLITS, (Stats.of(N) for N in count(words, labels, cfg.context))))
    log.info("vocabulary of %d: %d/%d/%d examples in train/val/test",
             len(words.vocab), *(data[s].total for s in SPLITS))
    if cfg.batch_size is not None:
        data["examples"] = split_examples(words, labels, 0, cfg.context)

    model = instantiate(cfg.model, vocab_size=len(words.vocab))
    if state is not None:
        if state["itos"] != words.vocab.itos:
            raise MakemoreError(f"resume={cfg.resume}: the checkpoint's vocabulary differs from {cfg.data.path}'s")
        model.load_state_dict(state["state_dict"])
    model.fit(data["train"])
    save = checkpoint.Checkpoints(out / "checkpoint.pt", model, words.vocab, OmegaConf.to_container(cfg, resolve=True))
    start = 0 if state is None else state["step"]
    with SummaryWriter(str(out), purge_step=start if state else None) as writer:
        board.log_hparams(writer, cfg, model.name)
        fit(model, data, cfg, writer, save, start, None if state is None else state.get("rng"))
        with torch.no_grad():
            nlls = {s: nll_or_none(model, data[s]) for s in SPLITS}
        if nlls["test"] is not None:
            writer.add_scalar("test/nll", nlls["test"], cfg.steps)
        names = [words.vocab.decode(w) for w in sample(model, cfg.sample.count, cfg.seed, cfg.sample.batched)]
        checkpoint.replace(out / "samples.txt", lambda tmp: Path(tmp).write_text("".join(n + "\n" for n in names)))
        print("\n".join(names))
        if cfg.figures:
            board.log_pictures(writer, model, words.vocab.itos, names, out, cfg.steps)

    metrics = {f"{s}_nll": v for s, v in nlls.items()} | {"steps": cfg.steps, "seconds": time.perf_counter() - begin}
    checkpoint.replace(out / "metrics.json", lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
    log.info("metrics: %s", metrics)
    return nlls["val"] if nlls["val"] is not None else nlls["train"]
