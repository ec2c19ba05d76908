"""The sequence models: makemore.py's sizes, next-token logits at every position, and nothing from the
future."""

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import compose_config, new

from makemore import MakemoreError
from makemore.models.bow import BoW
from makemore.models.rnn import GRU, RNN
from makemore.models.transformer import Transformer
from makemore.training import build

V, CONTEXT = 27, 16
MODELS = {"rnn": RNN, "gru": GRU, "bow": BoW, "transformer": Transformer}


def make(name, **sizes):
    torch.manual_seed(0)
    return new(MODELS[name], V, context=CONTEXT, **sizes)


def tokens(B, T, seed=1):
    idx = torch.randint(1, V, (B, T), generator=torch.Generator().manual_seed(seed))
    idx[:, 0] = 0  # every sequence begins with the start token
    return idx


@pytest.mark.parametrize(
    "name, count", [("rnn", 11_803), ("gru", 28_315), ("bow", 12_827), ("transformer", 204_544)]
)
def test_parameter_counts_with_the_configs_defaults_are_makemores(name, count):
    """As `python train.py model=<name>` builds it on names.txt: its longest name + 1 = 16 is the context."""
    cfg = compose_config(f"model={name}", f"context={CONTEXT}")
    model = build(cfg, V, torch.device("cpu"))
    assert sum(p.numel() for p in model.parameters()) == count


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("T", [1, CONTEXT])
def test_logits_have_one_float32_row_per_position(name, T):
    logits = make(name)(tokens(3, T))
    assert logits.shape == (3, T, V) and logits.dtype == torch.float32


@pytest.mark.parametrize("name", MODELS)
def test_logits_do_not_depend_on_later_tokens(name):
    model = make(name, n_embd=16, n_embd2=16) if name != "transformer" else make(name, n_embd=16, n_layer=2)
    idx = tokens(2, CONTEXT)
    with torch.no_grad():
        before = model(idx)
        for t in range(1, CONTEXT):
            changed = idx.clone()
            changed[:, t] = changed[:, t] % (V - 1) + 1  # another letter
            after = model(changed)
            torch.testing.assert_close(after[:, :t], before[:, :t], rtol=0, atol=1e-6)
            assert not torch.allclose(after[:, t], before[:, t])  # the change is seen where it may be


def test_rnn_reads_sequences_longer_than_context():
    assert make("gru")(tokens(2, 2 * CONTEXT)).shape == (2, 2 * CONTEXT, V)


@pytest.mark.parametrize("name", ["bow", "transformer"])
def test_positional_models_refuse_sequences_longer_than_context(name):
    with pytest.raises(ValueError, match="context=16"):
        make(name)(tokens(1, CONTEXT + 1))


def test_fused_attention_equals_masked_softmax():
    attn = make("transformer").blocks[0].attn
    B, T, C, nh = 2, CONTEXT, 64, 4
    x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(2))
    q, k, v = (a.view(B, T, nh, C // nh).transpose(1, 2) for a in attn.qkv(x).split(C, 2))
    scores = q @ k.transpose(-2, -1) / math.sqrt(C // nh)
    scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    torch.testing.assert_close(attn(x), attn.proj(y))


@pytest.mark.parametrize("name", MODELS)
def test_adamw_steps_lower_the_loss_on_a_fixed_batch(name):
    model = make(name)
    idx = tokens(8, CONTEXT + 1)
    x, y = idx[:, :-1], idx[:, 1:]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)

    def loss():
        return F.cross_entropy(model(x).view(-1, V), y.reshape(-1))

    first = loss().item()
    for _ in range(10):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < first - 0.5


def test_heads_that_do_not_split_n_embd_are_refused():
    with pytest.raises(MakemoreError, match="n_embd=65.*n_head=4"):
        new(Transformer, V, context=CONTEXT, n_embd=65, n_head=4)
