"""One run: data, model, training loop with TensorBoard logging, then checkpoint, samples and metrics."""

import json
import logging
import time
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.tensorboard import SummaryWriter

from makemore import checkpoint
from makemore.data import count, read_words, split, split_examples
from makemore.models import Stats
from makemore.sampling import sample

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def nll_or_none(model, stats):
    return model.nll(stats).item() if stats.total else None


def fit(model, train, val, cfg, writer, examples=None):
    """Gradient descent, full batch on the training counts, or on minibatches of `examples` (context ids,
    targets) when cfg.batch_size is set; a model without parameters is logged as a flat line."""
    model.fit(train)
    params = [p for p in model.parameters() if p.requires_grad]
    minibatch = cfg.batch_size is not None and params
    g = torch.Generator().manual_seed(cfg.seed)  # draws the minibatches and nothing else
    for step in range(cfg.steps + 1):
        if minibatch:
            i = torch.randint(len(examples[1]), (cfg.batch_size,), generator=g)
            nll = model.nll_examples(examples[0][i], examples[1][i])
        else:
            nll = model.nll(train)
        loss = nll + model.regularization()
        writer.add_scalar("train/loss", loss.item(), step)
        if step % cfg.eval_interval == 0 or step == cfg.steps:
            with torch.no_grad():
                writer.add_scalar("train/nll", model.nll(train).item() if minibatch else nll.item(), step)
                if val.total:
                    writer.add_scalar("val/nll", model.nll(val).item(), step)
        if step == cfg.steps or not params:
            continue
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= cfg.lr * p.grad
    log.info("step %d: train loss %.4f", cfg.steps, loss.item())


def run(cfg, out):
    """Train the configured model and write everything into the folder `out`; return the validation NLL."""
    start = time.perf_counter()
    out = Path(out)
    torch.set_num_threads(cfg.threads)

    words = read_words(cfg.data.path)
    for note in words.notes:
        log.warning(note)
    labels = split(len(words), cfg.data.val_fraction, cfg.data.test_fraction, cfg.data.split_seed)
    train, val, test = (Stats.of(N) for N in count(words, labels, cfg.context))
    log.info("%d words, vocabulary of %d: %d/%d/%d examples in train/val/test",
             len(words), len(words.vocab), train.total, val.total, test.total)

    model = instantiate(cfg.model, vocab_size=len(words.vocab))
    examples = split_examples(words, labels, 0, cfg.context) if cfg.batch_size is not None else None
    with SummaryWriter(str(out)) as writer:
        fit(model, train, val, cfg, writer, examples)
        with torch.no_grad():
            nlls = {s: nll_or_none(model, stats) for s, stats in zip(SPLITS, (train, val, test))}
        if nlls["test"] is not None:
            writer.add_scalar("test/nll", nlls["test"], cfg.steps)
        checkpoint.save(out / "checkpoint.pt", model, words.vocab, OmegaConf.to_container(cfg, resolve=True), cfg.steps)

        names = [words.vocab.decode(w) for w in sample(model, cfg.sample.count, cfg.seed, cfg.sample.batched)]
        (out / "samples.txt").write_text("".join(n + "\n" for n in names))
        print("\n".join(names))

    metrics = {f"{s}_nll": v for s, v in nlls.items()} | {"steps": cfg.steps, "seconds": time.perf_counter() - start}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log.info("metrics: %s", metrics)
    return nlls["val"] if nlls["val"] is not None else nlls["train"]
