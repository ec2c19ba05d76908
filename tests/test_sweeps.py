"""Sweeps a user can read: the summary, HParams, pictures, launchers, tuning, and TensorBoard itself."""

import csv
import fcntl
import json
import math
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import urllib.parse
import urllib.request

import pytest
from helpers import NAMES, ROOT, cli, compose_config, events, hparams_of, metrics, same_weights
from hydra import compose, initialize_config_dir
from tensorboard.plugins.hparams import plugin_data_pb2

from makemore.board import hparam_keys
from makemore.config import validate


def test_summary_has_one_row_per_job_sorted_by_validation_nll(sweep):
    out, proc = sweep  # conftest: model=counts,neural seed=1,2 steps=10 sample.count=3 figures=false
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert [float(r["val_nll"]) for r in rows] == sorted(float(r["val_nll"]) for r in rows)
    for r in rows:
        assert float(r["val_nll"]) == metrics(out / r["folder"])["val_nll"]
        assert r["folder"].endswith(f"model={r['model']},sample.count=3,seed={r['seed']},steps=10")
    best = next(line for line in proc.stdout.splitlines() if line.startswith("| * |"))
    assert rows[0]["folder"] in best


def test_summary_plot_is_written(sweep):
    out, _ = sweep
    png = (out / "summary.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_every_run_logs_the_same_hparams_in_its_own_event_file(sweep):
    out, _ = sweep
    runs = sorted(p for p in out.iterdir() if p.is_dir())
    seen = [hparams_of(run) for run in runs]
    assert all(
        set(h) == set(seen[0]) >= hparam_keys() | {"model", "optimizer", "scheduler", "seed"} for h in seen
    )
    assert {h["model"].string_value for h in seen} == {"counts", "neural"}
    assert all(not any(p.is_dir() for p in run.iterdir() if p.name != ".hydra") for run in runs)
    content = events(runs[0]).PluginTagToContent("hparams")["_hparams_/experiment"]
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["train/nll", "val/nll", "test/nll"]


def test_heatmap_and_first_samples_reach_the_run_folder_and_tensorboard(train_run, names_subset):
    for model in ("counts", "neural"):
        out, _ = train_run(f"model={model}", f"data.path={names_subset}", "steps=3", "sample.count=4")
        assert (out / "heatmap.png").read_bytes().startswith(b"\x89PNG")
        acc = events(out)
        assert acc.Tags()["images"] == ["heatmap"]
        text = acc.Tensors("samples/text_summary")[0].tensor_proto.string_val[0].decode()
        novelty, *names = text.split("  \n")
        assert names == (out / "samples.txt").read_text().split() and novelty.startswith("4 samples: ")


def test_no_heatmap_where_it_would_not_be_readable(train_run, names_subset, caplog):
    caplog.set_level("INFO")
    out, _ = train_run("context=2", f"data.path={names_subset}", "steps=1")
    assert not (out / "heatmap.png").exists() and "no heatmap: only a bigram model" in caplog.text


def on_a_terminal(started, *args, until):
    """Run a command with a pseudo-terminal as its stdout and stderr, until the terminal shows `until`; then
    Ctrl-C. Return what the terminal showed, and the exit status."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    proc = started(*args, stdout=child, stderr=child)
    os.close(child)
    shown, sent = b"", False
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if not sent and until.encode() in shown:
            proc.send_signal(signal.SIGINT)
            sent = True
    os.close(main)
    return shown.decode(errors="replace"), proc.wait(timeout=120)


def test_progress_bar_shows_on_a_terminal_and_not_in_a_pipe(tmp_path, finished_run, started):
    # on a terminal: the bar, with the loss, as soon as it first refreshes (steps as many as never end)
    shown, code = on_a_terminal(
        started, "train.py", f"hydra.run.dir={tmp_path}/tty", f"steps={10**9}", "figures=false", until="loss="
    )
    assert "loss=" in shown and f"/{10**9 + 1}" in shown and code == 130
    _, piped = finished_run  # in a pipe, as the tests run every command: no bar, and stderr empty
    assert piped.stderr == "" and "loss=" not in piped.stdout and "it/s" not in piped.stdout


def same_results(a, b):
    assert metrics(a) | {"seconds": 0} == metrics(b) | {"seconds": 0}
    assert same_weights(a, b)
    assert (a / "samples.txt").read_text() == (b / "samples.txt").read_text()


LAUNCHED = ("model=neural", "steps=10", "figures=false")  # and seed=1,2


def launch(tmp_path, launcher, *extra):
    out = tmp_path / launcher
    cli(
        "train.py",
        "-m",
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={out}",
        *LAUNCHED,
        "seed=1,2",
        *extra,
    )
    return sorted(p for p in out.iterdir() if p.is_dir())


@pytest.fixture
def here(train_run):
    """The two jobs of `launch` run in-process, one after the other, as the basic launcher runs them."""
    return [train_run(*LAUNCHED, f"seed={seed}")[0] for seed in (1, 2)]


@pytest.mark.slow
def test_joblib_runs_jobs_in_parallel_processes_with_the_same_results(tmp_path, here):
    joblib = launch(tmp_path, "joblib", "hydra.launcher.n_jobs=2")
    assert len(joblib) == 2
    logs = [(d / "train.log").read_text() for d in joblib]
    assert all("metrics" in log for log in logs)
    for a, b in zip(here, joblib):
        same_results(a, b)


@pytest.mark.slow
def test_ray_runs_a_sweep_on_a_local_ray_with_the_same_results(tmp_path, here):
    pytest.importorskip("ray")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    # without Ray's dashboard, which takes seconds to start and is no part of running the jobs
    ray = launch(tmp_path, "ray", "+hydra.launcher.ray.init.include_dashboard=false")
    assert len(ray) == 2
    for a, b in zip(here, ray):
        same_results(a, b)


@pytest.mark.parametrize("launcher, cpus", [("submitit_slurm", None), ("slurm", 1)])
def test_slurm_launcher_configs_compose(launcher, cpus):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[f"hydra/launcher={launcher}", "hydra.launcher.partition=gpu"],
            return_hydra_config=True,
        )
    assert (
        cfg.hydra.launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    )
    assert cfg.hydra.launcher.cpus_per_task == cpus and cfg.hydra.launcher.partition == "gpu"


def test_ray_cluster_config_joins_a_running_cluster():
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=ray_cluster"], return_hydra_config=True)
    assert cfg.hydra.launcher.ray.init.address == "auto" and cfg.hydra.launcher.ray.remote.num_cpus == 1


@pytest.mark.slow
def test_optuna_search_minimizes_the_validation_nll(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    cli(
        "train.py",
        "hparams_search=counts_optuna",
        f"hydra.sweep.dir={tmp_path}",
        "hydra.sweeper.n_trials=4",
        "figures=false",
        "sample.count=0",
    )
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert len(rows) == 4
    result = (tmp_path / "optimization_results.yaml").read_text()
    assert f"best_value: {rows[0]['val_nll']}" in result and f"smoothing: {rows[0]['smoothing']}" in result


PRESETS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", PRESETS)
def test_experiment_presets_compose_and_validate(name):
    cfg = compose_config(f"experiment={name}")
    validate(cfg)
    if name == "lecture":
        assert (cfg.data.val_fraction, cfg.data.test_fraction, cfg.seed, cfg.lr) == (0, 0, 2147483647, 50)
    # makemore part 3's recipe: its BatchNorm MLP of 12,097 parameters, 200,000 steps of 32
    elif name == "lecture3":
        assert (cfg.steps, cfg.batch_size, cfg.lr, list(cfg.scheduler.milestones)) == (
            200_000,
            32,
            0.1,
            [150_000],
        )
        assert cfg.model.batchnorm and cfg.model.kaiming and cfg.model.last_layer_scale == 0.01
    # makemore part 5's recipe: its WaveNet of 76,579 parameters, 200,000 steps of 32
    elif name == "lecture5":
        assert (cfg.steps, cfg.batch_size, cfg.lr, list(cfg.scheduler.milestones)) == (
            200_000,
            32,
            0.1,
            [150_000],
        )
        assert (cfg.model._target_, cfg.context, cfg.model.last_layer_scale) == (
            "makemore.models.WaveNet",
            8,
            0.1,
        )
        assert cfg.optimizer._target_ == "torch.optim.SGD" and cfg.scheduler.gamma == 0.1
    else:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            hydra_cfg = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True).hydra
        assert hydra_cfg.mode.name == "MULTIRUN" and hydra_cfg.sweeper.params
        if name == "contexts":  # context 1 to 4, each over a range of smoothing from 0
            assert hydra_cfg.sweeper.params.context == "1,2,3,4"
            assert hydra_cfg.sweeper.params.smoothing.startswith("0,")


@pytest.mark.parametrize(
    "name, model", [("lecture", "counts"), ("lecture", "neural"), ("lecture3", None), ("lecture5", None)]
)
def test_the_single_run_presets_train(train_run, names_subset, name, model):
    """Each as it is, but for its steps (the lectures' are 200,000) and its data (the first 2,000 names)."""
    chosen = [f"model={model}"] if model else []
    out, _ = train_run(
        f"experiment={name}", *chosen, f"data.path={names_subset}", "steps=4", "sample.count=2"
    )
    done = metrics(out)
    assert done["steps"] == 4 and math.isfinite(done["train_nll"])
    if name == "lecture":  # the whole file: nothing held out
        assert done["val_nll"] is None and done["test_nll"] is None
    else:
        assert math.isfinite(done["val_nll"]) and math.isfinite(done["test_nll"])


def log_scale(values):
    """Whether the values, but a 0, grow by one factor from one to the next."""
    steps = {round(b / a, 9) for a, b in zip(values, values[1:]) if a > 0}
    return values == sorted(values) and len(steps) == 1


# what the README's table of presets says each sweeps: its jobs, model, and key over a log scale from 0 to a
# top
SWEPT = {"smoothing": (8, "counts", "smoothing", 1000), "regularization": (5, "neural", "reg", 1)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["smoothing", "regularization", "contexts"])
def test_the_sweep_presets_run_the_jobs_the_readme_promises(tmp_path, name):
    data = tmp_path / "words.txt"
    data.write_text("\n".join(NAMES.read_text().splitlines()[:300]) + "\n")
    args = [f"experiment={name}", f"hydra.sweep.dir={tmp_path}/sweep", f"data.path={data}", "steps=5"]
    if name == "contexts":  # its 28 jobs, but for the smoothing: two values of its range (the grid: above)
        args.append("hydra.sweeper.params.smoothing='0,1'")
    proc = cli("train.py", *args, "figures=false", "sample.count=0")
    rows = list(csv.DictReader((tmp_path / "sweep" / "summary.csv").open()))
    if name == "contexts":  # counts at context 1 to 4, each over one range of smoothing
        assert {(r["model"], r["status"]) for r in rows} == {("counts", "ok")}
        ranges = {c: sorted(float(r["smoothing"]) for r in rows if r["context"] == c) for c in "1234"}
        assert len(rows) == 8 and set(map(tuple, ranges.values())) == {(0, 1)}
    else:
        jobs, model, key, top = SWEPT[name]
        assert len(rows) == jobs and {(r["model"], r["status"]) for r in rows} == {(model, "ok")}
        values = sorted(float(r[key]) for r in rows)
        assert values[0] == 0 and values[-1] == top and log_scale(values)
    assert (tmp_path / "sweep" / "summary.png").exists() and proc.stdout.count("| * |") == 1


@pytest.mark.parametrize("name, keys", [("counts_optuna", {"smoothing"}), ("neural_optuna", {"reg", "lr"})])
def test_optuna_searches_compose(name, keys):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"hparams_search={name}"], return_hydra_config=True)
    assert cfg.hydra.sweeper.direction == "minimize" and set(cfg.hydra.sweeper.params) == keys
    assert cfg.model._target_.endswith(name.split("_")[0].capitalize())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_tensorboard_serves_every_runs_loss_curve(sweep):
    out, _ = sweep
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(out),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/data"
    try:
        runs, deadline = [], time.monotonic() + 60
        while len(runs) < 4:
            assert time.monotonic() < deadline, "tensorboard did not list the runs"
            time.sleep(0.5)
            try:
                runs = json.load(urllib.request.urlopen(f"{base}/runs", timeout=5))
            except OSError:
                continue
        assert sorted(runs) == sorted(p.name for p in out.iterdir() if p.is_dir())
        for run in runs:
            query = urllib.parse.urlencode({"run": run, "tag": "train/loss"})
            points = json.load(urllib.request.urlopen(f"{base}/plugin/scalars/scalars?{query}", timeout=10))
            assert [p[1] for p in points] == list(range(11))  # [wall time, step, value]
            assert points[-1][2] == pytest.approx(
                json.loads((out / run / "metrics.json").read_text())["train_nll"], abs=0.02
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_bench_runs_each_lectures_log_as_one_sweep_a_job_per_row(names_subset):
    """`python -m makemore.bench --lectures 3 5`: one `python train.py -m experiment=lecture<N>` each, a job
    per row of the lecture's log in its order (here two steps on few names), beside the notebook's figures."""
    from makemore import bench

    few = ("steps=2", "eval_interval=1", f"data.path={names_subset}")
    for n, text in zip((3, 5), bench.lectures((3, 5), few)):
        rows = [[cell.strip(" `") for cell in line.strip("|").split("|")] for line in text.splitlines()[2:]]
        assert [r[0] for r in rows] == [f"lecture{n}={row}" for row, _, _ in bench.LECTURES[n]]
        assert [r[4] for r in rows] == [notebook for _, _, notebook in bench.LECTURES[n]]
        parameters = {3: ["11,897"] * 4 + ["12,097"], 5: ["12,097", "22,097", "22,397", "76,579"]}[n]
        assert [r[2] for r in rows] == parameters
