"""Data: read a file of words, build the vocabulary, split it, and count (context, next) pairs.

Everything runs on numpy arrays in chunks, never on a Python list of strings or a loop per
character, so that a file of 10M lines fits in a few hundred MB. Counts stay int64.
"""

import hashlib
import os
import stat
from dataclasses import dataclass

import numpy as np
import torch

from makemore import MakemoreError

END = "."  # the start/end token, index 0 of every vocabulary
CHUNK = 1 << 20  # bytes (or characters) handled at once: bounds the memory of every pass
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, which some editors put at the start of a file
SPACE = np.array([chr(c).isspace() for c in range(0x3001)])  # str.isspace(); none lies above U+3000
# stand-ins for a carried line's kept characters and its whitespace: any non-space, a space
INK, BLANK = 0, 32


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

    def words(self, index=None):
        """Decode words back to strings (all of them, or those at `index`)."""
        starts = np.concatenate([[0], np.cumsum(self.lengths)])
        index = range(len(self)) if index is None else index
        return [self.vocab.decode(self.ids[starts[i] : starts[i + 1]]) for i in index]


def _open(path):
    """Open the data file, refusing what is not a regular file before opening it: /dev/zero never ends, and
    opening a FIFO waits for a writer that may never come."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise MakemoreError(f"data.path {path!r} does not exist") from None
    if stat.S_ISDIR(mode):
        raise MakemoreError(f"data.path {path!r} is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise MakemoreError(f"data.path {path!r} is not a regular file")
    return open(path, "rb")


def _unreadable(path, error):
    return MakemoreError(f"data.path {path!r} cannot be read: {error.strerror}")


def data_digest(path):
    """A digest of the data file's bytes: whether two runs read the same data."""
    try:
        with _open(path) as f:
            return hashlib.file_digest(f, "sha1").hexdigest()
    except OSError as e:
        raise _unreadable(path, e) from None


def _codes(raw):
    """Characters of UTF-8 bytes as an array of code points (the bytes themselves where all are ASCII)."""
    if raw.isascii():
        return np.frombuffer(raw, dtype=np.uint8)
    # may raise UnicodeDecodeError
    return np.frombuffer(raw.decode("utf-8").encode("utf-32-le"), dtype=np.uint32)


def _cut(raw):
    r"""How many bytes of `raw` make whole characters: not a '\r' at the end, as its '\n' may come next, nor
    the first bytes of a UTF-8 character whose last ones come next."""
    if raw.endswith(b"\r"):
        return len(raw) - 1
    for back in range(1, min(4, len(raw)) + 1):
        lead = raw[-back]
        if lead < 0x80 or lead >= 0xC0:  # not a continuation byte: the character starts here
            size = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            return len(raw) - back if size > back else len(raw)
    return len(raw)  # no character starts in the last 4 bytes: invalid, which decoding reports


def _chunks(f, path, notes):
    """The file's characters as arrays of code points, about CHUNK bytes at a time."""
    if f.read(len(BOM)) == BOM:
        notes.append("a UTF-8 byte-order mark at the start of the file was removed")
    else:
        f.seek(0)
    at = f.tell()  # the offset in the file of raw[0]
    raw, more = b"", f.read(CHUNK)
    while raw or more:
        raw, more = raw + more, f.read(CHUNK)
        take = _cut(raw) if more else len(raw)
        try:
            codes = _codes(raw[:take])
        except UnicodeDecodeError as e:
            raise MakemoreError(
                f"data.path {path!r} is not UTF-8 text (byte {at + e.start} is invalid)"
            ) from None
        yield codes
        raw, at = raw[take:], at + take


def _spaces(codes):
    """Positions of the whitespace characters, in order."""
    near = np.flatnonzero(codes < 33) if codes.dtype == np.uint8 else np.flatnonzero(codes < len(SPACE))
    return near[SPACE[codes[near]]]


class _Lines:
    r"""Splits code points into lines at '\n', '\r\n' and '\r', strips each line's whitespace and drops blank
    lines, chunk by chunk, carrying what the line a chunk leaves unfinished needs from it."""

    def __init__(self):
        self.kept = 0  # characters of the unfinished line kept so far (0: none but whitespace yet)
        self.lead = False  # whether it began with whitespace, which was stripped
        # arrays of the whitespace after its last kept character: kept if more characters follow
        self.gap = []
        self.stripped = 0  # nonblank lines that had whitespace stripped at either end
        self.crlf = self.cr = 0  # lines that ended in '\r\n', and in '\r' alone

    def feed(self, codes):
        """Kept code points (a list of arrays) and the lengths of the nonblank lines this chunk ends."""
        if not len(codes):
            return [], np.zeros(0, np.int64)
        # The unfinished line comes back as at most three stand-ins, so that it is stripped like any other
        # line.
        prefix = [BLANK] * self.lead + [INK] * (self.kept > 0) + [BLANK] * bool(self.gap)
        c = np.concatenate([np.array(prefix, codes.dtype), codes])
        n, at = len(c), _spaces(c)
        breaks = self._line_breaks(c, at)
        if breaks.all():  # the common case: no line has whitespace to strip, its words lie between the breaks
            lengths, tail = np.diff(at, prepend=-1, append=n) - 1, n
            dropped, stripped = at, np.zeros(len(lengths), bool)
        else:
            dropped, lengths, tail, stripped = self._runs(n, at, breaks)
        keep = np.ones(n, bool)
        keep[dropped] = False
        parts = self._restore(np.compress(keep, c), keep, lengths, len(prefix))
        done = lengths[:-1]
        self.stripped += int(np.count_nonzero((done > 0) & stripped[:-1]))
        self.gap = self._gap(c, keep, tail, len(prefix), len(done))
        self.kept, self.lead = int(lengths[-1]), bool(stripped[-1])
        return parts, done[done > 0]

    @staticmethod
    def _runs(n, at, breaks):
        """Strip by the runs of whitespace: (positions dropped, line lengths, where the last line's trailing
        whitespace begins, which lines had whitespace stripped; for the last, only at its start)."""
        # Maximal runs of whitespace, at[first[k] : last[k] + 1]. One holding a line break separates two
        # lines; one without is inside a line, and kept, unless it begins the chunk (head) or ends it (tail).
        first = np.flatnonzero(np.diff(at, prepend=-2) != 1)
        last = np.append(first[1:], len(at))[: len(first)] - 1
        sep = np.logical_or.reduceat(breaks, first)
        start, stop = at[first], at[last] + 1  # each run as positions [start, stop)
        head = int(stop[0]) if not sep[0] and start[0] == 0 else 0  # where the first line's text begins
        # and where the last's ends
        tail = int(start[-1]) if not sep[-1] and stop[-1] == n and start[-1] > 0 else n
        drop = sep | (start < head) | (start >= tail)
        dropped = at if drop.all() else at[np.repeat(drop, last - first + 1)]
        lengths = np.append(start[sep], n) - np.append(0, stop[sep])
        lengths[0] -= head
        lengths[-1] -= n - tail
        # whitespace after a run's last break begins the next line
        lead = np.append(head > 0, ~breaks[last[sep]])
        # whitespace before its first break ends the line before
        trail = np.append(~breaks[first[sep]], False)
        return dropped, lengths, tail, lead | trail

    def _line_breaks(self, c, at):
        r"""Which whitespace characters break lines ('\n' and '\r'), counting '\r\n' and lone '\r' endings."""
        white = c[at]
        cr = at[white == 13]
        # _cut keeps a '\r' and its '\n' together
        crlf = int(np.count_nonzero(c[cr[cr + 1 < len(c)] + 1] == 10))
        self.crlf, self.cr = self.crlf + crlf, self.cr + len(cr) - crlf
        return (white == 10) | (white == 13)

    def _restore(self, kept, keep, lengths, stand_ins):
        """Put the carried line's whitespace back for its stand-in, and count its characters kept before."""
        if not self.kept:
            return [kept]
        lengths[0] += self.kept - 1
        if self.gap and keep[stand_ins - 1]:  # more characters followed the gap on its line
            lengths[0] += sum(len(g) for g in self.gap) - 1
            return [*self.gap, kept[2:]]
        return [kept[1:]]

    def _gap(self, c, keep, tail, stand_ins, ended):
        """The whitespace after the last kept character of the line this chunk leaves unfinished."""
        if tail == len(c):
            return []
        if self.gap and not ended and not keep[stand_ins - 1]:  # the whole chunk went on with the same gap
            return [*self.gap, c[stand_ins:].copy()]
        return [c[tail:].copy()]  # a copy, not a view that would hold on to the whole chunk

    def finish(self):
        """The lengths of the last line, if the file does not end with a line break."""
        self.stripped += self.kept > 0 and (self.lead or bool(self.gap))
        return np.array([self.kept] if self.kept else [], np.int64)


def _new_characters(codes, known):
    """The code points of an array that the set `known` does not hold."""
    if codes.dtype == np.uint8:  # deleting the known bytes takes a third of the time of counting every byte
        return set(codes.tobytes().translate(None, bytes(c for c in known if c < 128)))
    return set(np.unique(codes).tolist()) - known


class _Block:
    """The kept code points one after another, in one array sized for the whole file (it has no more
    characters than bytes, and pages never written take no memory), so that they are encoded in place."""

    def __init__(self, size):
        self.codes, self.n = np.empty(size, np.uint8), 0

    def append(self, codes):
        need = self.n + len(codes)
        if need > len(self.codes) or codes.itemsize > self.codes.itemsize:  # the file grew, or is not ASCII
            size = 2 * need if need > len(self.codes) else len(self.codes)
            grown = np.empty(size, np.promote_types(self.codes.dtype, codes.dtype))
            grown[: self.n] = self.codes[: self.n]
            self.codes = grown
        self.codes[self.n : need] = codes
        self.n = need


def _encode(codes, chars, dtype):
    """Token ids of code points, written over them where the types have the same size."""
    table = np.zeros(256, dtype)  # for ASCII: one table look-up per character
    table[chars[chars < 256]] = np.arange(1, 1 + (chars < 256).sum(), dtype=dtype)
    ids = codes.view(dtype) if codes.itemsize == np.dtype(dtype).itemsize else np.empty(len(codes), dtype)
    for at in range(0, len(codes), CHUNK):
        part = codes[at : at + CHUNK]
        ids[at : at + CHUNK] = (
            table.take(part) if part.dtype == np.uint8 else np.searchsorted(chars, part) + 1
        )
    return ids


def read_words(path):
    """Read a UTF-8 file with one word per line (lines stripped, blank lines dropped)."""
    path = os.fspath(path)
    notes, lengths, chars = [], [], set()
    lines = _Lines()
    try:
        with _open(path) as f:
            block = _Block(os.fstat(f.fileno()).st_size)
            for codes in _chunks(f, path, notes):
                kept, lens = lines.feed(codes)
                for part in kept:
                    chars |= _new_characters(part, chars)
                    block.append(part)
                lengths.append(lens.astype(np.min_scalar_type(lens.max(initial=0))))  # 1 byte a name, not 8
    except OSError as e:
        raise _unreadable(path, e) from None
    lengths = np.concatenate([*lengths, lines.finish()], dtype=np.int64)
    if len(lengths) == 0:
        raise MakemoreError(f"data.path {path!r} holds no words (it is empty or all lines are blank)")
    if lines.crlf:
        notes.append("Windows line endings were read as plain newlines")
    if lines.cr:
        notes.append(
            f"{lines.cr} line(s) ended in a lone '\\r' (old Mac line endings), read as plain newlines"
        )
    if lines.stripped:
        notes.append(f"{lines.stripped} line(s) had surrounding whitespace, which was stripped")
    chars = np.array(sorted(chars), dtype=np.int64)
    if ord(END) in chars:
        raise MakemoreError(f"data.path {path!r} uses {END!r}, which is reserved for the start/end token")
    vocab = Vocab([END] + [chr(c) for c in chars])
    dtype = np.uint8 if len(vocab) <= 256 else np.int32
    return Words(vocab, _encode(block.codes[: block.n], chars, dtype), lengths, notes)


def _held_out(n_words, val_fraction, test_fraction):
    """How many words validation and test get: rounded down, so that fractions adding up to less than 1
    always leave a word to train on."""
    return int(n_words * val_fraction), int(n_words * test_fraction)


def split(n_words, val_fraction, test_fraction, seed):
    """Assign every word to train (0), val (1) or test (2) by a permutation drawn with `seed`."""
    n_val, n_test = _held_out(n_words, val_fraction, test_fraction)
    perm = torch.randperm(n_words, generator=torch.Generator().manual_seed(seed)).numpy()
    labels = np.zeros(n_words, dtype=np.int8)
    labels[perm[:n_val]] = 1
    labels[perm[n_val : n_val + n_test]] = 2
    return labels


def too_few_words(path, n_words, val_fraction, test_fraction):
    """A one-line warning if validation or test gets no word although its fraction is above 0, else None."""
    held_out = zip(
        ("val", "test"),
        ("validation", "test"),
        (val_fraction, test_fraction),
        _held_out(n_words, val_fraction, test_fraction),
    )
    empty = [
        (f"data.{key}_fraction={fraction}", f"0 {name} words")
        for key, name, fraction, n in held_out
        if fraction > 0 and n == 0
    ]
    if not empty:
        return None
    fractions, counts = zip(*empty)
    return (
        f"data.path {os.fspath(path)!r} has {n_words} words: too few for {' and '.join(fractions)} "
        f"({', '.join(counts)})"
    )
