"""A run owns its folder, and the terminal says what happened: through the real CLI, on small data files.

The folder a run is refused over keeps its bytes; two runs or resumes started at once into one folder are one
run and one refusal; a run refused before it trains leaves nothing; file system errors, signals, pipes closed
early and failing trials are one line, never a traceback or a half-written run.
"""

import csv
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import (
    FINISHED,
    NAMES,
    ROOT,
    assert_clear_error,
    cli,
    compose_config,
    copy_run,
    drained,
    full_pipe,
    metrics,
    new,
    same_weights,
    wait_for,
)
from hydra.core.override_parser.types import Quote, QuotedString
from omegaconf import OmegaConf

from makemore import MakemoreError
from makemore.files import file_error
from makemore.runs import claim, hold_job
from makemore.training import run

TRAIN = str(ROOT / "train.py")
FAST = ("figures=false", "sample.count=2")  # the counts model, no heatmap: a run is about the imports


@pytest.fixture
def words(tmp_path):
    """A 50-word data file."""
    path = tmp_path / "words.txt"
    path.write_text("\n".join(NAMES.read_text().splitlines()[:50]) + "\n")
    return path


def train(*args, check=True, **kwargs):
    return cli(TRAIN, *args, check=check, **kwargs)


def contents(folder):
    """Every file under the folder (hidden ones too), with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def hydra_quoted(key, value):
    """key=value as one argument Hydra parses back to `value`, whatever it holds."""
    return f"{key}={QuotedString(text=str(value), quote=Quote.double).with_quotes()}"


# --- 1. a run owns its folder ----------------------------------------------------------------------------


def test_a_run_refused_over_a_run_folder_leaves_every_byte_of_it(tmp_path, finished_run):
    out = copy_run(finished_run[0], tmp_path / "run")
    before = contents(out)
    assert {
        Path(".hydra/config.yaml"),
        Path("train.log"),
        Path("checkpoint.pt"),
        Path("samples.txt"),
        Path("metrics.json"),
    } <= set(before)
    proc = train(f"hydra.run.dir={out}", FINISHED[0], "smoothing=5", check=False)
    assert_clear_error(proc, str(out), "already holds a run's checkpoint", "resume=")
    assert contents(out) == before


# as test_a_run_refused_over_a_run_folder_leaves_every_byte_of_it, for a folder of other files
@pytest.mark.slow
def test_a_folder_that_holds_anything_else_is_refused_untouched(tmp_path, words):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    proc = train(f"hydra.run.dir={out}", f"data.path={words}", *FAST, check=False)
    assert_clear_error(proc, str(out), "is not empty", "notes.txt")
    assert contents(out) == {Path("notes.txt"): b"mine\n"}


@pytest.mark.slow
def test_two_runs_started_at_once_into_one_folder_are_one_run_and_one_refusal(tmp_path, words, started):
    out = tmp_path / "run"
    # runs that never end by themselves: the refused one is refused while the other holds the folder
    args = [f"hydra.run.dir={out}", f"data.path={words}", "model=neural", "steps=100000000", *FAST]
    procs = [started(TRAIN, *args) for _ in range(2)]
    while all(p.poll() is None for p in procs):
        time.sleep(0.01)
    (refused,) = [p for p in procs if p.poll() is not None]
    (running,) = [p for p in procs if p is not refused]
    _, stderr = refused.communicate()
    assert refused.returncode == 1 and stderr == f"error: another run is writing into {out} right now; " + (
        "wait until it ends, or choose another hydra.run.dir\n"
    )
    assert running.poll() is None  # the two ran at once: the other holds the folder still
    wait_for(out / "checkpoint.pt")
    running.send_signal(signal.SIGTERM)
    assert running.wait(timeout=60) == 143 and "error: SIGTERM at step" in running.stderr.read()


@pytest.mark.slow
def test_two_resumes_of_one_run_are_one_resume_and_one_refusal(tmp_path, finished_run, started):
    out = copy_run(finished_run[0], tmp_path / "run")
    resume = [*FINISHED, "steps=100000000", "eval_interval=1000000", "figures=false", f"resume={out}"]
    first = started(TRAIN, *resume)
    wait_for(out / "train.log", has="resuming")  # holds the folder, past its checks
    second = train(*resume, check=False)
    assert_clear_error(second, "another run is writing into", str(out))
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 143 and "error: SIGTERM at step" in first.stderr.read()


@pytest.mark.slow
def test_a_sweep_prints_a_few_samples_a_job_and_run_again_into_its_folder_is_refused_leaving_it(
    tmp_path, words
):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        f"hydra.sweep.dir={sweep}",
        f"data.path={words}",
        "seed=1,2",
        "figures=false",
        "sample.count=20",
    ]
    shown = train(*args).stdout.splitlines()
    for path in sorted(sweep.glob("*/samples.txt")):
        samples = path.read_text().splitlines()
        assert len(samples) == 20
        at = shown.index(samples[0])
        assert shown[at : at + 5] == samples[:5] and shown[at + 5] != samples[5]
    assert shown[-1] == f"sweep folder: {sweep}"
    before = contents(sweep)
    assert_clear_error(train(*args, check=False), str(sweep), "is not empty", "hydra.sweep.dir")
    assert contents(sweep) == before


@pytest.mark.slow
def test_resuming_a_copy_of_a_checkpoint_writes_a_new_folder_and_nothing_else(tmp_path, finished_run):
    other = copy_run(finished_run[0], tmp_path / "other")
    (other / "backup.pt").write_bytes((other / "checkpoint.pt").read_bytes())
    before = contents(other)
    train(*FINISHED, "figures=false", "steps=120", f"resume={other}/backup.pt", cwd=tmp_path)
    assert contents(other) == before
    (new,) = (tmp_path / "runs").glob("*/*")
    assert "resume" not in new.name and metrics(new)["steps"] == 120


@pytest.mark.slow
def test_a_resumed_run_writes_its_log_and_hydras_files_into_its_own_folder_only(tmp_path, finished_run):
    out = copy_run(finished_run[0], tmp_path / "runs" / "2000-01-01" / "00-00-00_smoothing=0,sample.count=5")
    proc = train(
        *FINISHED,
        "figures=false",
        "steps=120",
        hydra_quoted("resume", out.relative_to(tmp_path)),
        cwd=tmp_path,
    )
    assert list((tmp_path / "runs").glob("*/*")) == [out] and not list(out.glob("*/*/*"))
    assert metrics(out)["steps"] == 120 and "resume=" in (out / ".hydra" / "overrides.yaml").read_text()
    assert (out / "train.log").read_text().count("metrics:") == 2
    assert proc.stdout.splitlines()[-1] == f"run folder: {out.relative_to(tmp_path)}"


@pytest.mark.parametrize(
    "override, words_",
    [
        ("lr=-1", ["lr=-1", "> 0"]),
        pytest.param("data.path=missing.txt", ["missing.txt", "does not exist"], marks=pytest.mark.slow),
        pytest.param(
            "resume=nothing/checkpoint.pt",
            ["nothing/checkpoint.pt", "does not exist"],
            marks=pytest.mark.slow,
        ),
    ],
)
def test_a_run_refused_before_training_leaves_nothing_behind(tmp_path, words, override, words_):
    args = [f"data.path={words}", *FAST, override] if "data.path" not in override else [*FAST, override]
    assert_clear_error(train(*args, check=False, cwd=tmp_path), *words_)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["words.txt"]


@pytest.mark.slow
def test_a_refused_resume_leaves_the_run_as_it_was(tmp_path, finished_run):
    out = copy_run(finished_run[0], tmp_path / "run")
    before = contents(out)
    proc = train(FINISHED[0], "smoothing=3", f"resume={out}", check=False)
    assert_clear_error(proc, "smoothing is 3", "in the checkpoint")
    assert contents(out) == before


def test_a_resume_given_a_hydra_run_dir_continues_there_and_leaves_its_own_folder_alone(
    train_run, words, tmp_path
):
    common = ["model=neural", f"data.path={words}", *FAST]
    half, _ = train_run(*common, "steps=3")
    whole, _ = train_run(*common, "steps=6")
    assert claim(compose_config(*common, f"resume={half}", hydra=True)).folder == half  # its own, by default
    before = contents(half)
    branch = tmp_path / "branch"
    resumed = [*common, "steps=6", f"resume={half}"]
    assert claim(compose_config(*resumed, f"hydra.run.dir={branch}", hydra=True)).folder == branch
    run(compose_config(*resumed), branch)
    assert same_weights(branch, whole) and metrics(branch) | {"seconds": 0} == metrics(whole) | {"seconds": 0}
    assert contents(half) == before


def hydras_job_folder(sweep, subdir):
    """The folder Hydra makes for a sweep job (hydra.core.utils.run_job), and its config as the job sees
    it."""
    Path(os.path.join(sweep, subdir)).mkdir(parents=True, exist_ok=True)
    folder = os.path.abspath(os.path.join(sweep, subdir))
    return OmegaConf.create(
        {"runtime": {"output_dir": folder}, "sweep": {"dir": str(sweep)}, "job": {"num": 3}}
    )


@pytest.mark.parametrize("subdir", ["a/b", ".", "..", "../other", "/elsewhere/job", "summary.csv"])
def test_a_sweep_job_folder_not_directly_inside_the_sweep_folder_is_refused(tmp_path, subdir):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    with pytest.raises(MakemoreError) as e:
        hold_job(hydras_job_folder(sweep, subdir.replace("/elsewhere", str(tmp_path / "elsewhere"))))
    assert (
        "job 3's folder" in str(e.value) and "hydra.sweep.subdir" in str(e.value) and "\n" not in str(e.value)
    )
    assert not list(sweep.iterdir())  # what Hydra made inside the sweep folder for it is gone


def test_a_sweep_job_folder_is_one_jobs_own(tmp_path):
    sweep = tmp_path / "sweep"
    os.close(hold_job(hydras_job_folder(sweep, "0_seed=1")))
    (sweep / "0_seed=1" / "train.log").write_text("the first job's\n")
    with pytest.raises(
        MakemoreError, match=r"^job 3's folder .*0_seed=1 is another job's too: give hydra.sweep"
    ):
        hold_job(hydras_job_folder(sweep, "0_seed=1"))
    assert sorted(p.name for p in (sweep / "0_seed=1").iterdir()) == [".lock", "train.log"]


@pytest.mark.slow  # through the CLI: the check above, reached before Hydra writes the job's files
@pytest.mark.parametrize("subdir", ["..", "same"])
def test_a_sweep_whose_jobs_share_a_folder_or_leave_the_sweep_folder_is_refused_leaving_everything(
    tmp_path, finished_run, words, subdir
):
    out = copy_run(finished_run[0], tmp_path / "run")  # a run folder, with the sweep folder inside it
    before = contents(out)
    sweep = out / "sweep"
    args = [
        "-m",
        f"hydra.sweep.dir={sweep}",
        f"hydra.sweep.subdir={subdir}",
        f"data.path={words}",
        "seed=1,2",
    ]
    proc = train(*args, *FAST, check=False)
    job = "job 0's folder" if subdir == ".." else "job 1's folder"
    assert_clear_error(proc, job, "hydra.sweep.subdir")
    assert {path: data for path, data in contents(out).items() if path.parts[0] != "sweep"} == before
    if subdir == "same":  # the first job is whole, and summarized; the second wrote nothing
        assert "seed=1" in (sweep / "same" / ".hydra" / "overrides.yaml").read_text()
        rows = list(csv.DictReader((sweep / "summary.csv").open()))
        assert [(r["seed"], r["status"], r["folder"]) for r in rows] == [("1", "ok", "same")]
        assert metrics(sweep / "same")["steps"] == 100


def test_a_sweep_job_resumed_by_hand_is_summarized_as_the_same_job(tmp_path):
    from makemore import summary

    job = tmp_path / "0_seed=1"
    (job / ".hydra").mkdir(parents=True)  # as the resume command writes it: the job's overrides, and resume=
    (job / ".hydra" / "overrides.yaml").write_text(f"- seed=1\n- steps=200\n- resume='{job}'\n")
    assert summary.overrides(job) == {"seed": "1", "steps": "200"}


# --- 2. file system errors ---------------------------------------------------------------------------------

WHERE = [
    ("{tmp}/file", "is a file, not a folder"),
    ("{tmp}/file/run", "Not a directory"),
    ("/proc/makemore", "cannot create the folder /proc/makemore"),
    ("{tmp}/" + "x" * 300, "File name too long"),
]


@pytest.mark.parametrize("where, cause", WHERE)
def test_a_run_folder_that_cannot_be_made_is_named_with_the_cause(tmp_path, words, where, cause):
    """What the run's Hydra callback says (RunFolder), as the command composes the config; nothing made."""
    (tmp_path / "file").write_text("x")
    where = where.format(tmp=tmp_path)
    with pytest.raises((MakemoreError, OSError)) as e:
        claim(compose_config(f"hydra.run.dir={where}", f"data.path={words}", *FAST, hydra=True))
    message = str(file_error(e.value) if isinstance(e.value, OSError) else e.value)
    assert where in message and cause in message and "\n" not in message, message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "words.txt"]


@pytest.mark.slow
def test_a_run_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path, words):
    where, cause = WHERE[1]
    where = where.format(tmp=tmp_path)
    (tmp_path / "file").write_text("x")
    assert_clear_error(
        train(f"hydra.run.dir={where}", f"data.path={words}", *FAST, check=False), where, cause
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "words.txt"]


@pytest.fixture
def small_fs(tmp_path):
    """Mount a tmpfs: read-only, or of a few pages (root only, where mounting is allowed)."""
    mounted = []

    def mount(options):
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        if (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
            ).returncode
            != 0
        ):
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=True)


@pytest.mark.slow
def test_a_read_only_file_system_is_one_line(small_fs, words):
    ro = small_fs("ro,size=64k")
    assert_clear_error(
        train(f"hydra.run.dir={ro}/run", f"data.path={words}", check=False),
        f"{ro}/run",
        "Read-only file system",
    )
    assert_clear_error(train(f"hydra.run.dir={ro}", f"data.path={words}", check=False), str(ro), "Read-only")


# or later
@pytest.mark.parametrize(
    "size, path",
    [
        pytest.param("16k", "", marks=pytest.mark.slow),  # full at the start,
        ("40k", "/checkpoint.pt"),
    ],
)
def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(small_fs, words, size, path):
    out = small_fs(f"size={size}") / "run"
    proc = train(f"hydra.run.dir={out}", f"data.path={words}", "context=2", check=False)
    assert_clear_error(proc, f"{out}{path}: No space left on device")
    assert not list(out.glob("*.tmp"))


@pytest.mark.slow
def test_many_overrides_give_a_folder_name_within_the_file_systems_limit(tmp_path, words):
    many = [
        f"data.path={words}",
        "seed=1",
        "steps=1",
        "eval_interval=1",
        "threads=1",
        "context=1",
        "device=cpu",
        "batch_size=null",
        "data.val_fraction=0.1",
        "data.test_fraction=0.1",
        "data.split_seed=1",
        "sample.temperature=1.0",
        "sample.top_k=null",
        "optimized_metric=val/nll",
        "smoothing=1",
        *FAST,
    ]
    proc = train(*many, cwd=tmp_path)
    (out,) = (tmp_path / "runs").glob("*/*")
    assert len(out.name.encode()) <= 255
    assert re.fullmatch(r"[\d-]{8}_batch_size=null,context=1,.*_[0-9a-f]{8}", out.name)  # cut, and a hash
    assert "optimized_metric=val-n" in out.name  # a '/' would nest folders
    assert proc.stdout.endswith(f"run folder: runs/{out.parent.name}/{out.name}\n")


@pytest.mark.slow
def test_the_resume_command_printed_works_for_a_folder_named_with_quotes(tmp_path):
    data = tmp_path / 'it\'s, "ours".txt'
    data.write_text("\n".join(NAMES.read_text().splitlines()[:50]) + "\n")
    train(hydra_quoted("data.path", data), *FAST, cwd=tmp_path)
    (out,) = (tmp_path / "runs").glob("*/*")
    assert out.name.endswith('data.path=it\'s, "ours".txt,figures=false,sample.count=2')
    proc = train(hydra_quoted("hydra.run.dir", out), hydra_quoted("data.path", data), *FAST, check=False)
    argument = shlex.split(proc.stderr.split("resume it with ")[1].split(", or choose")[0])
    train(hydra_quoted("data.path", data), *FAST, "steps=150", *argument, cwd=tmp_path)
    assert metrics(out)["steps"] == 150 and len(list((tmp_path / "runs").glob("*/*"))) == 1


# --- 7. signals and sweeps ---------------------------------------------------------------------------------


def alive(pid):
    """Whether the process runs (a zombie has ended; its parent has not collected it yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_sigterm_to_a_joblib_sweep_stops_its_workers_after_they_save(tmp_path, words, started):
    sweep = tmp_path / "sweep"
    proc = started(
        TRAIN,
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep}",
        f"data.path={words}",
        "seed=1,2",
        "steps=100000000",
        "eval_interval=1000000",
        *FAST,
    )
    deadline = time.monotonic() + 60
    while len(list(sweep.glob("*/checkpoint.pt"))) < 2:
        assert time.monotonic() < deadline, "the jobs never started training"
        time.sleep(0.05)
    workers = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in stderr and "Warning" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: SIGTERM at step ") for line in lines[:2])
    assert lines[2].startswith("error: SIGTERM: the sweep stopped")
    deadline = time.monotonic() + 10  # the resource tracker among them ends as it sees its parent gone
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a job's process goes on"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_sweep_stopped_by_ctrl_c_summarizes_the_job_it_stopped_as_not_finished(tmp_path, words, started):
    sweep = tmp_path / "sweep"
    jobs = ["model=neural", "steps=3,100000000,4", "eval_interval=1000000"]  # the second never ends by itself
    proc = started(TRAIN, "-m", f"hydra.sweep.dir={sweep}", f"data.path={words}", *jobs, *FAST)
    wait_for(sweep / "summary.csv")  # the first job has finished
    while not list(sweep.glob("1_*/checkpoint.pt")):  # and the second trains
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and len(stderr.splitlines()) == 1
    assert stderr.startswith("error: SIGINT at step ") and "to continue, run python train.py" in stderr
    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert [(r["steps"], r["status"]) for r in rows] == [("3", "ok"), ("100000000", "did not finish")]
    assert not list(sweep.glob("2_*"))  # the third never started


def test_sigterm_before_training_is_one_line_and_leaves_nothing(tmp_path, words, started):
    read, write = full_pipe()  # the run stops at the line that says what it read, before it trains
    proc = started(TRAIN, f"data.path={words}", cwd=tmp_path, stdout=write)
    os.close(write)
    while not list(tmp_path.glob("runs/*/*/train.log")):  # Hydra has set up the run
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    drained(read)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143 and stderr == "error: interrupted; the run did not finish\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["words.txt"]


@pytest.mark.slow
def test_a_diverging_trial_fails_and_the_optuna_study_goes_on(tmp_path, words):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    sweep = tmp_path / "study"
    proc = train(
        "hparams_search=neural_optuna",
        "lr=choice(1000000,10)",
        "hydra.sweeper.n_trials=4",
        f"hydra.sweep.dir={sweep}",
        f"data.path={words}",
        "steps=20",
        "figures=false",
        "sample.count=0",
    )
    statuses = [row["status"] for row in csv.DictReader((sweep / "summary.csv").open())]
    assert len(statuses) == 4 and "ok" in statuses
    assert any(s.startswith("failed: MakemoreError: training stopped at step") for s in statuses)
    assert "Failed experiment: training stopped" in proc.stdout and "Traceback" not in proc.stderr
    assert "best_value: " in (sweep / "optimization_results.yaml").read_text()


@pytest.mark.slow
def test_a_study_whose_every_trial_failed_is_one_line(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    proc = train(
        "hparams_search=counts_optuna",
        "hydra.sweeper.n_trials=2",
        f"hydra.sweep.dir={tmp_path}/study",
        "data.path=missing.txt",
        check=False,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert lines[-1].startswith(
        "error: every job of the sweep failed, the first with MakemoreError: data.path"
    )


# --- 8. the terminal ----------------------------------------------------------------------------------------


def test_a_pipe_closed_early_leaves_a_whole_run_and_no_traceback(tmp_path, words, started):
    out = tmp_path / "run"
    proc = started(TRAIN, f"hydra.run.dir={out}", f"data.path={words}", "figures=false", "sample.count=20")
    first = [proc.stdout.readline() for _ in range(2)]  # `| head -2`
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0 and proc.stderr.read() == ""
    assert "50 words" in first[0] and metrics(out)["steps"] == 100
    assert len((out / "samples.txt").read_text().splitlines()) == 20


@pytest.mark.slow  # the tools' --help, made the same way, is not slow
def test_train_help_lists_the_keys_with_their_comments():
    shown = cli("train.py", "--help").stdout
    assert "steps: 100                 # optimizer steps" in shown and "model: counts" in shown
    assert "hydra:" not in shown and "config_schema" not in shown


@pytest.mark.parametrize(
    "command, key", [("sample", "count: 10"), pytest.param("score", "words: ???", marks=pytest.mark.slow)]
)
def test_a_tools_help_lists_its_own_keys_only(command, key):
    shown = cli("-m", f"makemore.{command}", "--help").stdout
    assert key in shown and "checkpoint: ???" in shown
    assert not any(other in shown for other in ("steps:", "optimizer", "model", "hydra:", "schema"))


def test_the_folder_names_a_data_file_that_is_not_the_default(words):
    """The folder Hydra makes, as the real command composes it (test_cli: the command makes it)."""

    def name(*overrides):
        return compose_config(*overrides, *FAST, hydra=True).hydra.run.dir.split("_", 1)[1]

    assert name(f"data.path={words}") == "data.path=words.txt,figures=false,sample.count=2"
    # the default file, named in another way
    assert name(f"data.path={ROOT}/data/../data/names.txt", "seed=1") == "figures=false,sample.count=2,seed=1"


def test_heatmap_labels_are_light_on_dark_cells_and_dark_on_light_ones():
    import numpy as np

    from makemore.figures import CELL, heatmap

    table = np.zeros((3, 3))
    table[1, 1] = 10
    image = np.asarray(heatmap(table, [".", "a", "b"], "{:.0f}")).astype(int)
    dark, light = image[CELL : 2 * CELL, CELL : 2 * CELL], image[2 * CELL :, 2 * CELL :]
    assert (dark.min(axis=-1) > 200).any() and (light.max(axis=-1) < 128).any()


def test_a_heatmap_cell_past_floats_range_is_the_darkest_without_warnings():
    """The neural model's picture is W.exp(), inf where W > 88: NumPy warned of nan in its shading."""
    import math
    import warnings

    import numpy as np
    import torch

    from makemore.figures import CELL, heatmap
    from makemore.models import Neural

    model = new(Neural, 3, context=1)
    with torch.no_grad():
        model.W.fill_(0.0)
        model.W[1, 1], model.W[2, 2] = 100.0, 1.0
    table, fmt = model.heatmap()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = np.asarray(heatmap(table.numpy(), [".", "a", "b"], fmt)).astype(int)
    inf, top = image[CELL : 2 * CELL, CELL : 2 * CELL], image[2 * CELL :, 2 * CELL :]
    assert math.isinf(table[1, 1]) and (inf[0, 0] == top[0, 0]).all()
