"""Data: read a file of words, build the vocabulary, split it, and count (context, next) pairs.

Everything runs on numpy arrays in chunks, never on a Python list of strings or a loop per
character, so a file of 10M lines costs a few seconds and a few hundred MB. Counts stay int64.
"""

import os
from dataclasses import dataclass

import numpy as np
import torch

from makemore import MakemoreError

END = "."  # the start/end token, index 0 of every vocabulary
CHUNK = 1 << 20  # bytes (or characters) handled at once: bounds the memory of every pass
WHITESPACE = np.array([ord(c) for c in " \t\r\v\f\x1c\x1d\x1e\x1f\x85\xa0"])


@dataclass
class Vocab:
    """The sorted characters of the data, with END at index 0."""

    itos: list

    @property
    def stoi(self):
        return {s: i for i, s in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, words):
        """Encode a list of words to (ids, lengths); a character outside the vocabulary is an error."""
        stoi = self.stoi
        ids = []
        for word in words:
            for ch in word:
                if ch not in stoi or ch == END:
                    raise MakemoreError(
                        f"the word {word!r} has the character {ch!r}, which the vocabulary does not hold"
                    )
                ids.append(stoi[ch])
        return np.array(ids, dtype=np.int64), np.array([len(w) for w in words], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.itos[i] for i in ids)


@dataclass
class Words:
    """All words of a file, encoded: their token ids one after another, and each word's length."""

    vocab: Vocab
    ids: np.ndarray  # uint8 where the vocabulary allows it, else int32
    lengths: np.ndarray  # int64, one per word
    notes: list  # what was done to the raw lines, for the user to be told

    def __len__(self):
        return len(self.lengths)

    def duplicates(self):
        """How many words repeat an earlier one (by a 64-bit hash of each word, chunk by chunk)."""
        weights = np.random.default_rng(0).integers(1, 2**63, size=int(self.lengths.max()), dtype=np.uint64)
        starts = np.concatenate([[0], np.cumsum(self.lengths)])
        keys = []
        for lo, hi in _word_chunks(self):
            lengths = self.lengths[lo:hi]
            first = np.cumsum(lengths) - lengths
            pos = np.arange(int(lengths.sum())) - np.repeat(first, lengths)
            h = (self.ids[starts[lo] : starts[hi]].astype(np.uint64) + np.uint64(1)) * weights[pos]
            keys.append(np.add.reduceat(h, first) ^ lengths.astype(np.uint64))
        return len(self) - len(np.unique(np.concatenate(keys)))

    def words(self, index=None):
        """Decode words back to strings (all of them, or those at `index`)."""
        starts = np.concatenate([[0], np.cumsum(self.lengths)])
        index = range(len(self)) if index is None else index
        return [self.vocab.decode(self.ids[starts[i] : starts[i + 1]]) for i in index]


def _codes(raw):
    """Characters of UTF-8 bytes as an array of code points (the bytes themselves where all are ASCII)."""
    if raw.isascii():
        return np.frombuffer(raw, dtype=np.uint8)
    return np.frombuffer(raw.decode("utf-8").encode("utf-32-le"), dtype=np.uint32)  # may raise UnicodeDecodeError


def _strip_lines(codes):
    """Split code points at newlines, strip each line, drop blank ones: (kept codes, line lengths)."""
    n = len(codes)
    newline = codes == 10
    ink = ~newline & ~np.isin(codes, WHITESPACE)
    line = np.cumsum(newline) - newline  # line number of every position
    pos = np.arange(n, dtype=np.int32)
    # A character is kept when a non-blank one stands at or before it and at or after it on its line.
    last_ink = np.maximum.accumulate(np.where(ink, pos, -1))
    next_ink = np.minimum.accumulate(np.where(ink, pos, n)[::-1])[::-1]
    line_start = np.maximum.accumulate(np.where(newline, pos + 1, 0))
    line_end = np.minimum.accumulate(np.where(newline, pos, n)[::-1])[::-1]
    keep = ~newline & (last_ink >= line_start) & (next_ink < line_end)
    lines = int(line[-1]) + 1 if n else 0
    lengths = np.bincount(line[keep], minlength=lines)
    stripped = np.bincount(line[~newline & ~keep & (codes != 13)], minlength=lines)  # 13: CR, noted apart
    return codes[keep], lengths[lengths > 0], int(((stripped > 0) & (lengths > 0)).sum())


def read_words(path):
    """Read a UTF-8 file with one word per line (lines stripped, blank lines dropped)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except IsADirectoryError:
        raise MakemoreError(f"data.path {path!r} is a directory, not a file") from None
    except FileNotFoundError:
        raise MakemoreError(f"data.path {path!r} does not exist") from None
    except OSError as e:
        raise MakemoreError(f"data.path {path!r} cannot be read: {e.strerror}") from None
    notes = []
    if b"\r\n" in raw:
        notes.append("Windows line endings were read as plain newlines")
    parts, lengths, chars, stripped = [], [], set(), 0
    start = 0
    while start < len(raw):  # chunks that end at a newline, so no line is cut
        end = raw.find(b"\n", min(start + CHUNK, len(raw)) - 1)
        end = len(raw) if end < 0 else end + 1
        try:
            codes, lens, n_stripped = _strip_lines(_codes(raw[start:end]))
        except UnicodeDecodeError as e:
            raise MakemoreError(f"data.path {path!r} is not UTF-8 text (byte {start + e.start} is invalid)") from None
        stripped += n_stripped
        chars.update(np.flatnonzero(np.bincount(codes)) if codes.dtype == np.uint8 else np.unique(codes))
        parts.append(codes)
        lengths.append(lens)
        start = end
    del raw
    lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    if len(lengths) == 0:
        raise MakemoreError(f"data.path {path!r} holds no words (it is empty or all lines are blank)")
    if stripped:
        notes.append(f"{stripped} line(s) had surrounding whitespace, which was stripped")
    chars = np.array(sorted(chars), dtype=np.int64)
    if ord(END) in chars:
        raise MakemoreError(f"data.path {path!r} uses {END!r}, which is reserved for the start/end token")
    vocab = Vocab([END] + [chr(c) for c in chars])
    dtype = np.uint8 if len(vocab) <= 256 else np.int32
    table = np.zeros(256, dtype)  # for ASCII chunks: one table look-up per character
    table[chars[chars < 256]] = np.arange(1, 1 + (chars < 256).sum(), dtype=dtype)
    ids, at = np.empty(sum(len(p) for p in parts), dtype), 0
    for codes in parts:
        ids[at : at + len(codes)] = table[codes] if codes.dtype == np.uint8 else np.searchsorted(chars, codes) + 1
        at += len(codes)
    return Words(vocab, ids, lengths.astype(np.int64, copy=False), notes)


def split(n_words, val_fraction, test_fraction, seed):
    """Assign every word to train (0), val (1) or test (2) by a permutation drawn with `seed`.

    The held-out counts are rounded down, so fractions that add up to less than 1 always leave a word to train on.
    """
    n_val, n_test = int(n_words * val_fraction), int(n_words * test_fraction)
    perm = torch.randperm(n_words, generator=torch.Generator().manual_seed(seed)).numpy()
    labels = np.zeros(n_words, dtype=np.int8)
    labels[perm[:n_val]] = 1
    labels[perm[n_val : n_val + n_test]] = 2
    return labels


def examples(ids, lengths, context, V):
    """Every (context id, next token) pair of the words, as the model sees them.

    Each word is padded in front with `context` END tokens and followed by one END target, so a word of
    length L gives L + 1 examples. The context id reads the previous `context` tokens as a number in
    base V, oldest first: for context 1 it is simply the previous token.
    """
    n = len(lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    # Lay the words out as pad, word, pad, word, ..., pad with `context` zeros as each pad.
    S = np.zeros(len(ids) + context * (n + 1), dtype=np.int64)
    word_start = context * np.arange(1, n + 1) + starts[:-1]
    S[np.repeat(word_start - starts[:-1], lengths) + np.arange(len(ids))] = ids
    # Targets: each word's characters and the END that follows it.
    first = np.cumsum(lengths + 1) - (lengths + 1)
    t = np.repeat(word_start - first, lengths + 1) + np.arange(int((lengths + 1).sum()))
    ctx = np.zeros(len(t), dtype=np.int64)
    for j in range(context, 0, -1):
        ctx = ctx * V + S[t - j]
    return ctx, S[t]


def split_examples(words, labels, part, context):
    """The (context id, next token) pairs of the words in one split, as int64 tensors."""
    keep = labels == part
    ids = words.ids[np.repeat(keep, words.lengths)]
    ctx, y = examples(ids, words.lengths[keep], context, len(words.vocab))
    return torch.from_numpy(ctx), torch.from_numpy(y)


def _word_chunks(words, size=CHUNK):
    """Slices of whole words whose characters add up to about `size`."""
    ends = np.cumsum(words.lengths)
    lo = 0
    while lo < len(words):
        hi = max(lo + 1, int(np.searchsorted(ends, ends[lo] + size)))
        yield lo, min(hi, len(words))
        lo = hi


def available_memory():
    """Bytes of memory available to this process (Linux: MemAvailable; elsewhere: all of it)."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_table(V, context):
    """Refuse, with the memory it would take, a context whose dense (V**context, V) tables do not fit.

    A run holds about four such tables of 8-byte entries: the counts of the splits, the model, its gradient.
    """
    entries = V**context * V
    need, have = 4 * 8 * entries, available_memory()
    if need > have:
        raise MakemoreError(
            f"context={context} needs tables of {V**context:,} x {V} entries, about {need / 2**30:.1f} GiB, "
            f"but {have / 2**30:.1f} GiB of memory is available: use a shorter context"
        )


def count(words, labels, context, splits=3):
    """N[s, c, y]: how often token y follows context c in the words of split s (int64, exact)."""
    V = len(words.vocab)
    check_table(V, context)
    C = V**context
    starts = np.concatenate([[0], np.cumsum(words.lengths)])
    N = np.zeros(splits * C * V, dtype=np.int64)
    for lo, hi in _word_chunks(words):
        lengths = words.lengths[lo:hi]
        ctx, y = examples(words.ids[starts[lo] : starts[hi]], lengths, context, V)
        key = np.repeat(labels[lo:hi].astype(np.int64), lengths + 1) * (C * V) + ctx * V + y
        if len(N) <= 4 * len(key):  # a dense histogram is cheapest
            N += np.bincount(key, minlength=len(N))
        else:  # a table much larger than the chunk: add only the keys that occur
            keys, n = np.unique(key, return_counts=True)
            N[keys] += n
    return torch.from_numpy(N.reshape(splits, C, V))
