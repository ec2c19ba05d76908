"""What the framework promises holds for every model: a whole run, bit-identical resume, sampling and
scoring."""

import math
from dataclasses import dataclass

import pytest
import torch
from helpers import cli, compose_config, metrics, resumed_halfway, same_weights, scalars
from omegaconf import OmegaConf
from torch import nn

from makemore import MakemoreError, checkpoint
from makemore.board import hparam_values
from makemore.config import ModelConfig
from makemore.inference import sample, score
from makemore.models import MODELS, Entry, LanguageModel, register
from makemore.training import final, load_data, run

SMALL = ("steps=6", "eval_interval=3", "sample.count=3", "figures=false")


def tiny(name):
    """Small sizes, so that each model trains in a fraction of a second (its registry entry's)."""
    return [f"model={name}", *MODELS[name].tiny]


@pytest.mark.parametrize("name", list(MODELS))
def test_a_run_resumed_halfway_is_bit_identical_for_every_model(train_run, names_subset, name):
    # a schedule with state that does not depend on `steps`, so that 3 steps resumed to 6 are the first half
    # of 6
    common = [
        *tiny(name),
        f"data.path={names_subset}",
        "scheduler=step",
        "scheduler.milestones=[2]",
        "eval_interval=3",
        "sample.count=5",
        "figures=false",
    ]
    whole, half = resumed_halfway(train_run, common)
    assert same_weights(whole, half)
    assert metrics(whole) | {"seconds": 0} == metrics(half) | {"seconds": 0}
    assert (whole / "samples.txt").read_text() == (half / "samples.txt").read_text()
    assert scalars(whole)["train/loss"] == scalars(half)["train/loss"]
    assert scalars(whole)["val/nll"] == scalars(half)["val/nll"]
    state = torch.load(half / "checkpoint.pt", weights_only=True)
    assert (state["optimizer"] is None) == (name == "counts") and state["step"] == 6


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_samples_and_scores_from_its_checkpoint(train_run, names_subset, name):
    out, _ = train_run(*tiny(name), f"data.path={names_subset}", *SMALL)
    model, vocab, state = checkpoint.load(out / "checkpoint.pt")
    drawn = sample(model, 3, state["config"]["seed"], max_length=state["config"]["sample"]["max_length"])
    assert [vocab.decode(w) for w in drawn] == (out / "samples.txt").read_text().split("\n")[:3]
    emma, qzqz = score(model, vocab, ["emma", "qzqzqz"])
    assert 0 < emma < qzqz


@pytest.mark.slow
def test_each_sequence_model_trains_through_the_cli(tmp_path, names_subset):
    """One sweep over the sequence models at their default sizes, in one process: the imports once."""
    names = ["rnn", "gru", "bow", "transformer"]
    proc = cli(
        "train.py",
        "-m",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"model={','.join(names)}",
        "batch_size=16",
        f"data.path={names_subset}",
        *SMALL,
    )
    assert "3 samples: " in proc.stdout
    for num, name in enumerate(names):
        (folder,) = (tmp_path / "sweep").glob(f"{num}_*model={name},*")
        m = metrics(folder)
        assert "3 samples: " in (folder / "train.log").read_text(), name
        # log 27 = 3.3 at the start
        assert m["steps"] == 6 and all(2 < m[k] < 4 for k in ("train_nll", "val_nll", "test_nll")), name


def test_a_sequence_model_sees_the_longest_word_and_its_end(train_run, names_subset):
    out, _ = train_run(
        *tiny("bow"), f"data.path={names_subset}", "steps=1", "sample.count=0", "figures=false"
    )
    longest = max(len(w) for w in names_subset.read_text().split())
    assert torch.load(out / "checkpoint.pt", weights_only=True)["config"]["model"]["context"] == longest + 1


def test_a_device_that_is_not_there_is_refused(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(MakemoreError) as e:
        run(compose_config("device=cuda"), tmp_path)
    assert "device=cuda" in str(e.value) and "no CUDA device" in str(e.value)


def test_the_device_auto_runs_on_the_cpu_here(train_run, names_subset):
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has a GPU")
    auto, _ = train_run("model=neural", f"data.path={names_subset}", "steps=3", "device=auto", *SMALL[2:])
    cpu, _ = train_run("model=neural", f"data.path={names_subset}", "steps=3", "device=cpu", *SMALL[2:])
    assert same_weights(auto, cpu)


def test_sampling_of_a_sequence_model_stops_at_max_length(train_run, names_subset):
    out, _ = train_run(
        *tiny("rnn"),
        f"data.path={names_subset}",
        "steps=1",
        "sample.count=30",
        "sample.max_length=4",
        "sample.temperature=5",
        "figures=false",
    )
    assert max(len(n) for n in (out / "samples.txt").read_text().split("\n")) <= 4


def test_a_word_longer_than_a_sequence_models_context_is_refused_when_scored(train_run, names_subset):
    out, _ = train_run(
        *tiny("transformer"), f"data.path={names_subset}", "steps=1", "sample.count=0", "figures=false"
    )
    model, vocab, _ = checkpoint.load(out / "checkpoint.pt")
    with pytest.raises(MakemoreError, match="longer than the model sees"):
        score(model, vocab, ["a" * 40])


@pytest.mark.parametrize("name", ["rnn", "transformer"])
def test_a_sequence_model_samples_no_word_longer_than_it_scores(train_run, names_subset, name):
    """Sampling read only the last `context` tokens, and went on past the context: words that score
    refused."""
    out, _ = train_run(
        *tiny(name),
        f"data.path={names_subset}",
        "steps=1",
        "sample.count=30",
        "sample.max_length=100",
        "sample.temperature=5",
        "figures=false",
    )
    model, vocab, _ = checkpoint.load(out / "checkpoint.pt")
    names = (out / "samples.txt").read_text().split()
    assert max(map(len, names)) == model.context - 1 and all(map(math.isfinite, score(model, vocab, names)))


# --- a model added as the README says: a module, a registry entry, a config file ----------------------------


@dataclass
class UnigramConfig(ModelConfig):
    _target_: str = f"{__name__}.Unigram"


class Unigram(LanguageModel):
    """A throwaway model: one logit per token, whatever came before."""

    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        self.logits = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, idx):
        return self.logits.expand(*idx.shape, -1)


@pytest.fixture
def unigram(tmp_path):
    """The registry entry and conf/model/unigram.yaml (in a folder on Hydra's search path): the overrides that
    choose it."""
    register("unigram", Entry(Unigram, UnigramConfig, ("batch_size=16",)))
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "unigram.yaml").write_text(
        "# @package _global_\ndefaults:\n  - /model_schema: unigram\n\ncontext: null\nlr: 0.1\n"
    )
    yield [f"hydra.searchpath=[file://{tmp_path / 'conf'}]", *tiny("unigram")]
    del MODELS["unigram"]


def test_a_new_model_is_a_module_a_registry_entry_and_a_config_file(train_run, names_subset, unigram):
    common = [*unigram, f"data.path={names_subset}", "eval_interval=3", "sample.count=5", "figures=false"]
    whole, half = resumed_halfway(train_run, common)
    assert same_weights(whole, half) and scalars(whole)["train/loss"] == scalars(half)["train/loss"]
    model, vocab, state = checkpoint.load(whole / "checkpoint.pt")
    assert type(model) is Unigram and metrics(whole)["val_nll"] < math.log(len(vocab))  # it learned something
    drawn = sample(model, 5, state["config"]["seed"], max_length=state["config"]["sample"]["max_length"])
    assert [vocab.decode(w) for w in drawn] == (whole / "samples.txt").read_text().split("\n")[:5]
    (nll,) = score(model, vocab, ["emma"])
    assert nll > 0 and hparam_values(compose_config(*unigram))["model"] == "unigram"


@pytest.mark.parametrize("name", ["mlp", "gru"])
def test_the_final_nlls_taken_from_the_last_evaluation_are_those_of_the_saved_model(
    train_run, names_subset, name
):
    """With minibatches, the last step's evaluation computes the train and val splits' NLLs of the final
    model; metrics.json takes them from it rather than again. They equal the splits evaluated anew from the
    checkpoint (BatchNorm's running statistics included)."""
    batchnorm = ["model.batchnorm=true"] if name == "mlp" else []
    out, _ = train_run(
        *tiny(name),
        *batchnorm,
        "batch_size=16",
        f"data.path={names_subset}",
        "sample.count=0",
        "figures=false",
    )
    model, _, state = checkpoint.load(out / "checkpoint.pt")
    cfg = OmegaConf.create(state["config"])  # the run's own, resolved
    _, splits = load_data(cfg)
    anew, _ = final(model, splits, cfg, known={})
    assert {f"{s}_nll": v for s, v in anew.items()} == {
        k: metrics(out)[k] for k in ("train_nll", "val_nll", "test_nll")
    }
