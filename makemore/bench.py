"""Benchmarks: what a user waits for, measured side by side in one process run, as ratios. Each mode prints
its tables and writes them into its own section of docs/benchmarks.md, leaving the other sections as they are.

    python -m makemore.bench            # names.txt: counting, steps (bare and inside a real run), sampling,
                                        # start-up, a 20-job sweep
    python -m makemore.bench --models   # each default run: parameters, NLLs, time, time to a loss
    python -m makemore.bench --contexts # counts and mlp at contexts 3, 5 and 8: val NLL and peak memory
    python -m makemore.bench --scale    # 1M and 10M line files: whole runs, their passes, peak memory
    python -m makemore.bench --makemore path/to/makemore.py   # its step beside ours, at its own settings
    python -m makemore.bench --references [path/to/makemore.py]   # the lecture's recipes and makemore.py's
                                        # models, each run beside ours: time to their loss
    python -m makemore.bench --lectures 3 5   # the loss logs of makemore parts 3 and 5, each one sweep

Timings are medians of repeats; the machine may be shared, so read the ratios, which are measured side by
side.
"""

import argparse
import datetime
import functools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from makemore import checkpoint, signals
from makemore.batches import Split
from makemore.data import read_words, split
from makemore.inference import sample_batched, sample_one_by_one
from makemore.models import MODELS, Counts, CountsConfig

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "data" / "names.txt"
TRAIN = [sys.executable, "train.py", "figures=false", "sample.count=0"]
DOC = ROOT / "docs" / "benchmarks.md"


def timed(f, repeat):
    """Median seconds of `repeat` calls of f, after one call to warm up (allocator, caches)."""
    f()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def walls(cmds, repeat=3):
    """Median wall seconds of each command, run in turn so that a busy moment of the machine hits all alike;
    "{tmp}" in an argument becomes a fresh folder."""
    times = {name: [] for name in cmds}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for name, cmd in cmds.items():
                args = [a.format(tmp=f"{tmp}/{i}-{len(times[name])}-{abs(hash(name))}") for a in cmd]
                start = time.perf_counter()
                subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def table(rows, header):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def machine():
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in open("/proc/cpuinfo")
                if line.startswith("model name")
            ),
            "?",
        )
        if os.path.exists("/proc/cpuinfo")
        else platform.processor()
    )
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, torch {torch.__version__}"


def publish(section, command, blocks):
    """Print each block as it is measured, then write them all between the section's markers in
    docs/benchmarks.md, with the command and the machine: the text around the markers explains them and is
    kept as it is."""
    head = f"`{command}` on {machine()}, {datetime.date.today()}:"
    print(head + "\n", flush=True)
    measured = []
    for block in blocks:
        print(block + "\n", flush=True)
        measured.append(block)
    start, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if start not in text:
        text += f"\n## {section}\n\n{start}\n{end}\n"
    before, rest = text.split(start, 1)
    DOC.write_text(
        before + "\n\n".join([start + "\n" + head, *measured]) + "\n" + end + rest.split(end, 1)[1]
    )


def names_split(part=0):
    words = read_words(NAMES)
    labels = split(len(words), 0.1, 0.1, 42)
    return Split(
        words.ids[np.repeat(labels == part, words.lengths)], words.lengths[labels == part], len(words.vocab)
    )


# --- the lecture's ways -------------------------------------------------------------------------------------


def lecture_counts(path):
    """The lecture's loop: one tensor update per bigram."""
    words = open(path).read().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)} | {".": 0}
    N = torch.zeros((len(stoi), len(stoi)), dtype=torch.int32)
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    return N


def lecture_step(xs, ys, W):
    """One step of the lecture's one-hot training over every example, as its loop does it (the one-hot
    encoding is part of its forward pass)."""
    xenc = F.one_hot(xs, num_classes=27).float()
    probs = (xenc @ W).exp()
    probs = probs / probs.sum(1, keepdims=True)
    loss = -probs[torch.arange(len(ys)), ys].log().mean() + 0.01 * (W**2).mean()
    W.grad = None
    loss.backward()
    W.data += -50 * W.grad


# --- the lecture's recipes, as its notebooks train them -----------------------------------------------------


def lecture_batchnorm(x, gain, bias, running, training, momentum, std):
    """The lecture's BatchNorm over every dimension but the last: the batch's statistics in training, which
    move the running ones by `momentum`; the running ones in evaluation. Part 3 divides by the standard
    deviation, part 5 by sqrt(variance + 1e-5)."""
    if training:
        dims = tuple(range(x.dim() - 1))
        mean, spread = x.mean(dims), x.std(dims) if std else (x.var(dims) + 1e-5).sqrt()
        with torch.no_grad():
            running[0].lerp_(mean, momentum)
            running[1].lerp_(spread, momentum)
    else:
        mean, spread = running
    return gain * (x - mean) / spread + bias


def part3_net(V, g):
    """Makemore part 3's BatchNorm MLP: 10 numbers per character, context 3, 200 tanh units, the output layer
    scaled by 0.01, Kaiming's tanh gain on the hidden layer (12,097 parameters)."""
    n_embd, n_hidden, context = 10, 200, 3
    C = torch.randn((V, n_embd), generator=g)
    W1 = torch.randn((context * n_embd, n_hidden), generator=g) * (5 / 3) / (context * n_embd) ** 0.5
    W2, b2 = torch.randn((n_hidden, V), generator=g) * 0.01, torch.zeros(V)
    gain, bias, running = (
        torch.ones(n_hidden),
        torch.zeros(n_hidden),
        (torch.zeros(n_hidden), torch.ones(n_hidden)),
    )

    def forward(X, training):
        h = lecture_batchnorm(C[X].flatten(1) @ W1, gain, bias, running, training, 0.001, std=True)
        return h.tanh() @ W2 + b2

    return context, [C, W1, W2, b2, gain, bias], forward


def part5_net(V, g):
    """Makemore part 5's hierarchical WaveNet: 24 numbers per character, context 8 fused two at a time in
    three stages of 128 units (Linear without bias, BatchNorm over batch and time, tanh), the output layer's
    weights scaled by 0.1 (76,579 parameters)."""
    n_embd, n_hidden, context = 24, 128, 8
    C, stages, width = torch.randn((V, n_embd), generator=g), [], 2 * n_embd
    for _ in range(3):
        W = torch.randn((width, n_hidden), generator=g) / width**0.5
        stages.append(
            (W, torch.ones(n_hidden), torch.zeros(n_hidden), (torch.zeros(n_hidden), torch.ones(n_hidden)))
        )
        width = 2 * n_hidden
    W_out, b_out = torch.randn((n_hidden, V), generator=g) / n_hidden**0.5 * 0.1, torch.zeros(V)

    def forward(X, training):
        x = C[X]
        for W, gain, bias, running in stages:
            x = x.reshape(len(x), x.shape[1] // 2, -1) @ W  # two neighbours side by side, then the layer
            x = lecture_batchnorm(x, gain, bias, running, training, 0.1, std=False).tanh()
        return x[:, 0] @ W_out + b_out

    params = [C, *(p for W, gain, bias, _ in stages for p in (W, gain, bias)), W_out, b_out]
    return context, params, forward


def lecture_recipe(net, steps=200_000, batch=32, seed=2147483647):
    """The lecture's training loop on this project's split of names.txt, on one thread: minibatches of 32
    drawn with torch.randint, plain SGD by hand at lr 0.1, then 0.01 for the last quarter of the steps.
    Returns the loop's seconds and the final train and val NLL (BatchNorm on its running statistics)."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    context, params, forward = net(27, g)
    for p in params:
        p.requires_grad_(True)
    train, val = (s.windows(np.arange(s.total), context) for s in (names_split(0), names_split(1)))
    losses = []
    start = time.perf_counter()
    for i in range(steps):
        ix = torch.randint(0, len(train.X), (batch,), generator=g)
        loss = F.cross_entropy(forward(train.X[ix], True), train.Y[ix, 0])
        for p in params:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < steps * 3 // 4 else 0.01
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())  # the notebook keeps every step's loss for its plot
    seconds = time.perf_counter() - start
    with torch.no_grad():
        return seconds, [F.cross_entropy(forward(s.X, False), s.Y[:, 0]).item() for s in (train, val)]


# --- a step, bare and inside a real run ---------------------------------------------------------------------


def bare_step(overrides, repeat=200):
    """Seconds of one training step alone, as the run does it (batch, loss, backward, optimizer, schedule),
    with the config that `python train.py <overrides>` composes, on the training names."""
    from hydra import compose, initialize_config_dir

    from makemore.training import Trainer, build

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[*overrides, "steps=100000000"])
    # as the run does (1): more threads would make the bare step look faster
    torch.set_num_threads(cfg.threads)
    train = names_split()
    if cfg.context is None:
        cfg.context = int(read_words(NAMES).lengths.max()) + 1
    model = build(cfg, 27, torch.device("cpu"))
    model.fit(train)
    trainer = Trainer(model, cfg)

    def step():  # as training.descend takes one
        trainer.step(model, model.penalized(trainer.nll(model, train), cfg.reg))

    return timed(step, repeat)


@functools.cache
def in_run_step(overrides, steps):
    """Seconds a step costs inside `python train.py <overrides>`, as a user waits for it: the difference
    between whole runs of steps + 1 and of 1 step, over `steps` (evaluations, checkpoints and logging
    included). A whole command varies by some 0.2 s from one run to the next here: five of each. `overrides`:
    a tuple (measured once a process)."""
    t = walls(
        {n: [*TRAIN, "hydra.run.dir={tmp}", *overrides, f"steps={n}"] for n in (1, steps + 1)}, repeat=5
    )
    return (t[steps + 1] - t[1]) / steps


STEPS = {  # (what, overrides, steps for the in-run difference, repeats of the bare step)
    "neural": ("neural bigram, full batch", ["model=neural"], 5000, 500),
    "neural-mini": ("neural bigram, minibatches of 32", ["model=neural", "batch_size=32"], 3000, 500),
    "mlp": ("mlp, full batch (5,439 windows)", ["model=mlp"], 200, 30),
    # diagnostics=true at the default eval_interval: the goal is at most 1.5x the step without them
    "mlp-diagnostics": ("mlp, full batch, diagnostics=true", ["model=mlp", "diagnostics=true"], 200, 30),
    "mlp-batchnorm": ("mlp with BatchNorm, full batch", ["model=mlp", "model.batchnorm=true"], 200, 30),
    "mlp-batchnorm-diagnostics": (
        "mlp with BatchNorm, full batch, diagnostics=true",
        ["model=mlp", "model.batchnorm=true", "diagnostics=true"],
        200,
        30,
    ),
    # an evaluation of the mlp (some 4,000 distinct validation windows) costs three steps of 32: every 100
    # steps
    "mlp-mini": (
        "mlp, minibatches of 32, evaluated every 100 steps",
        ["model=mlp", "batch_size=32", "eval_interval=100"],
        2000,
        300,
    ),
    # the sequence models' default runs (their evaluations, every 250 steps, included); the transformer's
    # first 250
    "rnn": ("rnn, 128 words", ["model=rnn"], 1000, 30),
    "gru": ("gru, 128 words", ["model=gru"], 1000, 30),
    "bow": ("bow, 128 words", ["model=bow"], 1000, 30),
    "transformer": ("transformer, 128 words", ["model=transformer"], 250, 20),
}


def steps_table(which):
    rows = []
    for key in which:
        what, overrides, n, repeat = STEPS[key]
        bare, run = bare_step(overrides, repeat), in_run_step(tuple(overrides), n)
        rows.append((what, f"{bare * 1e3:.3f} ms", f"{run * 1e3:.3f} ms", f"{run / bare:.2f}x"))
    return table(rows, ["step", "bare step", "in a real run", "in-run / bare"])


def sweep_overhead(jobs=20, steps=100):
    """What each job of a basic-launcher sweep costs beyond its own training steps."""
    seeds = ",".join(str(s) for s in range(1, jobs + 1))
    common = ["model=neural", f"steps={steps}"]
    t = walls(
        {
            "one": [*TRAIN, "hydra.run.dir={tmp}", *common],
            "sweep": [*TRAIN[:2], "-m", *TRAIN[2:], "hydra.sweep.dir={tmp}", *common, f"seed={seeds}"],
        },
        repeat=2,
    )
    per_job = (t["sweep"] - t["one"]) / (jobs - 1)
    step = in_run_step(("model=neural",), 5000)
    return t, per_job, per_job - steps * step


def hydra_composition(repeat=10):
    """Seconds Hydra takes to compose a job's config with its own `hydra` node, as its basic sweeper does for
    every job before launching any (to catch a bad override early) and its basic launcher does again to run
    it: for this project's config, and for a config of one key (what Hydra costs whatever the config)."""
    from hydra import compose, initialize_config_dir

    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.yaml").write_text("a: 1\n")
        for name, folder, overrides in (
            ("ours", ROOT / "conf", ["model=neural", "seed=3"]),
            ("one key", tmp, ["a=2"]),
        ):
            with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
                times[name] = timed(
                    lambda: compose("config", overrides=overrides, return_hydra_config=True), repeat
                )
    return times


def speed(quick=False):
    torch.set_num_threads(1)
    rows = []
    t_ref, t_ours = timed(lambda: lecture_counts(NAMES), 3), timed(lambda: names_split().counted(1), 5)
    rows.append(
        ("bigram counts of names.txt (read, encode, count)", "the lecture's Python loop", t_ref, t_ours)
    )

    words = read_words(NAMES)
    whole = Split(words.ids, words.lengths, 27)
    xs, ys = (
        whole.windows(np.arange(whole.total), 1).X[:, 0],
        whole.windows(np.arange(whole.total), 1).Y[:, 0],
    )
    W = torch.randn((27, 27), generator=torch.Generator().manual_seed(1), requires_grad=True)
    t_ref = timed(lambda: lecture_step(xs, ys, W), 10)
    t_bare = bare_step(["model=neural"], 500)
    t_run = in_run_step(("model=neural",), 5000)
    rows.append(
        ("one full-batch step of the neural bigram, bare", "the lecture's one-hot step", t_ref, t_bare)
    )
    rows.append(
        ("the same step inside `python train.py model=neural`", "the lecture's one-hot step", t_ref, t_run)
    )

    counts = Counts(CountsConfig(context=1, smoothing=1.0), 27)
    counts.fit(whole)
    t_ref = timed(lambda: sample_one_by_one(counts, 10_000, 1), 3)
    t_ours = timed(lambda: sample_batched(counts, 10_000, 1), 5)
    rows.append(("sampling 10,000 names", "one at a time", t_ref, t_ours))
    yield table(
        [
            (what, ref, f"{a * 1e3:.2f} ms", f"{b * 1e3:.3f} ms", f"{a / b:.0f}x faster")
            for what, ref, a, b in rows
        ],
        ["what", "reference", "reference time", "makemore time", "ratio"],
    )

    # The floor a user cannot avoid: the imports, and for a model trained by gradient one torch.optim
    # optimizer (the run's SGD), whose first use imports torch._dynamo. Five of each: a whole command varies
    # here. The floor imports as train.py does (no garbage collection while it imports, what it imported
    # frozen), so that the ratio counts only what the command does beyond it.
    imports = "import torch, hydra, tensorboard"
    collector = ("import gc; gc.disable(); ", "; gc.freeze(); gc.enable()")
    optimizer = (
        "; w = torch.zeros(1, requires_grad=True); o = torch.optim.SGD([w]); w.sum().backward(); o.step()"
    )
    t = walls(
        {
            "imports": [sys.executable, "-c", imports.join(collector)],
            "optimizer": [sys.executable, "-c", imports.join(collector) + optimizer],
            "counts": [sys.executable, "train.py", "hydra.run.dir={tmp}"],
            "neural": [sys.executable, "train.py", "model=neural", "hydra.run.dir={tmp}"],
        },
        repeat=5,
    )
    yield table(
        [
            (
                f"`python train.py{args}` (100 steps, TensorBoard, checkpoint, samples, heatmap)",
                what,
                f"{t[floor] * 1e3:.0f} ms",
                f"{t[k] * 1e3:.0f} ms",
                f"{t[k] / t[floor]:.2f}x",
            )
            for k, args, floor, what in (
                ("counts", "", "imports", f"`{imports}`"),
                ("neural", " model=neural", "optimizer", "the same, and one `torch.optim.SGD` step"),
            )
        ],
        ["whole command", "floor", "floor time", "command time", "ratio"],
    )

    yield steps_table(["neural", "neural-mini", "mlp", "mlp-diagnostics"] if quick else list(STEPS))
    with_, without = (in_run_step(tuple(STEPS[k][1]), STEPS[k][2]) for k in ("mlp-diagnostics", "mlp"))
    yield (
        f"`diagnostics=true` makes the mlp's in-run step {with_ / without:.2f}x the step without (at the "
        f"default eval_interval; the goal is at most 1.5x)."
    )
    t, per_job, overhead = sweep_overhead()
    compose = hydra_composition()
    yield (
        f"A sweep of 20 neural jobs of 100 steps (basic launcher) took {t['sweep']:.1f} s, one such run "
        f"{t['one']:.1f} s: each job beyond the first {per_job:.3f} s, of which {overhead:.3f} s is not its "
        f"steps. Hydra composes each job's config twice (its sweeper checks every job first, its launcher "
        f"composes it again): 2 x {compose['ours']:.3f} s, where a config of one key takes "
        f"{compose['one key']:.3f} s."
    )


# --- every model's default run ------------------------------------------------------------------------------


def first_below(folder, target):
    """Seconds from the run's first logged step to its first val/nll at or below `target` (from
    TensorBoard)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    start = acc.Scalars("train/loss")[0].wall_time
    return (
        next((e.wall_time - start, e.step) for e in acc.Scalars("val/nll") if e.value <= target)
        if any(e.value <= target for e in acc.Scalars("val/nll"))
        else (None, None)
    )


def default_run(overrides, out):
    """`python train.py <overrides>` into the folder `out`, no heatmap, no samples: its wall seconds (start-up
    included) and its metrics.json."""
    start = time.perf_counter()
    done = subprocess.run(
        [*TRAIN, *overrides, f"hydra.run.dir={out}"], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"error: python train.py {' '.join(overrides)} failed: {done.stderr.strip()}")
    return time.perf_counter() - start, json.loads((Path(out) / "metrics.json").read_text())


def reached(folder, target):
    """When the run in `folder` first reached val NLL `target`, as a table's cell."""
    seconds, step = first_below(folder, target)
    return f"{seconds:.1f} s (step {step})" if seconds is not None else "not reached"


def models(names=tuple(MODELS)):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / name
            wall, m = default_run([f"model={name}"], out)
            model, _, _ = checkpoint.load(out / "checkpoint.pt")
            params = sum(p.numel() for p in model.parameters())  # not the buffers: counts, running statistics
            target = MODELS[name].target
            rows.append(
                (
                    f"`python train.py model={name}`",
                    f"{params:,}",
                    f"{m['train_nll']:.4f}",
                    f"{m['val_nll']:.4f}",
                    f"{m['test_nll']:.4f}",
                    f"{wall:.1f} s",
                    f"{target}: {reached(out, target)}" if target is not None else "",
                )
            )
    yield table(
        rows,
        [
            "command",
            "parameters",
            "train NLL",
            "val NLL",
            "test NLL",
            "whole run",
            "time to the target val NLL",
        ],
    )


def contexts(lengths=(3, 5, 8)):
    """The counts model (smoothing 0.1, its best at context 3) beside the mlp at longer contexts: val NLL, and
    the peak resident memory of the whole run."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for context in lengths:
            row = [str(context)]
            for model in ("counts smoothing=0.1", "mlp"):
                out = Path(tmp) / f"{context}_{model.split()[0]}"
                _, mb = run_measured(
                    [*TRAIN, *f"model={model}".split(), f"context={context}", f"hydra.run.dir={out}"]
                )
                row += [f"{json.loads((out / 'metrics.json').read_text())['val_nll']:.4f}", f"{mb:.0f} MB"]
            rows.append(row)
    yield table(rows, ["context", "counts val NLL", "counts peak memory", "mlp val NLL", "mlp peak memory"])


# --- the lectures' logs -------------------------------------------------------------------------------------

# The rows of a lecture's log, in its order: the row's name in conf/lecture<N>/, what it adds, and the train
# and val NLL its notebook prints (on its own split of names.txt, by random.shuffle with seed 42).
LECTURES = {
    3: (
        ("original", "no fix: every weight from N(0, 1)", "2.1245 / 2.1682"),
        ("softmax", "+ the last layer scaled down at init", "2.07 / 2.13"),
        ("tanh", "+ tanh not saturated: the hidden layer times 0.2", "2.0356 / 2.1027"),
        ("kaiming", "+ Kaiming's gain in place of 0.2", "2.0377 / 2.1070"),
        ("batchnorm", "+ BatchNorm (the final MLP prints 2.0674 / 2.1057)", "2.0668 / 2.1048"),
    ),
    5: (
        ("context3", "the BatchNorm MLP, context 3", "2.058 / 2.105"),
        ("flat", "the same MLP at context 8", "1.918 / 2.027"),
        ("hierarchical", "the tree of part 5 (n_embd 10, n_hidden 68)", "1.941 / 2.029"),
        ("scaled", "the tree scaled up (n_embd 24, n_hidden 128)", "1.769 / 1.993"),
    ),
}


def lectures(which=(3, 5), overrides=()):
    """`python train.py -m experiment=lecture<N>`, the lecture's log as one sweep: each job's NLLs on this
    project's split beside the notebook's. `overrides`: added to every job (the tests' small runs)."""
    for n in which:
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                *TRAIN[:2],
                "-m",
                *TRAIN[2:],
                f"experiment=lecture{n}",
                f"hydra.sweep.dir={tmp}",
                *overrides,
            ]
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            for job, (row, what, notebook) in enumerate(LECTURES[n]):
                (folder,) = Path(tmp).glob(f"{job}_*")
                assert f"lecture{n}={row}" in (folder / ".hydra" / "overrides.yaml").read_text(), folder
                m = json.loads((folder / "metrics.json").read_text())
                model, _, _ = checkpoint.load(folder / "checkpoint.pt")
                rows.append(
                    (
                        f"`lecture{n}={row}`",
                        what,
                        f"{sum(p.numel() for p in model.parameters()):,}",
                        f"{m['train_nll']:.4f} / {m['val_nll']:.4f}",
                        notebook,
                        f"{m['seconds']:.0f} s",
                    )
                )
        yield table(
            rows,
            ["job", "what", "parameters", "train / val NLL", "the notebook's train / val", "training time"],
        )


# --- makemore.py beside us ----------------------------------------------------------------------------------


def run_makemore(path, kind, steps):
    """A whole run of makemore.py (its own settings, one thread, its data loaded in the training process): its
    wall seconds and what it printed."""
    env = os.environ | {"OMP_NUM_THREADS": "1"}  # one thread, as every run here
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                str(path),
                "-i",
                str(NAMES),
                "-o",
                tmp,
                "--type",
                kind,
                "--max-steps",
                str(steps),
            ]
            + ["--num-workers", "0"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    return time.perf_counter() - start, out


def makemore_py(path, steps=200):
    """makemore.py's step time at its defaults (it prints one every 10 steps), and ours at the same
    settings."""
    rows = []
    for kind in ("transformer", "gru"):
        _, out = run_makemore(path, kind, steps)
        theirs = statistics.median(float(ms) for ms in re.findall(r"step time ([\d.]+)ms", out)[2:]) / 1e3
        settings = [f"model={kind}", "batch_size=32", "lr=5e-4", "scheduler=constant"]
        ours = in_run_step(tuple(settings), steps)
        rows.append((kind, f"{theirs * 1e3:.1f} ms", f"{ours * 1e3:.1f} ms", f"{ours / theirs:.2f}x"))
    yield table(
        rows,
        [
            "model (batch 32, AdamW lr 5e-4)",
            "makemore.py step",
            "makemore step in a real run",
            "ours / theirs",
        ],
    )


# --- the references: the lecture's recipes and makemore.py, each run beside ours ----------------------------

# our command's overrides: the lecture's recipe it is measured against, its net, the val NLL, and the goal (at
# most this share of the recipe's time)
LECTURE = {
    "mlp": (["model=mlp", "model.batchnorm=true"], "part 3, the BatchNorm MLP", part3_net, 2.10, 0.1),
    "wavenet": (["model=wavenet"], "part 5, the hierarchical WaveNet", part5_net, 1.995, 0.25),
}
MAKEMORE_STEPS = 4000
MAKEMORE_MODELS = ("transformer", "gru", "mlp", "rnn", "bow")
GOAL = 0.5  # every model at least twice as fast as makemore.py


def references(path=None):
    """Each reference run, then ours beside it, in turn: the lecture's recipes (their loops' time beside ours
    to the loss), then makemore.py's models at its settings (whole runs beside whole runs)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (overrides, what, net, target, goal) in LECTURE.items():
            seconds, (train, val) = lecture_recipe(net)
            out = Path(tmp) / f"lecture-{name}"
            wall, m = default_run(overrides, out)
            to_target, _ = first_below(out, target)
            rows.append(
                (
                    f"`python train.py {' '.join(overrides)}`",
                    what,
                    f"{seconds:.1f} s",
                    f"{train:.4f} / {val:.4f}",
                    f"{target:.3f}",
                    reached(out, target),
                    f"{wall:.1f} s",
                    f"{m['val_nll']:.4f}",
                    f"{to_target / seconds:.3f}x" if to_target is not None else "",
                    f"<= {goal}x",
                )
            )
        yield table(
            rows,
            [
                "command",
                "the lecture's recipe",
                "its loop",
                "its train / val NLL",
                "val NLL",
                "ours: time to it",
                "our whole run",
                "our val NLL",
                "time to it / its loop",
                "goal",
            ],
        )
        if path is None:
            yield "makemore.py was not given: `--references path/to/makemore.py` adds it."
            return
        rows = []
        for kind in MAKEMORE_MODELS:
            theirs, printed = run_makemore(path, kind, MAKEMORE_STEPS)
            step, loss = re.findall(r"step (\d+) train loss: [\d.]+ test loss: ([\d.]+)", printed)[-1]
            loss = float(loss)
            out = Path(tmp) / f"makemore-{kind}"
            wall, m = default_run([f"model={kind}"], out)
            rows.append(
                (
                    f"`python train.py model={kind}`",
                    f"{theirs:.1f} s",
                    f"{loss:.4f} (step {step})",
                    reached(out, loss),
                    f"{wall:.1f} s",
                    f"{m['val_nll']:.4f}",
                    f"{wall / theirs:.2f}x" if m["val_nll"] <= loss else "its loss not reached",
                    f"<= {GOAL}x",
                )
            )
        yield table(
            rows,
            [
                "command",
                f"makemore.py, {MAKEMORE_STEPS:,} steps: whole run",
                "its test loss (its own split)",
                "ours: time to it",
                "our whole run",
                "our val NLL",
                "whole run / its whole run",
                "goal",
            ],
        )


# --- large files --------------------------------------------------------------------------------------------


def make_data(n, path, seed=0):
    """A data set of n lines drawn with replacement from names.txt."""
    names = np.array(NAMES.read_text().split())
    picks = names[np.random.default_rng(seed).integers(0, len(names), n)]
    path.write_text("\n".join(picks) + "\n")


def run_measured(args):
    """Wall seconds and peak resident memory (MB) of one command, from the kernel's accounting of the
    child."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=ROOT, check=True, capture_output=True, text=True
    )
    seconds, kb = out.stdout.split()
    return float(seconds), int(kb) / 1024


def scale():
    torch.set_num_threads(1)
    rows, passes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000_000, 10_000_000):
            path = Path(tmp) / f"names_{n}.txt"
            make_data(n, path)
            for model in ("counts", "neural"):
                seconds, mb = run_measured(
                    [
                        sys.executable,
                        "train.py",
                        f"model={model}",
                        f"data.path={path}",
                        f"hydra.run.dir={tmp}/run_{n}_{model}",
                    ]
                )
                rows.append((f"{n:,}", model, f"{seconds:.1f} s", f"{mb:.0f} MB"))
            start = time.perf_counter()
            words = read_words(path)
            read = time.perf_counter() - start
            start = time.perf_counter()
            Split(words.ids, words.lengths, len(words.vocab)).counted(1)
            passes.append((f"{n:,}", f"{read:.2f} s", f"{time.perf_counter() - start:.2f} s"))
    yield table(rows, ["lines", "model", "whole `python train.py` run", "peak resident memory"])
    yield table(passes, ["lines", "read and encode", "count the distinct windows (context 1)"])


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", action="store_true", help="only the default run of every model")
    parser.add_argument("--contexts", action="store_true", help="only counts and mlp at contexts 3, 5 and 8")
    parser.add_argument("--scale", action="store_true", help="only whole runs on 1M and 10M line files")
    parser.add_argument(
        "--makemore", type=Path, help="karpathy/makemore's makemore.py, to time its step beside ours"
    )
    parser.add_argument(
        "--references",
        nargs="?",
        const=False,
        type=Path,
        metavar="MAKEMORE_PY",
        help="the lecture's recipes (and makemore.py's models, given its path) run beside ours",
    )
    parser.add_argument("--quick", action="store_true", help="steps of the bigram and the mlp only")
    parser.add_argument(
        "--lectures", type=int, nargs="+", choices=sorted(LECTURES), help="the logs of these makemore parts"
    )
    args = parser.parse_args()
    command = "python -m makemore.bench"
    if args.models:
        publish("models", f"{command} --models", models())
    elif args.contexts:
        publish("contexts", f"{command} --contexts", contexts())
    elif args.scale:
        publish("scale", f"{command} --scale", scale())
    elif args.references is not None:
        publish(
            "references",
            f"{command} --references" + " path/to/makemore.py" * bool(args.references),
            references(args.references or None),
        )
    elif args.lectures:
        for n in args.lectures:
            publish(f"lecture{n}", f"{command} --lectures {n}", lectures([n]))
    elif args.makemore:
        publish("makemore", f"{command} --makemore path/to/makemore.py", makemore_py(args.makemore))
    else:
        publish("speed", command + " --quick" * args.quick, speed(args.quick))


if __name__ == "__main__":
    signals.command(main)
