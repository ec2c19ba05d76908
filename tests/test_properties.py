"""Properties of the data layer and the counts model, for any text and any counts (hypothesis)."""

import math

import numpy as np
import torch
from helpers import table_model
from hypothesis import given, settings
from hypothesis import strategies as st

from makemore.batches import Split
from makemore.data import read_words, split

# A word: any text without line breaks, surrounding whitespace or the reserved '.'
word = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc"), blacklist_characters="."),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(
        lambda w: (
            w and w.isprintable() and w == w.strip() and not any(c in w for c in "\x1c\x1d\x1e\x1f\x85\xa0")
        )
    )
)


@settings(max_examples=60, deadline=None)
@given(st.lists(word, min_size=1, max_size=30))
def test_any_words_round_trip_through_the_file_and_the_vocabulary(tmp_path_factory, words):
    path = tmp_path_factory.mktemp("w") / "words.txt"
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    read = read_words(path)
    assert read.words() == words
    assert read.vocab.itos == ["."] + sorted(set("".join(words)))
    ids, lengths = read.vocab.encode(words)
    assert ids.tolist() == read.ids.tolist() and lengths.tolist() == read.lengths.tolist()


counts_matrix = st.integers(2, 6).flatmap(
    lambda V: st.lists(st.integers(0, 5), min_size=V * V, max_size=V * V).map(
        lambda xs: torch.tensor(xs, dtype=torch.int64).reshape(V, V)
    )
)


@settings(max_examples=100, deadline=None)
@given(counts_matrix, st.sampled_from([0.0, 0.01, 1.0, 100.0]))
def test_rows_of_P_sum_to_one(N, smoothing):
    P = table_model(N, smoothing)(torch.arange(len(N))[:, None])[:, -1].exp()
    assert torch.allclose(P.sum(1), torch.ones(len(N), dtype=torch.float64))


@settings(max_examples=100, deadline=None)
@given(counts_matrix, st.sampled_from([0.0, 0.5]), st.integers(0, 35), st.integers(0, 35))
def test_nll_is_finite_exactly_where_smoothing_is_positive_or_the_bigram_was_seen(N, smoothing, i, j):
    V = len(N)
    i, j = i % V, j % V
    logp = table_model(N, smoothing)(torch.tensor([[i]]))[0, -1, j]
    finite = math.isfinite(logp.item())
    seen_context = N[i].sum() > 0
    assert finite == (smoothing > 0 or N[i, j] > 0 or not seen_context)  # an unseen context is uniform


@settings(max_examples=40, deadline=None)
@given(st.lists(word, min_size=1, max_size=20), st.integers(1, 3), st.integers(0, 2**31))
def test_counts_of_the_splits_add_up_to_one_example_per_character_and_end(
    tmp_path_factory, words, context, seed
):
    path = tmp_path_factory.mktemp("w") / "words.txt"
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    read = read_words(path)
    labels = split(len(read), 0.2, 0.2, seed)
    parts = [
        Split(read.ids[np.repeat(labels == i, read.lengths)], read.lengths[labels == i], len(read.vocab))
        for i in range(3)
    ]
    N = [part.counted(context).N for part in parts]
    assert sum(n.sum() for n in N) == sum(len(w) + 1 for w in words)
    assert sum(n[:, 0].sum() for n in N) == len(words)  # one END per word
