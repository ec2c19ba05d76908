"""Makemore part 5 in the framework: the hierarchical WaveNet, its BatchNorm over the batch and the
positions."""

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

from makemore import MakemoreError
from makemore.inference import score
from makemore.models import MLP, WaveNet
from makemore.models.base import BatchNorm1d
from makemore.training import build

TINY = ("model=wavenet", "model.n_embd=4", "model.n_hidden=8")


def test_the_wavenet_has_the_lectures_76579_parameters():
    model = build(compose_config("model=wavenet"), 27, torch.device("cpu"))
    assert sum(p.numel() for p in model.parameters()) == 76_579
    assert len(model.stages) == 3 * 4  # three stages of pairs, Linear, BatchNorm, tanh: 8 -> 4 -> 2 -> 1


def test_the_performance_log_is_one_sweep_of_the_lectures_models():
    cfgs = log_rows(5)
    assert list(cfgs) == ["context3", "flat", "hierarchical", "scaled"]
    assert (
        compose_config("experiment=lecture5").model == cfgs["scaled"].model
    )  # alone: the lecture's final model
    models = [build(cfg, 27, torch.device("cpu")) for cfg in cfgs.values()]
    assert [(type(m), m.config.context) for m in models] == [(MLP, 3), (MLP, 8), (WaveNet, 8), (WaveNet, 8)]
    assert [sum(p.numel() for p in m.parameters()) for m in models] == [12_097, 22_097, 22_397, 76_579]
    assert all(
        (cfg.steps, cfg.batch_size, cfg.optimizer._target_) == (200_000, 32, "torch.optim.SGD")
        for cfg in cfgs.values()
    )


@pytest.mark.parametrize("context, nearest", [(6, "4 or 8"), (3, "2 or 4"), (12, "8 or 16")])
def test_a_context_that_is_not_a_power_of_two_is_refused_naming_the_nearest(context, nearest):
    with pytest.raises(MakemoreError) as e:
        build(compose_config("model=wavenet", f"context={context}"), 27, torch.device("cpu"))
    assert f"context={context}: must be a power of two ({nearest})" in str(e.value)
    assert "\n" not in str(e.value)


def test_the_last_layer_starts_scaled_down_and_the_prediction_reads_only_the_window():
    torch.manual_seed(0)
    model = new(WaveNet, context=4, n_hidden=16).eval()
    assert model.out.weight.abs().max() < 0.1 * 16**-0.5 + 1e-6  # a tenth of nn.Linear's uniform bound
    a = torch.tensor([[1, 2, 3, 4, 5, 6]])
    b = torch.tensor([[9, 9, 3, 4, 5, 6]])  # the same last 4 characters
    assert torch.equal(model(a)[:, -1], model(b)[:, -1]) and not torch.equal(model(a)[:, 0], model(b)[:, 0])


def test_batchnorm_of_a_3d_input_takes_its_statistics_over_the_batch_and_the_positions():
    torch.manual_seed(0)
    x = torch.randn(5, 4, 3) * 2 + 1
    bn = BatchNorm1d(3)
    y = bn(x)
    assert torch.allclose(y.mean((0, 1)), torch.zeros(3), atol=1e-6)
    assert torch.allclose(y.var((0, 1), unbiased=False), torch.ones(3), atol=1e-4)
    assert torch.allclose(bn.running_mean, 0.1 * x.mean((0, 1)))
    assert torch.allclose(bn.running_var, 0.9 + 0.1 * x.var((0, 1)))  # unbiased over 20 examples
    plain = BatchNorm1d(3)
    # the 2-D behaviour, on every position a row
    assert torch.equal(plain(x.reshape(20, 3)), y.reshape(20, 3))


@pytest.mark.parametrize("dtype, buffers", [(torch.float32, 1e-4), (torch.float64, 1e-7)])
def test_a_full_batch_step_over_counted_windows_equals_one_over_every_example(names_subset, dtype, buffers):
    """BatchNorm's statistics of the distinct windows, each weighted by its count at every position, are every
    example's."""
    curves, models, _, _ = trained_both_ways(
        names_subset,
        lambda: new(WaveNet, context=8, n_embd=6, n_hidden=20).to(dtype),
        lambda params: torch.optim.SGD(params, lr=0.1),
        steps=20,
    )
    assert curves[0][-1] < curves[0][0] - 0.1  # it learns
    assert max(abs(a - b) for a, b in zip(*curves)) < 1e-5
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        # the running means sum some 64,000 positions of the first stage: float32 rounds them to about 1e-4
        tolerance = buffers if "running" in name else 1e-5
        assert (a.double() - b.double()).abs().max() < tolerance, name  # weights and running statistics alike


@pytest.mark.parametrize("batch", [[], ["batch_size=32"]])
def test_a_wavenet_run_resumed_halfway_is_bit_identical(train_run, names_subset, batch):
    common = [
        *TINY,
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
    assert (whole / "samples.txt").read_text() == (half / "samples.txt").read_text()
    # step 3 evaluated with the statistics of 3 passes
    assert scalars(whole)["val/nll"] == scalars(half)["val/nll"]
    state = torch.load(whole / "checkpoint.pt", weights_only=True)["state_dict"]
    assert state["stages.10.num_batches_tracked"] == 6 and not torch.equal(
        state["stages.10.running_mean"], torch.zeros(8)
    )


def test_a_wavenet_checkpoint_samples_one_name_at_a_time_with_its_running_statistics(train_run, names_subset):
    windows = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 5], [0, 0, 0, 0, 0, 0, 5, 13], [1, 2, 3, 4, 5, 6, 7, 8]])
    model, vocab = sampled_one_at_a_time(train_run, [*TINY, f"data.path={names_subset}"], windows)
    emma, qzqz = score(model, vocab, ["emma", "qzqzqz"])
    assert 0 < emma < qzqz
