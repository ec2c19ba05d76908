"""Every value that passes validation runs, or is refused first with the reason; memory is estimated before it
is spent, naming the key to change; a checkpoint is checked before it is used."""

import math
import os
import random
import shlex
import signal
import string
import subprocess
import sys

import pytest
import torch
from helpers import NAMES, ROOT, assert_clear_error, cli, compose_config, metrics, new, wait_for

from makemore import MakemoreError, checkpoint, memory
from makemore.data import Vocab
from makemore.models import Neural
from makemore.training import run

HUGE = 10**12  # far past any machine's memory, whatever it has


@pytest.fixture(scope="module")
def names50(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "names50.txt"
    path.write_text("\n".join(NAMES.read_text().splitlines()[:50]) + "\n")
    return path


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """300,000 distinct characters, ten to a line: a bigram table of them fits no machine."""
    path = tmp_path_factory.mktemp("data") / "wide.txt"
    chars = [chr(c) for c in range(0x20000, 0x20000 + 300_000)]
    path.write_text(
        "".join("".join(chars[i : i + 10]) + "\n" for i in range(0, len(chars), 10)), encoding="utf-8"
    )
    return path


def refused(tmp_path, data, *overrides):
    """The message of the MakemoreError a run raises, after checking that it wrote no checkpoint."""
    with pytest.raises(MakemoreError) as e:
        run(compose_config(f"data.path={data}", *overrides), tmp_path)
    assert not (tmp_path / "checkpoint.pt").exists()
    return str(e.value)


# --- values refused, with the reason ------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["seed=18446744073709551616"], ["seed=18446744073709551616", "2**64 - 1", "torch can seed"]),
        (["seed=-1"], ["seed=-1", "torch can seed"]),
        (["data.split_seed=18446744073709551616"], ["data.split_seed=", "torch can seed"]),
        (["data.split_seed=-1"], ["data.split_seed=-1", "torch can seed"]),
        (["threads=1099511627776"], ["threads=1099511627776", "[1, 1024]"]),
        (["model=neural", "reg=1e300"], ["reg=1e+300", "float32 penalty"]),
        (["smoothing=1e301"], ["smoothing=1e+301", "V * smoothing"]),
        (["model=transformer", "model.n_layer=100000"], ["model.n_layer=100000", "<= 1000", "to build"]),
        (["model=transformer", "context=3"], ["context=3", "longest word", "context=null"]),
        (["model=neural", "optimizer.momentum=-1"], ["bad optimizer config", "Invalid momentum value: -1"]),
        (
            ["model=neural", "optimizer.momentum=abc"],
            ["optimizer.momentum=abc", "a number", "conf/optimizer/sgd.yaml"],
        ),
        (["model=mlp", "optimizer.betas=[2,3]"], ["bad optimizer config", "beta", "optimizer.betas=[2, 3]"]),
        (
            ["model=neural", "scheduler=step", "scheduler.milestones=abc"],
            ["scheduler.milestones=abc", "list of numbers"],
        ),
        (["model=neural", "lr=1e300"], ["bad optimizer config", "lr=1e+300", "overflow"]),
        (
            ["model=neural", "optimizer.weight_decay=1e300"],
            ["bad optimizer config", "optimizer.weight_decay=1e+300"],
        ),
    ],
)
def test_a_value_torch_cannot_use_is_refused_before_any_work_naming_it(tmp_path, names50, overrides, words):
    message = refused(tmp_path, names50, *overrides)
    assert all(w in message for w in words), message


@pytest.mark.parametrize(
    "overrides, what, advice",
    [
        (["model=neural", "context=300"], "Neural model's weights", "use a shorter context"),
        (
            ["model=neural", "context=1000000000"],
            "Neural model's weights",
            "use a shorter context",
        ),  # no 27**10**9
        (["model=neural", "context=9"], "W of 1,801,152,661,463 x 23 weights", "use a shorter context"),
        (["context=1000000000"], "windows of 1,000,000,000 tokens", "use a shorter context"),
        (["model=mlp", "context=1000000000"], "MLP model's", "use a shorter context"),
        (["model=bow", "context=1000000000"], "BoW model's", "use a shorter context"),
        (["model=transformer", "model.n_embd=1000000"], "Transformer model's", "use a smaller model.n_embd"),
        (
            ["model=transformer", "model.n_embd=1000000", "model.n_head=1000000"],
            "Transformer model's",
            "use a smaller model (context=10, model.n_embd=1000000, model.n_layer=4, model.n_head=1000000)",
        ),
        (["model=mlp", f"model.n_hidden={HUGE}"], "MLP model's", "use a smaller model.n_hidden"),
        (["model=neural", f"batch_size={HUGE}"], "minibatches", "use a smaller batch_size"),
        (["model=gru", f"batch_size={HUGE}"], "minibatches", "use a smaller batch_size"),
        ([f"sample.count={HUGE}"], "sampled words", "use a smaller sample.count"),
        (["model=transformer", f"sample.count={HUGE}"], "sampled words", "use a smaller sample.count"),
        ([f"sample.max_length={HUGE}"], "sampled words", "use a smaller sample.max_length"),
    ],
)
def test_an_allocation_that_cannot_fit_is_refused_before_it_is_made_naming_the_key(
    tmp_path, names50, overrides, what, advice
):
    message = refused(tmp_path, names50, *overrides)
    assert what in message and message.endswith(advice) and " need " in message, message


@pytest.mark.parametrize("model", ["counts", "neural", "mlp"])
def test_a_vocabulary_too_large_to_hold_is_blamed_on_the_data_not_the_context(tmp_path, wide, model):
    message = refused(tmp_path, wide, f"model={model}", "steps=1")
    assert message.endswith("the data has 300,000 distinct characters (data.path)"), message


def test_a_sequence_model_on_a_large_vocabulary_is_told_the_batch_that_fits(tmp_path, wide):
    """Its evaluation takes as few predictions at once as the vocabulary needs: only a minibatch can be too
    large (evaluation was refused first, blaming the data alone)."""
    message = refused(tmp_path, wide, "model=transformer", "steps=1", "batch_size=1000000")
    assert "minibatches of 1,000,000 examples" in message and message.endswith("use a smaller batch_size"), (
        message
    )


# --- values that run ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=neural", "reg=7.29"],  # the old lazy decay divided by 1 - lr * reg * 2 / 729 = 0
        ["smoothing=1e300"],  # the old code trained, then sampling crashed with no metrics
        ["sample.top_k=1000"],  # more than the vocabulary: every token
        ["eval_interval=1000000000000"],
        ["model=rnn", "context=1000000000"],  # a recurrence only records its context
        *[[f"model={m}", "context=300"] for m in ("counts", "mlp", "gru", "bow", "transformer")],
    ],
)
def test_a_large_value_that_fits_runs_to_the_end(tmp_path, names50, overrides):
    run(
        compose_config(f"data.path={names50}", "steps=3", "sample.count=3", "figures=false", *overrides),
        tmp_path,
    )
    m = metrics(tmp_path)
    assert math.isfinite(m["train_nll"]) and len((tmp_path / "samples.txt").read_text().splitlines()) == 3


def test_huge_smoothing_predicts_uniformly_without_nan(tmp_path, names50):
    run(
        compose_config(f"data.path={names50}", "smoothing=1e300", "sample.count=200", "figures=false"),
        tmp_path,
    )
    V = len(checkpoint.load(tmp_path / "checkpoint.pt")[1])
    assert metrics(tmp_path)["train_nll"] == pytest.approx(math.log(V))


@pytest.mark.slow
def test_steps_of_10_to_the_15_start_at_once_and_stop_on_ctrl_c(tmp_path, names50, started):
    proc = started(
        "train.py",
        f"hydra.run.dir={tmp_path}",
        f"data.path={names50}",
        "model=neural",
        f"steps={10**15}",
        "figures=false",
        stdout=subprocess.DEVNULL,
    )
    wait_for(tmp_path / "checkpoint.pt")  # step 0 is evaluated and saved
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.startswith("error: SIGINT at step"), err


@pytest.mark.slow
def test_the_cli_says_it_in_one_line(tmp_path, names50):
    proc = cli(
        "train.py", f"hydra.run.dir={tmp_path}", f"data.path={names50}", f"sample.count={HUGE}", check=False
    )
    assert_clear_error(proc, "sampled words", "use a smaller sample.count")


# --- what memory there is -------------------------------------------------------------------------------


def under_ulimit(kib, *args):
    """A command of the project run by bash under `ulimit -v` (RLIMIT_AS) of `kib` KiB."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    command = f"ulimit -v {kib} && exec {shlex.join([sys.executable, *args])}"
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def room():
    """A `ulimit -v` that leaves 2 GiB past what a run has mapped once it has imported its libraries (KiB)."""
    mapped = cli(
        "-c",
        "import re, makemore.training; print(re.search(r'VmSize:\\s+(\\d+)', "
        "open('/proc/self/status').read())[1])",
    ).stdout
    return int(mapped) + 2 * 2**20


def test_the_memory_available_is_at_most_what_ulimit_v_leaves(room):
    proc = under_ulimit(room, "-c", "from makemore import memory; print(memory.available())")
    assert float(proc.stdout) <= room * 1024  # MemAvailable alone: all the machine has free


@pytest.mark.slow
def test_a_model_past_ulimit_v_is_refused_in_one_line_not_in_the_allocator(tmp_path, names50, room):
    """MemAvailable alone said there was room: the transformer's weights then died in the allocator."""
    proc = under_ulimit(
        room,
        "train.py",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"data.path={names50}",
        "model=transformer",
        "model.n_embd=2048",
        "steps=2",
    )
    assert_clear_error(
        proc, "Transformer model's", "GiB of memory is available", "use a smaller model.n_embd"
    )


@pytest.mark.slow
def test_a_sequence_model_evaluates_a_large_vocabulary_in_chunks_of_its_size(tmp_path, room):
    """3,000 characters: evaluation took 65,536 predictions at once whatever the vocabulary, whose logits (2.4
    GB at once here) were refused past 2 GiB for every sequence model."""
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    words = ("".join(random.Random(i).choices(chars, k=10)) for i in range(6000))
    (tmp_path / "wide.txt").write_text("".join(f"{w}\n" for w in words), encoding="utf-8")
    proc = under_ulimit(
        room,
        "train.py",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"data.path={tmp_path / 'wide.txt'}",
        "model=transformer",
        "model.n_embd=8",
        "model.n_head=2",
        "model.n_layer=1",
        "batch_size=16",
        "steps=1",
        "sample.count=0",
        "figures=false",
    )
    assert proc.returncode == 0, proc.stderr
    assert math.isfinite(metrics(tmp_path / "run")["val_nll"])


STEP_PEAK = """
import resource, sys, torch
sys.path.insert(0, "tests")
from helpers import compose_config
from makemore import training
cfg = compose_config(
    "data.path={path}", "model=rnn", "batch_size=null", "data.val_fraction=0", "data.test_fraction=0"
)
words, splits = training.load_data(cfg)
cfg.context = int(words.lengths.max()) + 1
model = training.build(cfg, len(words.vocab), torch.device("cpu"))
*_, (need, _, _) = training._pass_memory(cfg, model, splits, trains=True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
training.Trainer(model, cfg).step(model, splits["train"].nll(model))
print(need, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


@pytest.mark.slow
def test_the_memory_a_recurrences_step_on_one_long_word_takes_is_at_most_its_estimate(tmp_path):
    """A one-line file: each character saves a few tiny tensors, whose bookkeeping is most of a step's memory
    (the estimate was a third of it), and x[:, t]'s gradients were each made as large as the word."""
    path = tmp_path / "line.txt"
    path.write_text("".join(random.Random(0).choices(string.ascii_lowercase, k=20_000)) + "\n")
    # a process of its own: its peak
    need, took = map(int, cli("-c", STEP_PEAK.format(path=path)).stdout.split())
    assert took <= need


@pytest.mark.parametrize(
    "files, limit",
    [
        ({}, math.inf),  # none: no limit
        ({"memory.max": "max", "memory.current": "5"}, math.inf),
        (
            {"memory.max": "1000", "memory.current": "300", "job/memory.max": "max"},
            700,
        ),  # a parent's limit holds
        (
            {
                "memory.max": "1000",
                "memory.current": "300",
                "job/memory.max": "500",
                "job/memory.current": "100",
            },
            400,
        ),
        (
            {
                "memory/memory.limit_in_bytes": "9223372036854771712",
                "memory/memory.usage_in_bytes": "1",  # v1: none
                "memory/job/memory.limit_in_bytes": "2000",
                "memory/job/memory.usage_in_bytes": "1500",
            },
            500,
        ),
    ],
)
def test_a_cgroups_limit_is_memory_a_run_cannot_have(tmp_path, files, limit):
    """Read as the kernel lays the files out (a container's limit cannot be set here): v2 at the mount's root,
    v1 under memory/, each cgroup from the process's own up to the root."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    membership = tmp_path / "cgroup"
    membership.write_text("4:memory:/job\n1:cpu:/\n0::/job\n")
    assert memory._cgroups(tmp_path, membership) == limit


# --- checkpoints ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory, names50, finished_run):
    """Neural (SGD) and MLP (AdamW) runs' checkpoints made in-process, and a counts run's made by the CLI
    (conftest's finished_run): (path, state) of each."""
    folders = {"counts": finished_run[0]}
    # the MLP's may take more steps on resume
    for model, schedule in (
        ("neural", "constant"),
        ("mlp", "step"),
    ):
        folders[model] = tmp_path_factory.mktemp(model)
        run(
            compose_config(
                f"data.path={names50}",
                f"model={model}",
                f"scheduler={schedule}",
                "steps=3",
                "sample.count=0",
                "figures=false",
            ),
            folders[model],
        )
    return {
        name: (folder / "checkpoint.pt", torch.load(folder / "checkpoint.pt", weights_only=True))
        for name, folder in folders.items()
    }


def damaged(tmp_path, trained, damage, model="neural"):
    """A copy of a good checkpoint, changed in place by damage(state), or replaced by what it returns."""
    state = torch.load(trained[model][0], weights_only=True)
    replaced = damage(state)
    path = tmp_path / "checkpoint.pt"
    torch.save(state if replaced is None else replaced, path)
    return path


def put(*path, value):
    def damage(state):
        for key in path[:-1]:
            state = state[key]
        state[path[-1]] = value

    return damage


def drop(*path):
    def damage(state):
        for key in path[:-1]:
            state = state[key]
        del state[path[-1]]

    return damage


def change(*path, how):
    """Damage that calls how(value) on the value at path, and stores what it returns."""

    def damage(state):
        for key in path[:-1]:
            state = state[key]
        state[path[-1]] = how(state[path[-1]])

    return damage


def make_huge(state):  # a neural model of context 12: 27**12 x 27 weights, 1.6e16 bytes
    for node in (state["config"], state["config"]["model"]):
        node["context"] = 12


def reg_out_of_range(state):
    state["config"]["reg"] = -1.0


DAMAGES = {  # name: (damage, model, words of the message)
    "bare tensor": (
        lambda state: torch.zeros(3),
        "neural",
        ["its content is a tensor of shape (3,), not a dict"],
    ),
    **{
        f"no {k}": (drop(k), "neural", [f"it has no {k!r}"])
        for k in ("config", "step", "rng", "itos", "state_dict", "optimizer", "scheduler")
    },
    "step abc": (put("step", value="abc"), "neural", ["step is 'abc', not an integer"]),
    "step past steps": (put("step", value=4), "neural", ["step is 4, not at most the run's steps=3"]),
    "config a list": (put("config", value=[1]), "neural", ["config is [1], not a dict"]),
    "seed 2**70": (
        put("config", "seed", value=2**70),
        "neural",
        ["bad config value seed=1180591620717411303424"],
    ),
    "seed abc": (put("config", "seed", value="abc"), "neural", ["its config", "'abc'", "seed"]),
    "no seed": (drop("config", "seed"), "neural", ["its config has no seed"]),
    "itos without end": (
        put("itos", value=["a", "b"]),
        "neural",
        ["itos is ['a', 'b'], not a list of distinct"],
    ),
    "model unknown": (
        put("config", "model", "_target_", value="os.system"),
        "neural",
        ["config's model._target_ is 'os.system', not one of makemore.models.Counts"],
    ),
    "model a list": (put("config", "model", value=[]), "neural", ["config's model is [], not a dict"]),
    "model key unknown": (put("config", "model", "n_embd", value=5), "neural", ["its config", "n_embd"]),
    "reg out of range": (reg_out_of_range, "neural", ["its config: bad config value reg=-1.0"]),
    "model huge": (make_huge, "neural", ["holds a neural model whose weights need about", "more memory"]),
    "state_dict a number": (put("state_dict", value=5), "neural", ["state_dict is 5, not a dict of tensors"]),
    "weights nan": (
        change("state_dict", "W", how=lambda W: W.fill_(math.nan)),
        "neural",
        ["state_dict['W'] holds nan or inf"],
    ),
    "weights misshapen": (
        put("state_dict", "W", value=torch.zeros(3, 3)),
        "neural",
        ["state_dict does not fit its config's model", "size mismatch for W"],
    ),
    "weights missing": (lambda state: state["state_dict"].clear(), "neural", ["Missing key(s)", "W"]),
    "rng not a state": (
        put("rng", value=torch.zeros(3, dtype=torch.uint8)),
        "neural",
        ["not a generator's state"],
    ),
    "optimizer text": (
        put("optimizer", value="abc"),
        "neural",
        ["optimizer is 'abc', not null or a state dict"],
    ),
    "counts negative": (change("state_dict", "N", how=lambda N: N - 3), "counts", ["holds a negative count"]),
    "counts nan": (
        change("state_dict", "N", how=lambda N: N.double().fill_(math.nan)),
        "counts",
        ["state_dict['N'] holds nan or inf"],
    ),
    "counts rows": (
        change("state_dict", "N", how=lambda N: N[:2]),
        "counts",
        ["windows (X) but 2 rows of counts (N)"],
    ),
}


@pytest.mark.parametrize("name", list(DAMAGES))
def test_a_checkpoint_is_checked_before_use(tmp_path, trained, name):
    damage, model, words = DAMAGES[name]
    path = damaged(tmp_path, trained, damage, model)
    with pytest.raises(MakemoreError) as e:
        checkpoint.load(path)
    message = str(e.value)
    assert message.startswith(f"checkpoint {str(path)!r}") and "\n" not in message, message
    assert all(w in message for w in words), message


@pytest.mark.slow  # a tool's one line for a MakemoreError is not slow in test_tools (a missing checkpoint)
@pytest.mark.parametrize("name", ["model huge"])  # the one line of every damage above, as test_faults' too
def test_the_sample_command_names_a_damaged_checkpoint_in_one_line(tmp_path, trained, name):
    damage, model, words = DAMAGES[name]
    path = damaged(tmp_path, trained, damage, model)
    assert_clear_error(cli("-m", "makemore.sample", f"checkpoint={path}", check=False), str(path), *words)


@pytest.mark.parametrize(
    "damage, words",
    [
        (put("optimizer", value={}), ["cannot continue this run", "optimizer or schedule"]),
        (put("optimizer", value=None), ["optimizer is None, not the state of a SGD"]),
        (
            put("scheduler", "last_epoch", value=10**9),
            ["last_epoch is 1000000000, not the checkpoint's step"],
        ),
        (put("scheduler", "base_lrs", value="abc"), ["scheduler['base_lrs'] is 'abc', not a list"]),
    ],
)
def test_resuming_from_a_damaged_training_state_is_refused_before_any_step(
    tmp_path, trained, names50, damage, words
):
    path = damaged(tmp_path, trained, damage)
    cfg = compose_config(
        f"data.path={names50}", "model=neural", "steps=3", "sample.count=0", "figures=false", f"resume={path}"
    )
    with pytest.raises(MakemoreError) as e:
        run(cfg, tmp_path / "unused")
    assert all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.parametrize("step", [torch.tensor(-1.0), torch.tensor(1.5), -3, torch.tensor(4.0)])
def test_resuming_from_an_optimizer_state_with_a_step_it_cannot_have_taken_is_refused(
    tmp_path, trained, names50, step
):
    # AdamW's step, a power in its bias corrections: a negative one made a ComplexFloat traceback
    def damage(
        state,
    ):
        for moments in state["optimizer"]["state"].values():
            moments["step"] = step

    path = damaged(tmp_path, trained, damage, "mlp")
    cfg = compose_config(
        f"data.path={names50}",
        "model=mlp",
        "scheduler=step",
        "steps=6",
        "sample.count=0",
        "figures=false",
        f"resume={path}",
    )
    with pytest.raises(
        MakemoreError,
        match=r"cannot continue this run: optimizer's step is .*, not an integer in "
        r"\[0, 3\]",
    ):
        run(cfg, tmp_path / "unused")


def test_a_large_checkpoint_is_written_straight_into_its_file_whole(tmp_path):
    """Serialized in memory first, a checkpoint was one more copy of the weights and moments at training's
    peak."""
    model = new(Neural, 30, context=4)  # 30**5 weights: past memory.SMALL
    assert model.W.nbytes > memory.SMALL
    checkpoint.save(
        tmp_path / "checkpoint.pt", model, Vocab([".", *map(chr, range(97, 126))]), {"model": {}}, 0, {}
    )
    assert torch.equal(torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state_dict"]["W"], model.W)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_the_neural_state_dict_holds_the_models_true_weights(trained):
    path, state = trained["neural"]
    model, vocab, _ = checkpoint.load(path)
    ids = torch.arange(len(vocab))[None, :]
    assert torch.equal(model(ids)[0], state["state_dict"]["W"][ids[0]])
