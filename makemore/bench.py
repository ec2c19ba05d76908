"""Benchmarks: the project's code against the lecture's methods, in one process run, as ratios.

    python -m makemore.bench            # names.txt: counting, a training step, sampling, threads, start-up
    python -m makemore.bench --scale    # also 1M and 10M line data sets: whole runs, time and peak memory

Timings are medians of repeats; the machine is shared, so read the ratios, which are measured side by side.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from makemore.data import count, examples, read_words, split
from makemore.models import Counts, Neural, Stats
from makemore.sampling import sample_batched, sample_one_by_one

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "data" / "names.txt"


def timed(f, repeat):
    """Median seconds of `repeat` calls of f, after one call to warm up (allocator, caches)."""
    f()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def project_counts(path):
    words = read_words(path)
    return count(words, split(len(words), 0, 0, 0), 1)


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


def project_step(model, stats):
    model.objective(stats).backward()
    model.step(50)


def walls(cmds, repeat=5):
    """Median wall seconds of each command, run in turn so that a busy moment of the machine hits all alike;
    "{i}" in an argument becomes the repeat's number."""
    times = {name: [] for name in cmds}
    for i in range(repeat):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run([a.format(i=i) for a in cmd], cwd=ROOT, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def run_measured(args):
    """Wall seconds and peak resident memory (MB) of one command, from the kernel's accounting of the child."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    seconds, kb = out.stdout.split()
    return float(seconds), int(kb) / 1024


def table(rows, header):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?") \
        if os.path.exists("/proc/cpuinfo") else platform.processor()
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, torch {torch.__version__}"


def speed():
    torch.set_num_threads(1)
    rows = []
    t_ref, t_ours = timed(lambda: lecture_counts(NAMES), 3), timed(lambda: project_counts(NAMES), 5)
    rows.append(("bigram counts of names.txt (read, encode, count)", "Python loop", t_ref, t_ours))

    words = read_words(NAMES)
    stats = Stats.of(count(words, split(len(words), 0, 0, 0), 1)[0])
    xs, ys = (torch.from_numpy(a) for a in examples(words.ids, words.lengths, 1, 27))  # the lecture's xs, ys
    W = torch.randn((27, 27), generator=torch.Generator().manual_seed(1), requires_grad=True)
    model = Neural(27, reg=0.01)
    model.fit(stats)
    t_ref = timed(lambda: lecture_step(xs, ys, W), 10)
    t_ours = timed(lambda: project_step(model, stats), 200)
    rows.append(("one full-batch training step", "one-hot matmul", t_ref, t_ours))

    counts = Counts(27)
    counts.fit(stats)
    t_ref = timed(lambda: sample_one_by_one(counts, 10_000, 1), 3)
    t_ours = timed(lambda: sample_batched(counts, 10_000, 1), 5)
    rows.append(("sampling 10,000 names", "one at a time", t_ref, t_ours))

    with tempfile.TemporaryDirectory() as tmp:
        t = walls({"imports": [sys.executable, "-c", "import torch, hydra, tensorboard"],
                   "": [sys.executable, "train.py", "model=neural", f"hydra.run.dir={tmp}/{{i}}"],
                   "figures=false": [sys.executable, "train.py", "model=neural", f"hydra.run.dir={tmp}/{{i}}-bare",
                                     "figures=false"]})
    t_imports = t.pop("imports")
    runs = t  # the heatmap is the one output that costs: compare with and without it

    print(f"Machine: {machine()}\n")
    print(table([(what, ref, f"{a * 1e3:.2f} ms", f"{b * 1e3:.3f} ms", f"{a / b:.0f}x faster") for what, ref, a, b in rows]
                + [(f"`python train.py model=neural {extra}` (100 steps, TensorBoard, checkpoint, samples"
                    + (", heatmap)" if not extra else ")"), "`import torch, hydra, tensorboard`",
                    f"{t_imports * 1e3:.0f} ms", f"{t * 1e3:.0f} ms", f"{t / t_imports:.2f}x the imports")
                   for extra, t in runs.items()],
                ["what", "reference", "reference time", "makemore time", "ratio"]))

    thread_rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        thread_rows.append((threads, f"{timed(lambda: project_step(model, stats), 500) * 1e3:.3f} ms",
                            f"{timed(lambda: lecture_step(xs, ys, W), 10) * 1e3:.1f} ms"))
    torch.set_num_threads(1)
    print("\n" + table(thread_rows, ["torch threads", "makemore step (27x27)", "lecture one-hot step"]))
    contexts(words)


def contexts(words):
    """A neural step's cost by context: it follows the contexts that occur, not V**context."""
    rows = []
    for context in (1, 2, 3, 4):
        stats = Stats.of(count(words, split(len(words), 0.1, 0.1, 42), context)[0])
        model = Neural(27, context=context)
        model.fit(stats)
        t = timed(lambda: project_step(model, stats), 50 if context < 4 else 10)
        rows.append((context, f"{27**context:,}", f"{len(stats.N):,}", f"{t * 1e3:.2f} ms"))
    print("\n" + table(rows, ["context", "contexts (27**context)", "contexts in training", "neural step"]))


def make_data(n, path, seed=0):
    """A data set of n lines drawn with replacement from names.txt."""
    names = np.array(NAMES.read_text().split())
    picks = names[np.random.default_rng(seed).integers(0, len(names), n)]
    path.write_text("\n".join(picks) + "\n")


def scale():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000_000, 10_000_000):
            path = Path(tmp) / f"names_{n}.txt"
            make_data(n, path)
            for model in ("counts", "neural"):
                seconds, mb = run_measured([sys.executable, "train.py", f"model={model}", f"data.path={path}",
                                            f"hydra.run.dir={tmp}/run_{n}_{model}"])
                rows.append((f"{n:,}", model, f"{seconds:.1f} s", f"{mb:.0f} MB"))
    print("\n" + table(rows, ["lines", "model", "whole `python train.py` run", "peak resident memory"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true", help="also time whole runs on 1M and 10M lines")
    speed()
    if parser.parse_args().scale:
        scale()
