"""One run: data, model, training loop with TensorBoard logging, then checkpoint, samples and metrics."""

import json
import logging
import math
import os
import signal
import time
import warnings
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from makemore import MakemoreError, board, checkpoint, diagnostics, figures, inference, memory, runs
from makemore.batches import Split, eval_tokens, ids_memory
from makemore.config import check_optimizer, flat, interpolated, sweeping, validate
from makemore.data import data_digest, read_words, split, too_few_words
from makemore.files import replace
from makemore.inference import sample
from makemore.models import LanguageModel, named
from makemore.models.base import holding, running_statistics
from makemore.signals import Interrupted, InterruptedOutputs, Signalled, StoppedAfterTraining, caught
from makemore.terminal import show

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")
LOSS_BYTES = 4 * 8  # per logit in training: the log-softmax, its gradient, float64 copies of the picked ones
WRITE_EVERY = 1000  # train/loss values buffered at most before they are written to TensorBoard
RESUMABLE = {
    "steps",
    "eval_interval",
    "eval_words",
    "checkpoint_seconds",
    "threads",
    "device",
    "sample",
    "figures",
    "resume",
    "optimized_metric",
    "diagnostics",
}
SHOWN_IN_SWEEPS = 5  # samples a sweep's job prints (samples.txt has them all)
# sample.max_length=null stops a name 10 past the longest word, but not past this: a file of a few long lines
# would have each sampled name run to millions of characters, one model pass each
MAX_LENGTH = 300
# Every model starts near a uniform guess, whose NLL is log V, and training lowers it. A step too large
# overshoots, and an lr too large but still stable leaves it wandering above, within ten times that; a
# training that diverges raises it without bound, finite for many steps before it overflows
# (optimizer.momentum=2). A train NLL past DIVERGED x log V is far beyond both: the run stops there, and its
# last checkpoint, from before, is kept.
DIVERGED = 20


def device_of(name):
    """The torch device a run uses: `auto` is a GPU where one is present."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name.startswith("cuda") and not cuda or name == "mps" and not mps:
        raise MakemoreError(f"device={name}: there is no {name.split(':')[0].upper()} device on this machine")
    return torch.device(name)


# the data this process read last, with what was counted of it: the next job of a sweep reuses it
_loaded = {}


def load_data(cfg):
    """The words of the data file, split into train, val and test. The jobs of a sweep in one process that
    read the same file (the same bytes) with the same split share them, and the windows counted from them."""
    d = cfg.data
    key = (os.path.realpath(d.path), data_digest(d.path), d.val_fraction, d.test_fraction, d.split_seed)
    if key not in _loaded:
        _loaded.clear()
        words = read_words(d.path)
        warnings = [
            *words.notes,
            *filter(None, [too_few_words(d.path, len(words), d.val_fraction, d.test_fraction)]),
        ]
        labels = split(len(words), d.val_fraction, d.test_fraction, d.split_seed)
        keep = [np.repeat(labels == i, words.lengths) for i in range(len(SPLITS))]
        splits = {
            s: Split(words.ids[keep[i]], words.lengths[labels == i], len(words.vocab))
            for i, s in enumerate(SPLITS)
        }
        _loaded[key] = words, splits, warnings
    words, splits, warnings = _loaded[key]
    for warning in warnings:
        log.warning(warning)
    log.info(
        "%d words, vocabulary of %d: %d/%d/%d predictions in train/val/test",
        len(words),
        len(words.vocab),
        *(splits[s].total for s in SPLITS),
    )
    return words, splits


def build(cfg, vocab_size, device):
    """The configured model, its weights drawn from the run's seed; refused, before anything is allocated,
    where it would not fit in memory."""
    name, entry = named(cfg.model._target_)
    if entry is None:
        raise MakemoreError(
            f"bad config value model._target_={cfg.model._target_}: must name one of the models, "
            f"as conf/model/*.yaml do"
        )
    given = OmegaConf.to_container(cfg.model)  # interpolations as written
    # a key the model takes from the run's top level (context, smoothing) is set there
    for f in fields(entry.config):
        key = interpolated(f.default)
        if key and given.get(f.name) != f.default:
            value = OmegaConf.select(cfg, f"model.{f.name}")
            raise MakemoreError(
                f"model.{f.name}={value}: the model takes {key} from the run, so give {key}={value}"
            )
    config = OmegaConf.to_object(cfg.model)
    memory.check_model(entry.cls, config, vocab_size)
    torch.manual_seed(cfg.seed)
    return entry.cls(config, vocab_size).to(device)


def not_applying(cfg, model):
    """The design card's top-level keys that this model does not use: lr and reg where it has no weights to
    train by gradient, smoothing where its config does not take it (only the counts model's does)."""
    trains = any(p.requires_grad for p in model.parameters())
    uses = {"lr": trains, "reg": trains and bool(model.weights()), "smoothing": "smoothing" in cfg.model}
    return sorted(key for key, used in uses.items() if not used)


def typed():
    """The keys given on the command line (or by a sweeper, to a sweep's job)."""
    if not HydraConfig.initialized():
        return set()
    return {o.split("=")[0].lstrip("+~") for o in HydraConfig.get().overrides.task}


def check_run(cfg, model, splits, longest, state):
    """Refuse, before training, what would fail after it: words longer than a sequence model's context, an
    optimizer torch would refuse, a checkpoint's training state that cannot continue this run, and (preflight)
    what would not fit in memory."""
    if not model.windowed and longest + 1 > cfg.context:
        raise MakemoreError(
            f"context={cfg.context} is shorter than the longest word of {cfg.data.path!r} and its "
            f"end ({longest + 1} tokens), which a sequence model reads whole: use context=null"
        )
    trains = any(p.requires_grad for p in model.parameters()) and cfg.steps > 0
    if trains:
        check_optimizer(cfg)
    # said, not refused: the models' own batch sizes must run on a small file too, and a minibatch drawn with
    # replacement is a fair one however large
    examples = splits["train"].size(model)
    if trains and cfg.batch_size is not None and cfg.batch_size > examples:
        log.warning(
            "batch_size=%d is more than the %d %s of the train split: a minibatch draws some more than once; "
            "batch_size=null trains on each once a step, exactly",
            cfg.batch_size,
            examples,
            "predictions" if model.windowed else "words",
        )
    for need in preflight(cfg, model, splits, trains):
        memory.require(*need)
    if state is not None:
        try:
            checkpoint.check_training(state, Trainer(model, cfg), lambda: Trainer(model, cfg, state))
        except checkpoint.Damaged as e:
            raise MakemoreError(
                f"resume={cfg.resume}: the checkpoint cannot continue this run: {e}"
            ) from None


def preflight(cfg, model, splits, trains):
    """Every large allocation of the run, before it begins, as (bytes, what, advice) for memory.require: the
    counting of a windowed model's windows, an evaluation, a training step, the samples and the heatmap. (Its
    weights, with their gradients and optimizer state, are checked as it is built: memory.check_model; the
    counted table's size, which only counting finds, as it is counted: Split.counted.)"""
    if model.windowed:  # training counts the train split's windows, evaluation those of each split it reads
        for split in [splits["train"]] + [
            evaluated(splits, s, cfg) for s in ("val", "test") if splits[s].total
        ]:
            yield split.counting_memory(model.context)
    yield from _pass_memory(cfg, model, splits, trains)
    yield inference.sampling_memory(
        model, cfg.sample.count, cfg.sample.max_length, ("sample.count", "sample.max_length")
    )
    # a model with a picture of its own draws it at context 1 (asking it for the table would allocate it)
    if cfg.figures and model.context == 1 and type(model).heatmap is not LanguageModel.heatmap:
        cells = model.vocab_size * figures.CELL
        # the image and its PNG twice (the file and TensorBoard's copy): 3 bytes a pixel
        yield (
            3 * 3 * cells**2,
            f"the heatmap's {model.vocab_size:,} x {model.vocab_size:,} cells ({cells:,} x {cells:,} pixels)",
            "figures=false skips it",
        )


def _pass_memory(cfg, model, splits, trains):
    """(bytes, what, advice) of an evaluation and of a training step: per example, the int64 arrays its ids
    are made in, what the model's forward pass makes (in training, what it keeps for the backward pass) and
    the loss's float rows of V; times the examples at once (in training, with the bookkeeping of the tensors
    the step saves, which the examples share). Full batch, a windowed model steps on the distinct windows, a
    sequence model on every word; evaluation takes them eval_tokens(V) at a time (Split.nll)."""
    train, V = splits["train"], model.vocab_size
    T = model.context if model.windowed else int(train.lengths.max()) + 1  # an example's tokens
    ids, rows = ids_memory(1, T), (T - model.pad) * V
    most = max(s.total if model.windowed else len(s.lengths) for s in splits.values())
    tokens = eval_tokens(V)
    at_once = min(most, max(1, tokens // 8) if model.windowed else max(1, tokens // T))
    forward, loss = memory.activations(model, T, grad=False), 3 * 4 * rows
    # a fixed number at once: only what each costs can change
    yield (
        at_once * (forward + loss + ids),
        f"evaluations of {at_once:,} examples at a time",
        _largest(cfg, model, forward, loss, ids),
    )
    if not trains:
        return
    forward, loss = memory.activations(model, T, grad=True), LOSS_BYTES * rows
    per_example = forward + loss + ids
    if cfg.batch_size is not None:
        n, what, advice = (
            cfg.batch_size,
            f"minibatches of {cfg.batch_size:,} examples",
            "use a smaller batch_size",
        )
    else:
        n = len(train.counted(model.context, model.device).X) if model.windowed else len(train.lengths)
        what = f"full-batch steps over {n:,} " + ("distinct windows" if model.windowed else "words")
        advice = "set batch_size, for minibatches"
    yield (
        n * per_example + memory.saved_tensors(model, T),
        what,
        advice if memory.fits(per_example) else _largest(cfg, model, forward, loss, ids),
    )


def _largest(cfg, model, forward, loss, ids):
    """What to change where one example costs too much: the largest part of its cost, the model's forward
    pass, the loss's rows of V, or its tokens (where the logits are the largest output, a tie: the
    vocabulary)."""
    if loss >= max(forward, ids):
        return memory.fewer_characters(model.vocab_size)
    if model.windowed and ids > forward:  # a window's tokens: a sequence model's are the words themselves
        return "use a shorter context"
    return memory.smaller_model(cfg.model)


class Trainer:
    """The optimizer, schedule and minibatch generator of a run: what a checkpoint must hold to continue
    it."""

    def __init__(self, model, cfg, state=None):
        params = [p for p in model.parameters() if p.requires_grad]
        self.g = torch.Generator().manual_seed(cfg.seed)  # draws the minibatches and nothing else
        self.batch_size, self.pieces = cfg.batch_size, cfg.batch_pieces
        self.optimizer = instantiate(cfg.optimizer)(params, lr=cfg.lr) if params and cfg.steps > 0 else None
        self.scheduler = instantiate(cfg.scheduler)(self.optimizer) if self.optimizer else None
        # The minibatch NLLs since the last evaluation (its train/nll): those of this process, and the sum and
        # count of those before it where a resumed run continues between two evaluations.
        self.nlls, self.before = [], (0.0, 0)
        self.last = {}  # the last step's evaluation: the final NLLs it computed, by split
        if state is not None:
            self.g.set_state(state["rng"])
            self.before = tuple(state["since"])
            if self.optimizer:
                self.resume(state, OmegaConf.to_container(cfg.scheduler, resolve=True))

    def resume(self, state, schedule):
        """Continue the checkpoint's optimizer and schedule. A schedule that changed with `steps` (the
        one-cycle's total_steps) is this run's, put where a run of these steps has it at the checkpoint's
        step: the lr moves onto the new curve there, and follows it to the new last step."""
        if schedule == state["config"]["scheduler"]:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            return
        # stepped as a run steps it, here before any optimizer step, which torch warns of
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Detected call of", UserWarning)
            for _ in range(state["step"]):
                self.scheduler.step()
        # the lr, and what else the schedule keeps in the optimizer's groups, as the schedule left them
        settings = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
        self.optimizer.load_state_dict(state["optimizer"])
        for group, kept in zip(self.optimizer.param_groups, settings):
            group.update(kept)

    def since(self):
        """(sum, count) of the minibatch NLLs since the last evaluation, added one by one in order, so that a
        resumed run's sum is the uninterrupted run's to the last bit."""
        total = self.before[0]
        for value in torch.stack(self.nlls).tolist() if self.nlls else ():
            total += value
        return total, self.before[1] + len(self.nlls)

    def state(self, rng, logged):
        """`rng`: the generator as it was before this step's draw; `logged`: whether this step's scalars are
        already written (a resumed run then does not write them again)."""
        return {
            "rng": rng,
            "since": self.since(),
            "logged": logged,
            "optimizer": self.optimizer.state_dict() if self.optimizer else None,
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
        }

    def nll(self, model, train):
        """The training NLL of a step: of a minibatch the generator draws, or of the whole split."""
        if self.batch_size is None:
            return train.nll(model)
        index = torch.randint(train.size(model), (self.batch_size,), generator=self.g).numpy()
        if model.windowed:
            return train.windows(index, model.context).to(model.device).nll(model)
        pieces = [p.to(model.device) for p in train.pieces(index, model.pad, self.pieces)]
        return sum(p.nll_sum(model) for p in pieces) / sum(p.count() for p in pieces)

    def step(self, model, loss):
        # the optimizer's zero_grad does the same, at several times the cost
        model.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()


def fit(model, splits, cfg, writer, save, start=0, state=None):
    """Optimizer steps from `start` to cfg.steps: full batch (a windowed model from its counted windows), or
    minibatches of cfg.batch_size examples. A model with nothing to train is logged as a flat line.

    train/loss is logged at every step, train/nll and val/nll at every evaluation. They are handed to
    TensorBoard and `save` (checkpoint.Checkpoints) is called together, in one burst: at the first evaluation,
    the last step, on Ctrl-C or SIGTERM (which stop the run between two steps), and at the first evaluation
    once cfg.checkpoint_seconds have passed since the last checkpoint, so that a run that stops leaves a
    recent good checkpoint and a fast step does not wait for a file, or for TensorBoard's writer thread, every
    few steps.
    """
    trainer, pending = Trainer(model, cfg, state), Pending(writer, cfg, save)
    first = start + (state is not None and state["logged"])  # a checkpoint of an evaluation logged its step
    with caught(signal.SIGINT, signal.SIGTERM) as signals:
        runs.began()  # from here a signal saves a checkpoint, and what the run wrote stays
        if trainer.optimizer is None:
            flat_line(model, splits, cfg, trainer, pending, first, signals)
        else:
            descend(model, splits, cfg, trainer, pending, start, first, signals)
    if pending.last is not None:
        log.info("step %d: train loss %.4f", cfg.steps, pending.last)
    return trainer.last


def descend(model, splits, cfg, trainer, pending, start, first, signals):
    """The training loop: a step's loss, its logging, an evaluation where one is due, then the optimizer's
    step."""
    train, steps = splits["train"], cfg.steps
    watch = diagnostics.Watch(model, trainer.optimizer, pending.writer) if cfg.diagnostics else None
    model.train()
    for step in (bar := progress(start, steps)):
        if signals.received:
            stop(signals.received, step, trainer, pending)
        evaluating = step % cfg.eval_interval == 0 or step == steps
        # what a checkpoint of this step continues from: the state before this step's draw and pass
        if evaluating:
            rng, statistics = trainer.g.get_state(), running_statistics(model)
        # the diagnostics are of an evaluation's own training pass, logged before its optimizer step
        if watch:
            watch.step = step if evaluating and first <= step < steps else None
        kept = len(trainer.nlls)
        try:
            nll = trainer.nll(model, train)
            loss = model.penalized(nll, cfg.reg)
            # a pass that logs the last loss, and takes no step: the model stays as it was trained
            if step == steps:
                model.load_state_dict(statistics, strict=False)
            if step >= first:
                pending.losses.append((step, loss.detach()))
                if cfg.batch_size is not None:
                    trainer.nlls.append(nll.detach())
                if evaluating:
                    # evaluated as its checkpoint holds it, before this step's pass
                    with holding(model, statistics):
                        evaluate(model, splits, cfg, trainer, pending, step, nll)
                    bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
                    pending.checkpoint(step, trainer.state(rng, True), statistics, last=step == steps)
                # between far-apart evaluations too: a stop never waits long
                elif len(pending.losses) >= WRITE_EVERY:
                    pending.write()
        except Signalled as e:
            # within the step's pass or its evaluation: what the step logged is taken back, and the checkpoint
            # is of the state before it (a step between evaluations that a signal stops in its pass is full
            # batch, which draws nothing)
            pending.losses = [(at, value) for at, value in pending.losses if at < step]
            del trainer.nlls[kept:]
            before = (rng, statistics) if evaluating else (trainer.g.get_state(), None)
            stop(e.name, step, trainer, pending, *before)
        if step < steps:
            trainer.step(model, loss)


def evaluate(model, splits, cfg, trainer, pending, step, nll):
    """train/nll and val/nll, in evaluation mode. Full batch, the step's NLL is the training split's; with
    minibatches, the mean of those since the last evaluation, and the split's (as evaluated) at the last step.
    Both are computed before anything is logged: a signal that stops the evaluation leaves the step
    untouched."""
    begin = time.perf_counter()
    model.eval()
    with torch.no_grad():
        if cfg.batch_size is None:
            train_nll = nll.item()
        elif step == cfg.steps:
            # the minibatch NLLs since the last evaluation stay, in the checkpoint: a resume to more steps
            # adds to them
            train_nll = evaluated(splits, "train", cfg).nll(model).item()
        else:
            total, count = trainer.since()
            train_nll = total / count
        val = evaluated(splits, "val", cfg).nll(model).item() if splits["val"].total else None
    model.train()
    if cfg.batch_size is not None and step != cfg.steps:
        trainer.nlls, trainer.before = [], (0.0, 0)
    if (
        step == cfg.steps
    ):  # the model's final NLLs, as evaluated (full batch, train's is of the training pass)
        trainer.last = {"val": val} | ({"train": train_nll} if cfg.batch_size is not None else {})
    pending.scalars += [("train/nll", train_nll, step)] + (
        [("val/nll", val, step)] if val is not None else []
    )
    if not pending.timed:  # what an evaluation costs, against the steps between two
        pending.timed = True
        log.info(
            "step %d: an evaluation took %.2f s (eval_interval=%d, eval_words=%s)",
            step,
            time.perf_counter() - begin,
            cfg.eval_interval,
            cfg.eval_words,
        )


def evaluated(splits, name, cfg):
    """The split as evaluations read it: whole, or where it has more than eval_words words, a fixed sample of
    that many of them (drawn by data.split_seed, the same at every evaluation)."""
    split = splits[name]
    if cfg.eval_words is None or len(split.lengths) <= cfg.eval_words:
        return split
    return split.drawn(cfg.eval_words, cfg.data.split_seed)


def log_evaluation(splits, cfg):
    """Say which splits are evaluated on a sample."""
    large = [name for name in SPLITS if evaluated(splits, name, cfg) is not splits[name]]
    if large:
        log.info(
            "evaluations read %d words of the %s split%s (of %s words), drawn once by data.split_seed: "
            "eval_words=null reads every word",
            cfg.eval_words,
            " and ".join([", ".join(large[:-1]), large[-1]] if len(large) > 1 else large),
            "s" * (len(large) > 1),
            ", ".join(f"{len(splits[name].lengths):,}" for name in large),
        )


def flat_line(model, splits, cfg, trainer, pending, first, signals):
    """A model with nothing to train here (the counts model, or steps=0): its NLLs, computed once, are logged
    at every step, to compare with the models that train."""
    model.eval()
    try:
        with torch.no_grad():
            nll = evaluated(splits, "train", cfg).nll(model)
            loss = model.penalized(nll, cfg.reg)
            val = evaluated(splits, "val", cfg).nll(model).item() if splits["val"].total else None
    except Signalled as e:
        stop(e.name, min(first, cfg.steps), trainer, pending)
    for step in (bar := progress(first, cfg.steps)):
        if signals.received:
            stop(signals.received, step, trainer, pending)
        pending.losses.append((step, loss))
        if step % cfg.eval_interval == 0 or step == cfg.steps:
            pending.scalars += [("train/nll", nll.item(), step)] + (
                [("val/nll", val, step)] if val is not None else []
            )
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
            pending.checkpoint(step, trainer.state(trainer.g.get_state(), True), last=step == cfg.steps)
        elif len(pending.losses) >= WRITE_EVERY:
            pending.write()


def progress(start, steps):
    """The steps from `start` on, with a progress bar on a terminal (none in a pipe)."""
    return tqdm(
        range(start, steps + 1), initial=start, total=steps + 1, disable=None, leave=False, mininterval=0.5
    )


def stop(signal_name, step, trainer, pending, rng=None, statistics=None):
    """A signal: save what the run has, before this step (`rng`, `statistics`: as they were before it, where
    the step has begun), and stop."""
    pending.write()
    pending.save(step, trainer.state(trainer.g.get_state() if rng is None else rng, False), statistics)
    raise Interrupted(signal_name, step, pending.save.path)


class Pending:
    """The scalars logged since the last burst, kept until they are written to TensorBoard at once: every
    write wakes TensorBoard's writer thread, which then takes turns with training for the interpreter."""

    def __init__(self, writer, cfg, save):
        self.writer, self.cfg, self.save, self.V = writer, cfg, save, len(save.vocab)
        self.losses, self.scalars = [], []  # (step, train/loss as a tensor); (tag, value, step)
        self.saved, self.last = None, None  # the step of the last checkpoint, the last loss written
        self.saved_at = -math.inf  # when it was saved (monotonic seconds)
        self.timed = False  # whether an evaluation's cost has been logged

    def checkpoint(self, step, training, statistics=None, last=False):
        """At an evaluation: the burst (the scalars, then the checkpoint) at the first one, the last step, and
        once cfg.checkpoint_seconds have passed since the last checkpoint."""
        if last or time.monotonic() - self.saved_at >= self.cfg.checkpoint_seconds:
            self.write()  # first: it stops the run at a loss that is not finite, before saving
            self.save(step, training, statistics)
            self.saved, self.saved_at = step, time.monotonic()

    def write(self):
        """Write them; stop the run at the first train/loss that is not finite, or train/nll that diverged."""
        values = torch.stack([loss for _, loss in self.losses]).tolist() if self.losses else []
        losses = [(step, "train/loss", value) for (step, _), value in zip(self.losses, values)]
        # in step order: the first fault stops it
        for step, tag, value in sorted(
            losses + [(step, tag, value) for tag, value, step in self.scalars], key=lambda scalar: scalar[0]
        ):
            if tag == "train/loss" and not math.isfinite(value):
                self.stop(step, f"the loss became {value}")
            if tag == "train/nll" and value > DIVERGED * math.log(self.V):
                self.stop(
                    step,
                    f"the train NLL became {value:.6g}, more than {DIVERGED} times a uniform guess's "
                    f"(log {self.V} = {math.log(self.V):.4f}): the training diverged",
                )
            self.writer.add_scalar(tag, value, step)
        # wait while TensorBoard's writer thread writes them: it then has the interpreter to itself, and does
        # not take turns with the steps that follow, each turn a slice of the interpreter's time
        self.writer.flush()
        self.last = values[-1] if values else self.last
        self.losses, self.scalars = [], []

    def stop(self, step, what):
        kept = (
            f"{self.save.path} of step {self.saved} is kept"
            if self.saved is not None
            else "nothing was saved"
        )
        raise MakemoreError(
            f"training stopped at step {step}: {what} (is lr={self.cfg.lr}, or a setting of the "
            f"optimizer, too large?); {kept}"
        )


def where_from(drawn, splits):
    """How many of the sampled words are words of each split, and how many are new (as makemore.py says)."""
    left, counts = np.ones(len(drawn), dtype=bool), []
    for s in SPLITS:
        found = left & splits[s].holds(drawn)
        counts.append(f"{found.sum()} in {s}")
        left &= ~found
    return f"{len(drawn)} samples: {', '.join(counts)}, {left.sum()} new"


def resumed(cfg):
    """The checkpoint state to continue, after checking that the run is the same but for RESUMABLE."""
    path = Path(cfg.resume)
    path = path / "checkpoint.pt" if path.is_dir() else path
    _, _, state = checkpoint.load(path)
    if state["step"] > cfg.steps:
        raise MakemoreError(
            f"resume={cfg.resume}: the checkpoint is at step {state['step']}, past steps={cfg.steps}: "
            f"give steps={state['step']} or more"
        )
    then, now = flat(state["config"]), flat(OmegaConf.to_container(cfg, resolve=True))
    given = flat(OmegaConf.to_container(cfg))
    # the card's keys before model.*
    for key in sorted(set(then) | set(now), key=lambda k: (k.count("."), k)):
        # a key that follows one of RESUMABLE (the one-cycle schedule's total_steps: ${steps}) changes with it
        follows = interpolated(given.get(key)) or key
        if follows.split(".")[0] not in RESUMABLE and then.get(key) != now.get(key):
            raise MakemoreError(
                f"resume={cfg.resume}: {key} is {now.get(key)} here but {then.get(key)} in the "
                f"checkpoint; resume with the run's own config (only "
                f"{', '.join(sorted(RESUMABLE))} may change)"
            )
    log.info("resuming %s from step %d", path, state["step"])
    return state


def run(cfg, out):
    """Train the configured model (or continue the checkpoint cfg.resume names) and write everything into the
    folder `out`; return the metric that cfg.optimized_metric names."""
    validate(cfg)
    begin = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    device = device_of(cfg.device)
    words, splits = load_data(cfg)
    longest = int(words.lengths.max())
    if cfg.context is None:  # as long as the longest word and its end: every word fits
        cfg.context = longest + 1
    if cfg.sample.max_length is None:  # a little past the longest word; the checkpoint keeps it for sampling
        cfg.sample.max_length = min(longest + 10, MAX_LENGTH)
        if longest + 10 > MAX_LENGTH:
            log.info(
                "sample.max_length=null: names are sampled up to %d characters, not 10 past the longest word "
                "(%d): set sample.max_length for longer ones",
                MAX_LENGTH,
                longest,
            )
    metric = cfg.optimized_metric.split("/")[0]
    if sweeping() and not splits[metric].total:
        raise MakemoreError(
            f"optimized_metric={cfg.optimized_metric}, but the {metric} split is empty: set "
            f"data.{metric}_fraction > 0, or optimize another split's NLL"
        )
    out, state = Path(out), resumed(cfg) if cfg.resume else None
    model = build(cfg, len(words.vocab), device)
    if state is not None:
        if state["itos"] != words.vocab.itos:
            raise MakemoreError(
                f"resume={cfg.resume}: the checkpoint's vocabulary differs from {cfg.data.path}'s"
            )
        model.load_state_dict(state["state_dict"])
    model.fit(splits["train"])
    check_run(cfg, model, splits, longest, state)
    log_evaluation(splits, cfg)
    ignored = not_applying(cfg, model)
    for key in sorted(typed() & set(ignored)):
        log.warning(
            "%s=%s does not apply to the %s model: it is ignored", key, cfg[key], named(cfg.model._target_)[0]
        )
    config = OmegaConf.to_container(cfg, resolve=True)
    save = checkpoint.Checkpoints(out / "checkpoint.pt", model, words.vocab, config)
    start = 0 if state is None else state["step"]
    # a long queue: adding a scalar never waits for the writer thread (it would, with the default of 10)
    with SummaryWriter(
        str(out), purge_step=start + state["logged"] if state else None, max_queue=10_000
    ) as writer:
        board.log_hparams(writer, cfg, ignored)
        evaluated = fit(model, splits, cfg, writer, save, start, state)
        with caught(signal.SIGINT, signal.SIGTERM) as signals:
            try:  # stopped at a signal: nothing is written yet, and continuing the checkpoint writes it all
                nlls, drawn = final(model, splits, cfg, evaluated)
            except Signalled as e:
                raise InterruptedOutputs(e.name, cfg.steps, save.path) from None
            # a signal here is acted on once every output is written
            write_outputs(model, splits, words.vocab, cfg, writer, out, nlls, drawn)
            writer.close()
            write_metrics(nlls, cfg, out, begin, ignored)
    if signals.received:
        raise StoppedAfterTraining(signals.received, out)
    return nlls[cfg.optimized_metric.split("/")[0]]


def final(model, splits, cfg, known):
    """After training, the long work: the final NLLs of the splits (as evaluated; those the last step's
    evaluation computed of this same model are `known`) and the samples."""
    model.eval()
    with torch.no_grad():
        nlls = {
            s: known[s]
            if s in known
            else evaluated(splits, s, cfg).nll(model).item()
            if splits[s].total
            else None
            for s in SPLITS
        }
    drawn = sample(
        model,
        cfg.sample.count,
        cfg.seed,
        cfg.sample.batched,
        cfg.sample.temperature,
        cfg.sample.top_k,
        cfg.sample.max_length,
    )
    return nlls, drawn


def write_outputs(model, splits, vocab, cfg, writer, out, nlls, drawn):
    """After training: test/nll in TensorBoard, the samples (samples.txt, TensorBoard and the terminal: a
    sweep's job shows a few) and the pictures."""
    if nlls["test"] is not None:
        writer.add_scalar("test/nll", nlls["test"], cfg.steps)
    names = [vocab.decode(w) for w in drawn]
    replace(out / "samples.txt", lambda tmp: Path(tmp).write_text("".join(n + "\n" for n in names)))
    novelty = where_from(drawn, splits)
    log.info("%s", novelty)
    board.log_pictures(writer, model, vocab.itos, names, novelty, out, cfg.steps, cfg.figures)
    if cfg.diagnostics:
        diagnostics.project(writer, model, vocab.itos, cfg.steps)
    shown = names[:SHOWN_IN_SWEEPS] if sweeping() else names
    show("\n".join([*shown, novelty]))


def write_metrics(nlls, cfg, out, begin, ignored):
    """metrics.json: the final NLLs, and the keys the model does not use (a sweep's summary leaves them
    blank)."""
    metrics = {f"{s}_nll": v for s, v in nlls.items()} | {
        "steps": cfg.steps,
        "seconds": time.perf_counter() - begin,
        "not_applying": ignored,
    }
    replace(out / "metrics.json", lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
    log.info("metrics: %s", metrics)
