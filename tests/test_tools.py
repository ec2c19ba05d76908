"""The sample, score and summary commands: bad arguments end them with one line, and a sweep folder that is
damaged, swept into twice, or swept over models alone still gets a true summary and a picture."""

import csv
import json

import pytest
import torch
from helpers import assert_clear_error, cli, compose_config
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import RunMode
from omegaconf import OmegaConf

from makemore import MakemoreError, checkpoint, summary
from makemore.config import validate_sample, validate_score
from makemore.inference import score

SEED_MAX = 2**64 - 1


@pytest.fixture
def ck(finished_run):
    """A real run's checkpoint (conftest's finished_run: only read)."""
    return finished_run[0] / "checkpoint.pt"


# --- sample and score ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, args, words",
    [
        ("sample", [], ["checkpoint is missing", "checkpoint='runs/<run>/checkpoint.pt'"]),
        pytest.param("score", ["words=[anna]"], ["checkpoint is missing"], marks=pytest.mark.slow),
        pytest.param(
            "score",
            ["checkpoint={ck}"],
            ["words is missing", "words=[andrej,andrejq]"],
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "sample",
            ["checkpoint={ck}", "count=abc"],
            ["count=abc", "'abc'", "Integer"],
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "sample", ["checkpoint={ck}", "seed=1.5"], ["seed=1.5", "Integer"], marks=pytest.mark.slow
        ),
        pytest.param(
            "sample",
            ["checkpoint={ck}", f"seed={SEED_MAX + 1}"],
            [f"seed={SEED_MAX + 1}", "[0, 2**64 - 1]"],
            marks=pytest.mark.slow,
        ),
        pytest.param("sample", ["checkpoint={ck}", "count=-1"], ["count=-1", ">= 0"], marks=pytest.mark.slow),
        ("score", ["checkpoint={ck}", "words=[zoë]"], ["words=[zoë]", "quoted", "\"words=['zoë']\""]),
    ],
)
def test_a_bad_argument_ends_the_command_with_one_line(ck, command, args, words):
    assert_clear_error(
        cli("-m", f"makemore.{command}", *(a.format(ck=ck) for a in args), check=False), *words
    )


def test_the_quoting_the_parse_error_suggests_gives_the_word():
    assert validate_score(compose_config("checkpoint=x", "words=['zoë']", config_name="score")) == ["zoë"]


def test_a_word_hydra_reads_as_another_type_is_refused_with_a_hint():
    with pytest.raises(MakemoreError, match=r"words holds True, .* quote such words"):
        validate_score(compose_config("checkpoint=x", "words=[true,ana]", config_name="score"))


def test_a_single_word_is_scored_as_one_word(ck):
    """As the score command reads it (test_cli: what it prints)."""
    words = validate_score(compose_config(f"checkpoint={ck}", "words=anna", config_name="score"))
    model, vocab, _ = checkpoint.load(ck)
    (nll,) = score(model, vocab, words)
    assert words == ["anna"] and 1 < nll < 4


@pytest.mark.slow
def test_no_names_is_nothing_to_print_whichever_sampler(ck):
    proc = cli("-m", "makemore.sample", f"checkpoint={ck}", "count=0", "batched=true", check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@pytest.mark.slow
def test_a_temperature_near_0_samples_the_likeliest_name(ck):
    proc = cli("-m", "makemore.sample", f"checkpoint={ck}", "temperature=1e-310", "count=3")
    assert proc.stdout.split() == ["a"] * 3  # '.' is most often followed by 'a', and 'a' by the end


def test_the_seeds_accepted_are_those_torch_takes():
    for seed in (0, SEED_MAX):
        validate_sample(compose_config("checkpoint=x", f"seed={seed}", config_name="sample"))
        torch.Generator().manual_seed(seed)
    with pytest.raises((ValueError, RuntimeError)):  # the type differs between torch versions
        torch.Generator().manual_seed(SEED_MAX + 1)


# --- summary: the command --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        ([], ["give one sweep folder"]),
        (["{tmp}/nope"], ["nope", "does not exist"]),
        (["{tmp}"], ["holds no sweep jobs"]),
    ],
)
def test_summary_of_nothing_is_one_line(tmp_path, args, words):
    assert_clear_error(
        cli("-m", "makemore.summary", *(a.format(tmp=tmp_path) for a in args), check=False), *words
    )


# --- summary: sweep folders built by hand ------------------------------------------------------------------


def job(sweep, num, overrides, val_nll=2.5, model="counts"):
    """A finished job's folder, as Hydra and train.py leave it."""
    folder = sweep / f"{num}_{','.join(overrides)}"
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  runtime:\n    choices:\n      model: {model}\n")
    if val_nll is not None:
        metrics = {"train_nll": 2.4, "val_nll": val_nll, "test_nll": 2.6, "steps": 10, "seconds": 0.1}
        (folder / "metrics.json").write_text(json.dumps(metrics))  # inf as Infinity, as train.py writes it
    return folder


def rows_of(sweep):
    return list(csv.DictReader((sweep / "summary.csv").open()))


def assert_png(path):
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


@pytest.mark.parametrize(
    "name, content, status",
    [
        ("metrics.json", "{not json", "failed: metrics.json is not valid JSON"),
        ("metrics.json", b"\xff\xfe{}", "failed: metrics.json is not UTF-8 text"),
        ("metrics.json", "[2.5]", "failed: metrics.json does not hold an object"),
        ("metrics.json", '{"val_nll": 2.5}', "failed: metrics.json has no train_nll"),
        (
            "metrics.json",
            '{"train_nll": 1, "val_nll": "low", "test_nll": 1, "seconds": 1}',
            'failed: metrics.json: val_nll is "low", not a number',
        ),
        ("metrics.json", "dir", "failed: metrics.json cannot be read: Is a directory"),
        (".hydra/overrides.yaml", "- [unclosed", "failed: .hydra/overrides.yaml is not valid YAML"),
        (".hydra/overrides.yaml", "seed: 1\n", "failed: .hydra/overrides.yaml is not a list of overrides"),
        (".hydra/hydra.yaml", "hydra: {}\n", "failed: .hydra/hydra.yaml does not name the model"),
        ("status.json", "{", "failed: status.json is not valid JSON"),
    ],
)
def test_a_damaged_job_file_is_that_jobs_status_and_the_rest_is_summarized(tmp_path, name, content, status):
    for num, smoothing in enumerate(["0.1", "1", "10"]):
        job(tmp_path, num, [f"smoothing={smoothing}"], val_nll=2.5 + num / 10)
    path = next(tmp_path.glob("1_*")) / name
    path.unlink(missing_ok=True)
    if content == "dir":
        path.mkdir()
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    summary.write(tmp_path, final=True)
    rows = rows_of(tmp_path)
    assert [(r["folder"][0], r["status"]) for r in rows] == [("0", "ok"), ("2", "ok"), ("1", status)]
    assert rows[-1]["val_nll"] == ""
    assert_png(tmp_path / "summary.png")


def sweep_config(sweep, folder):
    return OmegaConf.create(
        {
            "hydra": {
                "mode": RunMode.MULTIRUN,
                "sweep": {"dir": str(sweep)},
                "runtime": {"output_dir": str(folder)},
            }
        }
    )


def run_job(callback, sweep, folder, overrides, error=None):
    """What Hydra does for a job, with the callback, as far as the summary sees: .hydra/, the task's
    metrics."""
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / ".hydra" / "hydra.yaml").write_text("hydra:\n  runtime:\n    choices:\n      model: counts\n")
    config = sweep_config(sweep, folder)
    callback.on_job_start(config)
    if error is None:
        (folder / "metrics.json").write_text(json.dumps(dict.fromkeys(summary.METRICS, 2.5)))
    done = JobReturn(status=JobStatus.FAILED if error else JobStatus.COMPLETED, _return_value=error)
    callback.on_job_end(config, done)


def test_a_sweep_run_again_into_its_folder_summarizes_its_own_jobs_only(tmp_path):
    callback = summary.Summary()
    callback.on_multirun_start(sweep_config(tmp_path, tmp_path))
    run_job(callback, tmp_path, tmp_path / "0", ["seed=1"])
    run_job(callback, tmp_path, tmp_path / "1", ["seed=2"])
    callback.on_multirun_end(sweep_config(tmp_path, tmp_path))
    assert [r["seed"] for r in rows_of(tmp_path)] == ["1", "2"] and (tmp_path / "summary.png").exists()

    # hydra.sweep.subdir=${hydra.job.num}: folder 0 again, with new overrides and the old run's metrics.json,
    # which train.py refuses to run over
    callback.on_multirun_start(sweep_config(tmp_path, tmp_path))
    assert not (tmp_path / "summary.png").exists()
    run_job(
        callback, tmp_path, tmp_path / "0", ["seed=3"], MakemoreError("0 already holds a run's checkpoint")
    )
    rows = rows_of(tmp_path)
    assert [(r["seed"], r["val_nll"]) for r in rows] == [("3", "")]
    assert rows[0]["status"] == "failed: MakemoreError: 0 already holds a run's checkpoint"


@pytest.mark.parametrize(
    "finished, words",
    [
        (None, ["every job failed, the first with MakemoreError: lr=-1", "summary.csv has them all"]),
        ("stopped", ["no job finished (1 did not, 1 failed)"]),
    ],
)
def test_the_summary_of_a_sweep_without_a_result_exits_non_zero(tmp_path, finished, words):
    callback = summary.Summary()
    callback.on_multirun_start(sweep_config(tmp_path, tmp_path))
    run_job(
        callback, tmp_path, tmp_path / "0", ["lr=-1"], MakemoreError("lr=-1: must be a finite number > 0")
    )
    if finished == "stopped":  # a signal ends the job: no on_job_end
        callback.on_job_start(sweep_config(tmp_path, job(tmp_path, 1, ["lr=1"], val_nll=None)))
    else:
        run_job(
            callback, tmp_path, tmp_path / "1", ["lr=-2"], MakemoreError("lr=-2: must be a finite number > 0")
        )
    proc = cli("-m", "makemore.summary", str(tmp_path), check=False)
    assert_clear_error(proc, str(tmp_path), *words)
    assert len(rows_of(tmp_path)) == 2 and "failed" in proc.stdout  # written and shown all the same


def test_a_job_stopped_by_a_signal_did_not_finish_until_it_is_resumed(tmp_path):
    callback = summary.Summary()
    callback.on_multirun_start(sweep_config(tmp_path, tmp_path))
    folder = job(tmp_path, 0, ["seed=1"], val_nll=None)
    callback.on_job_start(sweep_config(tmp_path, folder))  # a signal ends the job: no on_job_end
    assert summary.collect(tmp_path)[0]["status"] == "did not finish"
    (folder / "metrics.json").write_text(json.dumps(dict.fromkeys(summary.METRICS, 2.5)))  # resumed by hand
    assert summary.collect(tmp_path)[0]["status"] == "ok"


def test_a_sweep_over_models_alone_gets_a_point_per_job(tmp_path):
    job(tmp_path, 0, ["model=counts"], val_nll=2.45)
    job(tmp_path, 1, ["model=neural"], val_nll=2.47, model="neural")
    fig = summary.figure(summary.collect(tmp_path))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["counts", "neural"]
    assert {t.get_text() for t in ax.texts} == {"2.4500", "2.4700"}
    summary.write(tmp_path, final=True)
    assert_png(tmp_path / "summary.png")


def test_an_integer_key_gets_integer_ticks(tmp_path):
    for seed in (1, 2, 3):
        job(tmp_path, seed, [f"seed={seed}"], val_nll=2.5 + seed / 100)
    ax = summary.figure(summary.collect(tmp_path)).axes[0]
    left, right = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if left <= t <= right]
    assert ticks == [1, 2, 3]


def test_an_infinite_result_is_marked_at_the_top_edge(tmp_path):
    for num, (smoothing, val_nll) in enumerate(
        [("0", float("inf")), ("0.1", 2.45), ("1", 2.46), ("100", 2.6)]
    ):
        job(tmp_path, num, [f"smoothing={smoothing}"], val_nll=val_nll)
    ax = summary.figure(summary.collect(tmp_path)).axes[0]
    (inf,) = [t for t in ax.texts if t.get_text() == "inf"]
    assert inf.xy == (0, 1)  # x = smoothing 0, y = the top edge (axes coordinates)
    assert ax.get_xscale() == "symlog"  # 0 shown, and 0.1 to 100 on a log scale
    summary.write(tmp_path, final=True)
    assert_png(tmp_path / "summary.png")


def test_no_picture_without_a_result(tmp_path):
    job(tmp_path, 0, ["seed=1"], val_nll=None)
    (tmp_path / "summary.png").write_bytes(b"an earlier summary's")
    assert summary.write(tmp_path, final=True)[0]["status"] == "did not finish"
    assert (tmp_path / "summary.csv").exists() and not (tmp_path / "summary.png").exists()
