"""Sampling new words from any model, and scoring given words with it: both through model(idx) alone."""

import numpy as np
import torch

from makemore import MakemoreError, memory, signals
from makemore.batches import Split, eval_tokens

BATCH_ABOVE = 100  # sample.batched=null draws more words than this all at once


def next_probs(model, idx, temperature=1.0, top_k=None):
    """P(next token) after each row of idx, float64: the logits / temperature, only the top_k kept."""
    logits = model(idx[:, -model.context :])[:, -1].double()
    # The largest logit first taken from each (softmax's own shift): then the quotient is <= 0, and a
    # temperature near 0 makes the others -inf, so the likeliest token is drawn, not nan (logits / 1e-310
    # overflow).
    logits = (logits - logits.max(1, keepdim=True).values) / temperature
    if top_k is not None and top_k < logits.shape[1]:
        kth = logits.topk(top_k, dim=1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -torch.inf)
    return logits.softmax(1)


@torch.no_grad()
def sample(model, count, seed, batched=None, temperature=1.0, top_k=None, max_length=100):
    """`count` words as lists of token ids, drawn with a generator seeded with `seed` (used for nothing else),
    each stopped at its end token or at `max_length` characters (a sequence model's at its context, as
    `score`)."""
    max_length = longest(model, max_length)
    memory.require(*sampling_memory(model, count, max_length))
    batched = count > BATCH_ABOVE if batched is None else batched
    draw = sample_batched if batched else sample_one_by_one
    return draw(model, count, seed, temperature, top_k, max_length)


def longest(model, max_length):
    """The most characters a sampled word may have: a sequence model reads a word whole, start token included,
    so at most context - 1 of them (longer words `score` refuses, and the positional models cannot read)."""
    return max_length if model.windowed else min(max_length, model.context - 1)


def sampling_memory(model, count, max_length, keys=("count", "max_length")):
    """(bytes, what, advice) of `count` sampled words, for memory.require (`keys`: what the command calls the
    two). Drawn together, a word holds up to max_length tokens (twice over while it grows), a row of float64
    probabilities and their sums, and what the model's forward pass of its last `context` tokens makes."""
    max_length = longest(model, max_length)
    tokens = 2 * 8 * (model.pad + 1 + max_length)
    per_word = (
        tokens
        + 4 * 8 * model.vocab_size
        + memory.activations(model, min(model.pad + 1 + max_length, model.context), grad=False)
    )
    key = keys[1] if tokens > per_word - tokens else keys[0]  # the larger part of each word's cost
    return (
        count * per_word,
        f"{count:,} sampled words of up to {max_length:,} characters",
        f"use a smaller {key}",
    )


def _start(model, rows):
    return torch.zeros((rows, model.pad + 1), dtype=torch.int64, device=model.device)


@torch.no_grad()
def sample_one_by_one(model, count, seed, temperature=1.0, top_k=None, max_length=100):
    """The lecture's loop: start at '.', draw the next token, stop at '.'."""
    g = torch.Generator().manual_seed(seed)
    words = []
    for _ in range(count):
        idx = _start(model, 1)
        while idx.shape[1] - model.pad - 1 < max_length:
            signals.check()
            p = next_probs(model, idx, temperature, top_k)[0].float().cpu()
            ix = torch.multinomial(p, 1, replacement=True, generator=g).item()
            if ix == 0:
                break
            idx = torch.cat([idx, idx.new_full((1, 1), ix)], 1)
        words.append(idx[0, model.pad + 1 :].tolist())
    return words


@torch.no_grad()
def sample_batched(model, count, seed, temperature=1.0, top_k=None, max_length=100):
    """The words in groups, each of as many as an evaluation's chunk of predictions reads at a time (so that a
    signal can stop the sampling between two of their passes), drawn one group after the other."""
    g = torch.Generator().manual_seed(seed)
    rows = max(1, eval_tokens(model.vocab_size) // min(model.pad + 1 + max_length, model.context))
    return [
        word
        for at in range(0, count, rows)
        for word in _group(model, min(rows, count - at), g, temperature, top_k, max_length)
    ]


def _group(model, count, g, temperature, top_k, max_length):
    """All words advance together: one inverse-CDF draw per word and position, until every word has ended."""
    idx = _start(model, count)
    alive = torch.arange(count)
    while len(alive) and idx.shape[1] - model.pad - 1 < max_length:
        signals.check()
        cdf = next_probs(model, idx[alive.to(idx.device)], temperature, top_k).cumsum(1).cpu()
        cdf /= cdf[:, -1:].clone()
        u = torch.rand((len(alive), 1), generator=g, dtype=torch.float64)
        ix = torch.searchsorted(cdf, u, right=True)[:, 0].clamp_(max=cdf.shape[1] - 1)
        column = torch.zeros(count, dtype=torch.int64)
        column[alive] = ix
        idx = torch.cat([idx, column[:, None].to(idx.device)], 1)
        alive = alive[ix != 0]
    tokens = idx[:, model.pad + 1 :].cpu().numpy()
    ended = np.concatenate([tokens, np.zeros((count, 1), tokens.dtype)], 1) == 0
    return [row[:n].tolist() for row, n in zip(tokens, ended.argmax(1))]  # each word ends at its first 0


@torch.no_grad()
def score(model, vocab, words):
    """Each word's average negative log-likelihood per predicted token, END included (inf if P is 0)."""
    ids, lengths = vocab.encode(words)
    longest = int(lengths.max()) + 1 if len(lengths) else 0
    if not model.windowed and longest > model.context:
        raise MakemoreError(
            f"a word of {longest - 1} characters is longer than the model sees "
            f"(context={model.context}: {model.context - 1} characters and the end)"
        )
    split = Split(ids, lengths, model.vocab_size)
    data = split.words(np.arange(len(words)), model.pad)
    logp = model(data.X.to(model.device)).log_softmax(-1).double().cpu()
    picked = torch.where(data.Y >= 0, logp.gather(-1, data.Y.clamp(min=0)[..., None])[..., 0], 0.0)
    return (-picked.sum(1) / torch.from_numpy(lengths + 1)).tolist()
