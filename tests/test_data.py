"""The data layer: vocabulary, encoding, split and counts, checked against the lecture's Python loops."""

import numpy as np
import pytest
import torch

from helpers import NAMES
from makemore.data import count, examples, read_words, split


def loop_counts(words, stoi, context):
    """The lecture's counting loop, generalized to `context` previous characters."""
    V = len(stoi)
    N = torch.zeros((V**context, V), dtype=torch.int64)
    for w in words:
        chs = ["."] * context + list(w) + ["."]
        for i in range(context, len(chs)):
            ctx = 0
            for ch in chs[i - context : i]:
                ctx = ctx * V + stoi[ch]
            N[ctx, stoi[chs[i]]] += 1
    return N


def test_vocabulary_of_names_is_the_lectures_27_tokens():
    words = read_words(NAMES)
    assert len(words) == 32033
    assert words.vocab.itos == ["."] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    assert words.vocab.stoi["a"] == 1 and words.vocab.stoi["."] == 0


def test_lines_are_stripped_and_blank_lines_dropped(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("  emma \n\n\t\nolivia\nmary ann\n  \nava")
    assert read_words(path).words() == ["emma", "olivia", "mary ann", "ava"]


def test_any_utf8_text_round_trips(tmp_path):
    path = tmp_path / "w.txt"
    lines = ["zoë", "żaneta", "日本", "a"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    words = read_words(path)
    assert words.words() == lines
    assert words.vocab.itos[0] == "." and words.vocab.itos[1:] == sorted(set("".join(lines)))


@pytest.mark.parametrize("context", [1, 2, 3])
def test_counts_match_the_lectures_loop(names_subset, context):
    words = read_words(names_subset)
    N = count(words, split(len(words), 0, 0, 0), context)
    lines = names_subset.read_text().split()
    assert torch.equal(N[0], loop_counts(lines, words.vocab.stoi, context))
    assert N[1].sum() == N[2].sum() == 0


def test_counts_of_every_split_add_up_to_the_whole(names_subset):
    words = read_words(names_subset)
    whole = count(words, split(len(words), 0, 0, 0), 1)[0]
    parts = count(words, split(len(words), 0.1, 0.1, 42), 1)
    assert torch.equal(parts.sum(0), whole)
    assert all(parts[s].sum() > 0 for s in range(3))


def test_split_is_fixed_by_its_seed_and_holds_out_the_fractions():
    a, b, c = split(1000, 0.1, 0.2, 42), split(1000, 0.1, 0.2, 42), split(1000, 0.1, 0.2, 7)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.bincount(a).tolist() == [700, 100, 200]


def test_examples_pad_each_word_with_end_tokens():
    # "ab" with context 2 over a vocabulary of 3 tokens: ..->a, .a->b, ab->.
    ctx, y = examples(np.array([1, 2]), np.array([2]), 2, 3)
    assert ctx.tolist() == [0, 1, 1 * 3 + 2] and y.tolist() == [1, 2, 0]
