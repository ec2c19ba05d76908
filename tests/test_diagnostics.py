"""diagnostics=true: makemore part 3's plots of every layer in TensorBoard, and the character embedding in its
projector, read back with TensorBoard's own reader."""

import math

import pytest
from google.protobuf import text_format
from helpers import after_a_second, compose_config, events
from tensorboard.plugins.custom_scalar.layout_pb2 import Layout
from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

from makemore.models import MODELS
from makemore.training import run

SMALL = (
    "model.n_hidden=16",
    "model.n_layer=2",
    "batch_size=16",
    "eval_interval=2",
    "sample.count=2",
    "figures=false",
)


def logged(folder):
    """(histogram tags, scalar tags, the custom scalars layout or None) of a run folder."""
    acc = events(folder)
    tags = acc.Tags()
    layout = None
    if "custom_scalars__config__" in tags["tensors"]:
        layout = Layout.FromString(acc.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0])
    return set(tags["histograms"]), set(tags["scalars"]), layout


def projector(folder):
    return text_format.Parse((folder / "projector_config.pbtxt").read_text(), ProjectorConfig()).embeddings


def test_a_diagnostics_run_shows_the_lectures_four_plots_and_the_projector(train_run, names_subset):
    out, _ = train_run(
        "model=mlp",
        "model.batchnorm=true",
        *SMALL,
        f"data.path={names_subset}",
        "steps=4",
        "diagnostics=true",
    )
    histograms, scalar_tags, layout = logged(out)
    acc = events(out)
    for layer in ("hidden.2", "hidden.5"):  # Linear, BatchNorm1d, Tanh, twice
        assert {f"activations/{layer}/histogram", f"activations/{layer}/gradient"} <= histograms
        assert {f"activations/{layer}/{s}" for s in ("mean", "std", "saturation")} <= scalar_tags
        saturation = acc.Scalars(f"activations/{layer}/saturation")
        assert [e.step for e in saturation] == [0, 2] and all(0 <= e.value <= 100 for e in saturation)
    for weight in ("C.weight", "hidden.0.weight", "hidden.3.weight", "out.weight"):
        assert f"gradients/{weight}/histogram" in histograms
        assert {f"gradients/{weight}/grad_to_data", f"updates/{weight}/log10_update_to_data"} <= scalar_tags
    hist = acc.Histograms("gradients/out.weight/histogram")[0].histogram_value
    assert hist.num > 0 and hist.max > hist.min
    # lr * std(grad) / std(weight), from the ratio logged beside it (the mlp's lr is 0.05)
    ratio = acc.Scalars("gradients/out.weight/grad_to_data")[0].value
    update = acc.Scalars("updates/out.weight/log10_update_to_data")[0].value
    assert update == pytest.approx(math.log10(0.05 * ratio), abs=1e-4)
    assert [e.value for e in acc.Scalars("updates/guide_1e-3")] == [-3, -3]
    charts = {c.title: list(c.multiline.tag) for cat in layout.category for c in cat.chart}
    assert r"activations/.*/saturation" in sum(charts.values(), [])
    assert r"updates/.*" in sum(charts.values(), [])
    (embedding,) = projector(out)
    assert embedding.tensor_name.startswith("characters/C")
    assert (out / embedding.metadata_path).read_text().split() == [".", *"abcdefghijklmnopqrstuvwxyz"]


def test_without_diagnostics_a_run_has_none_of_them(train_run, names_subset):
    out, _ = train_run("model=mlp", "model.batchnorm=true", *SMALL, f"data.path={names_subset}", "steps=4")
    histograms, scalar_tags, layout = logged(out)
    assert not histograms and layout is None and not (out / "projector_config.pbtxt").exists()
    assert scalar_tags == {"train/loss", "train/nll", "val/nll", "test/nll"}


def test_a_transformer_shows_its_gelu_layers_and_embedding(train_run, names_subset):
    out, _ = train_run(
        "model=transformer",
        *MODELS["transformer"].tiny,
        f"data.path={names_subset}",
        "steps=2",
        "eval_interval=1",
        "sample.count=2",
        "diagnostics=true",
    )
    histograms, scalar_tags, _ = logged(out)
    gelu = [t for t in histograms if t.startswith("activations/") and t.endswith("/gradient")]
    assert gelu and all(f"{t[: -len('gradient')]}std" in scalar_tags for t in gelu)
    assert "updates/wte.weight/log10_update_to_data" in scalar_tags
    assert [e.tensor_name for e in projector(out)] == ["characters/wte:00002"]  # not the positions' embedding


def test_a_resumed_run_keeps_the_first_runs_projector_entry(train_run, names_subset):
    common = ("model=mlp", *SMALL, "scheduler=constant", f"data.path={names_subset}", "diagnostics=true")
    half, _ = train_run(*common, "steps=2")
    after_a_second(half)
    run(compose_config(*common, "steps=4", f"resume={half}"), half)
    assert [e.tensor_name for e in projector(half)] == ["characters/C:00002", "characters/C:00004"]
    assert all((half / e.tensor_path).exists() for e in projector(half))
