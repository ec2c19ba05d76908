"""What a model is fed: the words of a split as windows or whole words, as tensors of token ids.

Every sequence starts with `model.pad` + 1 start tokens (0, the lecture's '.') and every word is followed
by one 0 as its last target, so a word of length L gives L + 1 predictions, for every model alike.
A windowed model (its prediction depends on the last `context` tokens only) trains full-batch from the
distinct windows that occur, each counted (Counted): exactly the loss of all its examples, at the cost of
its distinct windows. Sequence models read whole words (Examples of padded words).
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from makemore import memory, signals
from makemore.models.base import batch_statistics, counted

EVAL_TOKENS = 1 << 16  # predictions evaluated at once: bounds the memory of exact evaluation
# a (window, next) cell of the count table: its count, the counts model's copy of it, its weight in the NLL
# (float32) and whether it occurs
CELL_BYTES = 8 + 8 + 4 + 1


def ids_memory(examples, tokens):
    """Bytes of the handful of int64 arrays of examples x tokens that their ids are made in."""
    return 6 * 8 * examples * tokens


def eval_tokens(vocab_size):
    """Predictions evaluated at once: EVAL_TOKENS, or fewer where the vocabulary is larger than the lecture's,
    so that their logits (V of them a prediction) take no more memory than the lecture's would."""
    return max(1, min(EVAL_TOKENS, EVAL_TOKENS * memory.LECTURE_VOCAB // vocab_size))


@dataclass
class Examples:
    """Inputs X (B, T) and the target of every prediction Y (B, T - pad), -1 where there is none."""

    X: torch.Tensor
    Y: torch.Tensor

    def to(self, device):
        return Examples(self.X.to(device), self.Y.to(device))

    def nll_sum(self, model):
        logp = model(self.X).log_softmax(-1)
        picked = logp.gather(-1, self.Y.clamp(min=0).unsqueeze(-1)).squeeze(-1).double()
        return -torch.where(self.Y >= 0, picked, 0.0).sum()

    def count(self):
        return int((self.Y >= 0).sum())

    def nll(self, model):
        return self.nll_sum(model) / self.count()


class Counted:
    """The distinct windows X (n, context) of a split and N (n, V): how often each token follows each."""

    def __init__(self, X, N, total):
        self.X, self.N, self.total = X, N, total
        self._parts, self._weights = {}, {}

    def to(self, device):
        return Counted(self.X.to(device), self.N.to(device), self.total)

    def weights(self, dtype):
        """The weight of each (window, next) pair in the NLL, as a (n * V) vector of the log-probabilities'
        dtype: minus its share of the examples."""
        if dtype not in self._weights:
            self._weights[dtype] = (self.N.double() / -self.total).to(dtype).view(-1)
        return self._weights[dtype]

    @cached_property
    def seen(self):
        return self.N.view(-1) > 0

    @cached_property
    def occurrences(self):
        """How often each window occurs: what BatchNorm weighs it by in a full-batch step (made once)."""
        return self.N.sum(1)

    def nll(self, model):
        """Its share of the NLL of the split: the weighted sum of the log-probabilities of the pairs that
        occur. One dot over every (window, next) cell, the cheapest to differentiate at every step of
        full-batch training."""
        with counted(model, self.occurrences):  # model(X)[:, -1], without the windows' unfolding
            logp = model.next_logits(self.X).log_softmax(-1).view(-1)
        # A model without weights may give a probability of 0 where nothing occurs (the counts model,
        # smoothing=0), and 0 * log 0 is nan: those cells are left out wherever nothing is differentiated (a
        # step of a model with weights gives finite logits, and skips the mask, which costs a step a tenth of
        # its time)
        if not logp.requires_grad:
            logp = torch.where(self.seen, logp, 0.0)
        return logp @ self.weights(logp.dtype)

    def parts(self, windows):
        """The table in pieces of at most `windows` windows, whose NLLs add up to the whole's (made once)."""
        if windows not in self._parts:
            self._parts[windows] = (
                [self]
                if len(self.X) <= windows
                else [
                    Counted(self.X[i : i + windows], self.N[i : i + windows], self.total)
                    for i in range(0, len(self.X), windows)
                ]
            )
        return self._parts[windows]


@dataclass
class Split:
    """The words of one split: their token ids one after another, and each word's length."""

    ids: np.ndarray
    lengths: np.ndarray
    vocab_size: int
    _counted: dict = field(default_factory=dict, repr=False)
    _drawn: dict = field(default_factory=dict, repr=False)

    @property
    def total(self):
        """Predictions in the split: one per character and one for each word's end."""
        return int(self.lengths.sum()) + len(self.lengths)

    @cached_property
    def starts(self):
        """Where each word begins in ids (and, last, where the ids end): made once, used at every draw."""
        return np.concatenate([[0], np.cumsum(self.lengths)])

    @cached_property
    def ends(self):
        """Where each word's predictions end, counted in predictions (its characters and its end)."""
        return np.cumsum(self.lengths + 1)

    def words(self, index, pad):
        """Examples of the words at `index`, padded to the longest of them."""
        starts, lengths = self.starts[index], self.lengths[index]
        T = int(lengths.max()) + 1 if len(lengths) else 1
        X = np.zeros((len(index), pad + T), dtype=np.int64)
        Y = np.full((len(index), T), -1, dtype=np.int64)
        row = np.repeat(np.arange(len(index)), lengths)
        col = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        chars = self.ids[np.repeat(starts, lengths) + col]
        X[row, pad + 1 + col] = chars
        Y[row, col] = chars
        Y[np.arange(len(index)), lengths] = 0
        return Examples(torch.from_numpy(X), torch.from_numpy(Y))

    def pieces(self, index, pad, pieces):
        """Examples of the words at `index` in `pieces` runs of similar length, each padded to its own longest
        word: the predictions of words(index, pad), with less padding."""
        if pieces == 1:
            return [self.words(index, pad)]
        index = index[np.argsort(self.lengths[index], kind="stable")]
        return [self.words(part, pad) for part in np.array_split(index, min(pieces, len(index)))]

    def windows(self, index, context):
        """Examples of single predictions: the `context` tokens before prediction number `index` of the
        split (in order: each word's characters, then its end), and the token predicted."""
        memory.require(
            ids_memory(len(index), context),
            f"windows of {context:,} tokens for {len(index):,} predictions",
            "use a shorter context",
        )
        ends = self.ends
        word = np.searchsorted(ends, index, side="right")
        pos = index - (ends[word] - (self.lengths[word] + 1))  # position in its word: 0 .. length
        offsets = pos[:, None] - context + np.arange(context)  # the window, before the word where < 0
        starts = self.starts[word][:, None]
        inside = offsets >= 0
        X = np.where(inside, self.ids[np.where(inside, starts + offsets, 0)], 0)
        y = np.where(
            pos < self.lengths[word], self.ids[np.minimum(self.starts[word] + pos, len(self.ids) - 1)], 0
        )
        return Examples(torch.from_numpy(X.astype(np.int64)), torch.from_numpy(y.astype(np.int64))[:, None])

    def holds(self, words):
        """Whether each word (a list of token ids) is one of the split's words."""
        found = np.zeros(len(words), dtype=bool)
        starts = self.starts
        for length in {len(w) for w in words} - {0}:
            mine = starts[:-1][self.lengths == length]
            asked = [i for i, w in enumerate(words) if len(w) == length]
            if len(mine):
                rows = self.ids[mine[:, None] + np.arange(length)].astype(np.int64)
                queries = np.array([words[i] for i in asked], dtype=np.int64)
                found[asked] = np.isin(_keys(queries, self.vocab_size), _keys(rows, self.vocab_size))
        return found

    def examples(self, index, model):
        """Examples number `index`: predictions for a windowed model, words for a sequence model."""
        return self.windows(index, model.context) if model.windowed else self.words(index, model.pad)

    def size(self, model):
        """How many examples there are to draw from."""
        return self.total if model.windowed else len(self.lengths)

    def nll(self, model):
        """The exact average NLL of the split, in pieces of bounded size, between which a signal can stop
        it."""
        tokens = eval_tokens(self.vocab_size)
        # in one piece where the batch's statistics are the model's (BatchNorm in training)
        if model.windowed:
            whole = model.training and batch_statistics(model)
            table = self.counted(model.context, model.device)
            first, *rest = table.parts(len(table.X) if whole else max(1, tokens // 8))
            signals.check()
            total = first.nll(model)
            for part in rest:
                signals.check()
                total = total + part.nll(model)
            return total
        order = np.argsort(self.lengths, kind="stable")  # similar lengths together: little padding
        total, at = 0.0, 0
        while at < len(order):
            signals.check()
            n = max(1, tokens // (int(self.lengths[order[at]]) + 1))
            n = max(1, tokens // (int(self.lengths[order[min(at + n, len(order)) - 1]]) + 1))
            total += self.words(order[at : at + n], model.pad).to(model.device).nll_sum(model)
            at += n
        return total / self.total

    def drawn(self, count, seed):
        """`count` of the split's words, drawn without replacement by `seed` and kept in their order, as a
        split of their own (made once): the fixed sample a large split is evaluated on."""
        key = (count, seed)
        if key not in self._drawn:
            keep = np.zeros(len(self.lengths), dtype=bool)
            keep[np.random.default_rng(seed).choice(len(self.lengths), count, replace=False)] = True
            self._drawn[key] = Split(
                self.ids[np.repeat(keep, self.lengths)], self.lengths[keep], self.vocab_size
            )
        return self._drawn[key]

    def counted(self, context, device="cpu"):
        """The distinct (window, next token) pairs with their counts, gathered by window (made once)."""
        key = (context, str(device))
        if key not in self._counted:
            self._counted[key] = self._count(context).to(device)
        return self._counted[key]

    def counting_memory(self, context):
        """(bytes, what, advice) of counting the windows: the distinct (window, next) rows, at worst every
        prediction's, a few times over while they are gathered."""
        return (
            4 * 8 * self.total * (context + 1),
            f"the windows of {context:,} tokens of {self.total:,} predictions",
            "use a shorter context",
        )

    def _count(self, context):
        V = self.vocab_size
        memory.require(*self.counting_memory(context))
        if V ** (context + 1) < 2**63:  # each (window, next) pair is one int64: count those, in chunks
            keys, n = _tally(self._pair_keys(context), V ** (context + 1))
            rows = _rows(keys, V, context + 1)
        else:
            rows, n = distinct_rows(self._pair_chunks(context), V, context + 1)
        X, which = np.unique(rows[:, :context], axis=0, return_inverse=True)
        memory.require(
            CELL_BYTES * len(X) * V,
            f"the counts of {len(X):,} distinct windows x {V:,} tokens",
            self._too_many_windows(context),
        )
        N = np.zeros((len(X), V), dtype=np.int64)
        np.add.at(N, (which.reshape(-1), rows[:, context]), n)
        return Counted(torch.from_numpy(X.astype(np.int64)), torch.from_numpy(N), self.total)

    def _word_chunks(self, chars=1 << 20):
        """(first word, last word + 1) of runs of whole words of about `chars` characters."""
        ends = np.cumsum(self.lengths)
        lo = 0
        while lo < len(self.lengths):
            signals.check()
            hi = max(lo + 1, int(np.searchsorted(ends, ends[lo] + chars)))
            yield lo, min(hi, len(self.lengths))
            lo = hi

    def _too_many_windows(self, context):
        """What to change where the counts of the distinct windows would not fit: the context, unless even the
        contexts of one token (at most V of them) would not fit, which only a smaller vocabulary helps."""
        if context > 1 and memory.fits(CELL_BYTES * self.vocab_size**2):
            return "use a shorter context"
        return memory.fewer_characters(self.vocab_size)

    def _pair_keys(self, context):
        """Every prediction's (window, next) as one number in base V, a chunk of words at a time: a
        character's window is the `context` characters before it in its word, 0 before the word's start; a
        word's end is predicted from its last `context` characters."""
        V, starts = self.vocab_size, self.starts
        for lo, hi in self._word_chunks():
            ids = self.ids[starts[lo] : starts[hi]].astype(np.int64)
            lengths = self.lengths[lo:hi]
            ends = np.cumsum(lengths)
            # each character's place in its word
            pos = np.arange(len(ids)) - np.repeat(ends - lengths, lengths)
            # keys, built from the next token up
            chars, end = (
                ids.copy(),
                np.zeros(len(lengths), dtype=np.int64),
            )
            for d in range(1, context + 1):
                before = np.zeros_like(ids)
                before[d:] = ids[:-d]
                chars += np.where(pos >= d, before, 0) * V**d
                end += np.where(lengths >= d, ids[np.maximum(ends - d, 0)], 0) * V ** (d - 1) * V
            yield np.concatenate([chars, end])

    def _pair_chunks(self, context, chunk=1 << 20):
        """(window, next) rows of every prediction, about `chunk` predictions at a time: for windows too long
        to read as one int64."""
        for at in range(0, self.total, chunk):
            signals.check()
            ex = self.windows(np.arange(at, min(at + chunk, self.total)), context)
            yield np.concatenate([ex.X.numpy(), ex.Y.numpy()], 1)


def distinct_rows(chunks, V, width):
    """The distinct rows (of `width` tokens) of all chunks, and how often each occurs: exact for any width."""
    keys, counts = [], []
    for rows in chunks:
        k, n = np.unique(_keys(rows, V), return_counts=True)
        keys.append(k)
        counts.append(n)
    if not keys:
        return np.zeros((0, width), np.int64), np.zeros(0, np.int64)
    k, which = np.unique(np.concatenate(keys), return_inverse=True)
    n = np.bincount(which.reshape(-1), weights=np.concatenate(counts), minlength=len(k)).astype(np.int64)
    return _rows(k, V, width), n


def _tally(chunks, size):
    """The distinct keys of all chunks (each in [0, size)) and how often each occurs."""
    if size <= 1 << 22:  # a dense histogram is cheapest
        n = np.zeros(size, dtype=np.int64)
        for keys in chunks:
            n += np.bincount(keys, minlength=size)
        keys = np.flatnonzero(n)
        return keys, n[keys]
    parts = [np.unique(keys, return_counts=True) for keys in chunks]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys, which = np.unique(np.concatenate([k for k, _ in parts]), return_inverse=True)
    return keys, np.bincount(which.reshape(-1), weights=np.concatenate([n for _, n in parts])).astype(
        np.int64
    )


def _keys(rows, V):
    """One value per row: the row read as a number in base V where that fits in int64, else the row's
    bytes."""
    if V ** rows.shape[1] < 2**63:
        key = np.zeros(len(rows), dtype=np.int64)
        for j in range(rows.shape[1]):
            key = key * V + rows[:, j]
        return key
    rows = np.ascontiguousarray(rows, dtype=">i8")  # big-endian: the bytes sort as the numbers do
    return rows.view(np.dtype((np.void, rows.shape[1] * 8)))[:, 0]


def _rows(keys, V, width):
    if keys.dtype == np.int64:
        return np.stack([(keys // V ** (width - 1 - j)) % V for j in range(width)], 1)
    return np.frombuffer(keys.tobytes(), dtype=">i8").reshape(-1, width).astype(np.int64)
