"""Sampling new words from a model, and scoring given words with it."""

import numpy as np
import torch

from makemore.data import examples

BATCH_ABOVE = 100  # sample.batched=auto draws more words than this all at once


@torch.no_grad()
def sample(model, count, seed, batched=None):
    """`count` words as lists of token ids, drawn with a generator seeded with `seed` (and used for nothing else)."""
    batched = count > BATCH_ABOVE if batched is None else batched
    return (sample_batched if batched else sample_one_by_one)(model, count, seed)


@torch.no_grad()
def sample_one_by_one(model, count, seed):
    """The lecture's loop: start at '.', draw the next token from P[context], stop at '.'."""
    g = torch.Generator().manual_seed(seed)
    P, V, C = model.probs(), model.vocab_size, model.contexts
    words = []
    for _ in range(count):
        out, ctx = [], 0
        while True:
            ix = torch.multinomial(P[ctx], 1, replacement=True, generator=g).item()
            if ix == 0:
                break
            out.append(ix)
            ctx = (ctx * V + ix) % C
        words.append(out)
    return words


@torch.no_grad()
def sample_batched(model, count, seed):
    """All words advance together: one inverse-CDF draw per word and position, until every word has ended."""
    g = torch.Generator().manual_seed(seed)
    P, V, C = model.probs().double(), model.vocab_size, model.contexts
    cdf = P.cumsum(1)
    cdf /= cdf[:, -1:].clone()
    ctx = torch.zeros(count, dtype=torch.int64)
    alive = torch.arange(count)
    columns = []
    while len(alive):
        u = torch.rand((len(alive), 1), generator=g, dtype=torch.float64)
        ix = torch.searchsorted(cdf[ctx[alive]], u, right=True)[:, 0].clamp_(max=V - 1)
        column = torch.zeros(count, dtype=torch.int64)
        column[alive] = ix
        columns.append(column)
        ctx[alive] = (ctx[alive] * V + ix) % C
        alive = alive[ix != 0]
    tokens = torch.stack(columns, 1).numpy()
    lengths = (tokens != 0).sum(1)  # every word ends at its first 0 and stays 0 after it
    return [row[:n].tolist() for row, n in zip(tokens, lengths)]


@torch.no_grad()
def score(model, vocab, words):
    """Each word's average negative log-likelihood per predicted token, END included (inf if P is 0)."""
    ids, lengths = vocab.encode(words)
    ctx, y = examples(ids, lengths, model.context, model.vocab_size)
    logp = model.log_probs(torch.from_numpy(ctx)).double()
    picked = logp[torch.arange(len(y)), torch.from_numpy(y)]
    word = torch.from_numpy(np.repeat(np.arange(len(words)), lengths + 1))
    total = torch.zeros(len(words), dtype=torch.float64).index_add_(0, word, picked)
    return (-total / torch.from_numpy(lengths + 1)).tolist()
