"""Makemore part 3 in the framework: the BatchNorm MLP, its initialization fixes, and BatchNorm done right."""

import pytest
import torch
from helpers import (
    compose_config,
    log_rows,
    metrics,
    new,
    resumed_halfway,
    same_weights,
    sampled_one_at_a_time,
    scalars,
    trained_both_ways,
)

from makemore import checkpoint
from makemore.inference import score
from makemore.models import MLP
from makemore.training import build, load_data

PART3 = ("model=mlp", "model.batchnorm=true")


def test_the_batchnorm_mlp_has_the_lectures_12097_parameters():
    model = build(
        compose_config(*PART3, "context=3", "model.n_embd=10", "model.n_hidden=200"), 27, torch.device("cpu")
    )
    assert sum(p.numel() for p in model.parameters()) == 12_097
    assert (
        sum(p.numel() for p in build(compose_config("model=mlp"), 27, torch.device("cpu")).parameters())
        == 11_897
    )


def test_the_initialization_fixes_shrink_the_last_layer_and_give_tanh_kaimings_gain():
    torch.manual_seed(0)
    plain = new(MLP, context=3, kaiming=True)
    torch.manual_seed(0)
    fixed = new(MLP, context=3, kaiming=True, last_layer_scale=0.1)
    assert torch.allclose(fixed.out.weight, plain.out.weight * 0.1)
    std = fixed.hidden[0].weight.std().item()
    assert std == pytest.approx(5 / 3 / 30**0.5, rel=0.05)  # gain / sqrt(fan_in): 3 characters of 10 numbers
    assert len(new(MLP, context=3, n_layer=4).hidden) == 8  # Linear and Tanh, four times


def test_the_loss_log_is_one_sweep_of_the_lectures_five_initializations():
    cfgs = log_rows(3)
    assert list(cfgs) == ["original", "softmax", "tanh", "kaiming", "batchnorm"]
    # experiment=lecture3 alone is the log's last row: the lecture's final MLP
    assert compose_config("experiment=lecture3").model == cfgs["batchnorm"].model
    stds = {}
    for row, cfg in cfgs.items():
        torch.manual_seed(0)
        model = build(cfg, 27, torch.device("cpu"))
        stds[row] = (model.hidden[0].weight.std().item(), model.out.weight.std().item())
        assert (cfg.context, cfg.steps, cfg.batch_size, cfg.lr) == (3, 200_000, 32, 0.1)
        params = sum(p.numel() for p in model.parameters())
        assert params == (12_097 if row == "batchnorm" else 11_897)  # BatchNorm's beta is the bias
    kaiming = 5 / 3 / 30**0.5
    # (hidden weights, output weights): N(0, 1) at first, then each fix
    expected = {
        "original": (1, 1),
        "softmax": (1, 0.01),
        "tanh": (0.2, 0.01),
        "kaiming": (kaiming, 0.01),
        "batchnorm": (kaiming, 0.01),
    }
    for row, (hidden, out) in expected.items():
        assert stds[row] == pytest.approx((hidden, out), rel=0.05), row


def test_a_full_batch_step_over_counted_windows_equals_one_over_every_example(names_subset):
    """BatchNorm's batch statistics of the distinct windows, each weighted by its count, are every
    example's."""
    curves, models, _, _ = trained_both_ways(
        names_subset,
        lambda: new(MLP, context=3, n_hidden=50, batchnorm=True, n_layer=2),
        lambda params: torch.optim.SGD(params, lr=0.1),
        steps=20,
    )
    assert max(abs(a - b) for a, b in zip(*curves)) < 1e-5
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        assert (a.double() - b.double()).abs().max() < 1e-5, name  # weights and running statistics alike


@pytest.mark.parametrize("batch", [[], ["batch_size=32"]])
def test_a_batchnorm_run_resumed_halfway_is_bit_identical(train_run, names_subset, batch):
    common = [
        *PART3,
        "model.n_hidden=16",
        *batch,
        f"data.path={names_subset}",
        "scheduler=step",
        "eval_interval=3",
        "sample.count=5",
        "figures=false",
    ]
    whole, half = resumed_halfway(train_run, common)
    assert same_weights(whole, half) and scalars(whole)["train/loss"] == scalars(half)["train/loss"]
    assert metrics(whole) | {"seconds": 0} == metrics(half) | {"seconds": 0}
    state = torch.load(whole / "checkpoint.pt", weights_only=True)["state_dict"]
    assert state["hidden.1.num_batches_tracked"] == 6 and not torch.equal(
        state["hidden.1.running_mean"], torch.zeros(16)
    )


def test_a_batchnorm_checkpoint_samples_one_name_at_a_time_with_its_running_statistics(
    train_run, names_subset
):
    windows = torch.tensor([[0, 0, 5], [0, 5, 13], [1, 2, 3]])
    model, vocab = sampled_one_at_a_time(train_run, [*PART3, f"data.path={names_subset}"], windows)
    (emma,) = score(model, vocab, ["emma"])
    assert 0 < emma < 30


def test_the_checkpoint_holds_the_model_that_wrote_the_runs_metrics(train_run, names_subset):
    overrides = [
        *PART3,
        f"data.path={names_subset}",
        "steps=7",
        "eval_interval=5",
        "sample.count=0",
        "figures=false",
    ]
    out, _ = train_run(*overrides)
    model, _, state = checkpoint.load(out / "checkpoint.pt")
    assert state["state_dict"]["hidden.1.num_batches_tracked"] == 7  # one a step; the last pass only logs
    _, splits = load_data(compose_config(*overrides))
    with torch.no_grad():
        assert splits["val"].nll(model).item() == metrics(out)["val_nll"]
