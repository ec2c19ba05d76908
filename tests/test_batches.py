"""What models are fed: counted windows and examples, checked against the lecture's Python loops."""

import numpy as np
import pytest
from helpers import whole

from makemore.batches import Split, distinct_rows
from makemore.data import read_words, split


def loop_counts(words, stoi, context):
    """The lecture's counting loop, generalized to `context` previous characters: {(window, next): count}."""
    N = {}
    for w in words:
        chs = ["."] * context + list(w) + ["."]
        for i in range(context, len(chs)):
            key = (tuple(stoi[c] for c in chs[i - context : i]), stoi[chs[i]])
            N[key] = N.get(key, 0) + 1
    return N


def as_dict(counted):
    rows, nexts = counted.N.nonzero(as_tuple=True)
    return {(tuple(counted.X[r].tolist()), int(y)): int(counted.N[r, y]) for r, y in zip(rows, nexts)}


@pytest.mark.parametrize("context", [1, 2, 3, 14])
def test_counted_windows_match_the_lectures_loop(names_subset, context):
    words = read_words(names_subset)
    counted = whole(words).counted(context)
    assert as_dict(counted) == loop_counts(names_subset.read_text().split(), words.vocab.stoi, context)
    assert len(np.unique(counted.X.numpy(), axis=0)) == len(counted.X)  # each window once


def test_counts_of_every_split_add_up_to_the_whole(names_subset):
    words = read_words(names_subset)
    labels = split(len(words), 0.1, 0.1, 42)
    parts = [
        Split(words.ids[np.repeat(labels == i, words.lengths)], words.lengths[labels == i], 27)
        for i in range(3)
    ]
    total = {}
    for part in parts:
        assert part.total > 0
        for key, n in as_dict(part.counted(1)).items():
            total[key] = total.get(key, 0) + n
    assert total == as_dict(whole(words).counted(1))


def test_windows_pad_each_word_with_start_tokens():
    # "ab" with context 2: .. -> a, .a -> b, ab -> .
    ex = Split(np.array([1, 2]), np.array([2]), 3).windows(np.arange(3), 2)
    assert ex.X.tolist() == [[0, 0], [0, 1], [1, 2]] and ex.Y.tolist() == [[1], [2], [0]]


def test_words_are_padded_inputs_and_targets():
    ex = Split(np.array([1, 2, 1]), np.array([2, 1]), 3).words(np.array([0, 1]), pad=1)
    assert ex.X.tolist() == [[0, 0, 1, 2], [0, 0, 1, 0]]
    assert ex.Y.tolist() == [[1, 2, 0], [1, 0, -1]]


def test_rows_too_long_for_one_number_are_counted_by_their_bytes():
    fives, ones = np.full((2, 20), 5), np.full((1, 20), 1)
    unique, n = distinct_rows([fives, np.concatenate([ones, fives])], 27, 20)  # 27**20 overflows int64
    assert unique.tolist() == [[1] * 20, [5] * 20] and n.tolist() == [1, 4]


def test_a_split_knows_which_words_it_holds(names_subset):
    words = read_words(names_subset)
    data, encode = whole(words), lambda w: words.vocab.encode([w])[0].tolist()
    first = names_subset.read_text().split()[:3]
    assert data.holds([encode(w) for w in first]).tolist() == [True] * 3
    assert data.holds([encode(first[0] + "q"), [], encode(first[1])]).tolist() == [False, False, True]
