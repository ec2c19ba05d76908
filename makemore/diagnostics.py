"""Makemore part 3's diagnostics in TensorBoard (`diagnostics=true`): at each evaluation, of the training
step's own forward and backward pass, every activation layer's output and its gradient, every weight matrix's
gradient and its grad:data and update:data ratios; and at the end, the character embedding in the projector.

Layers are found by module type, so every model has them without code of its own."""

from pathlib import Path

import torch
from google.protobuf import text_format
from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
from torch import nn

ACTIVATIONS = (nn.Tanh, nn.GELU, nn.ReLU)
SATURATED = 0.97  # the lecture's threshold: a tanh output past it passes almost no gradient back
# a histogram is of an even subsample of this many: its shape, at a fraction of the cost
HISTOGRAM_VALUES = 1 << 14
GUIDE = -3  # the lecture's rule of thumb: updates of about 1e-3 of the weights
LAYOUT = {
    "diagnostics": {  # every layer of one statistic on one chart, as the lecture plots them
        "tanh saturation (%)": ["Multiline", [r"activations/.*/saturation"]],
        "activation std": ["Multiline", [r"activations/.*/std"]],
        "grad:data, std(grad) / std(weight)": ["Multiline", [r"gradients/.*/grad_to_data"]],
        "log10 update:data, std(lr * grad) / std(weight)": ["Multiline", [r"updates/.*"]],
    }
}


def histogram(writer, tag, values, step, bins=64):
    """The histogram of an even subsample of the values, counted by torch and handed to TensorBoard as counts:
    its own add_histogram takes the sum of squares with numpy's dot, which is slow on some BLAS builds."""
    v = values.detach().flatten()
    v = v[:: max(1, len(v) // HISTOGRAM_VALUES)].double()
    lo, hi = v.min().item(), v.max().item()
    hi = hi if hi > lo else lo + 1  # one value: one bucket holds it
    counts = torch.histc(v, bins=bins, min=lo, max=hi)
    limits = torch.linspace(lo, hi, bins + 1)[1:]
    writer.add_histogram_raw(
        tag, lo, hi, len(v), v.sum().item(), v.dot(v).item(), limits.tolist(), counts.tolist(), step
    )


class Watch:
    """Hooks that record the training pass of the step set as `step` (None: no step), and log it to `writer`
    before the optimizer changes the weights (its step pre-hook: gradients are complete, the weights not yet
    updated)."""

    def __init__(self, model, optimizer, writer):
        self.writer, self.step = writer, None
        self.layers = {name: m for name, m in model.named_modules() if isinstance(m, ACTIVATIONS)}
        self.weights = {
            name: p for name, p in model.named_parameters() if any(p is w for w in model.weights())
        }
        self.outputs, self.grads = {}, {}  # by layer: a pass may run in parts (a full batch of many windows)
        for name, layer in self.layers.items():
            layer.register_forward_hook(lambda m, args, out, name=name: self.record(name, out))
        optimizer.register_step_pre_hook(
            lambda optimizer, args, kwargs: self.log(optimizer.param_groups[0]["lr"])
        )
        writer.add_custom_scalars(LAYOUT)

    def record(self, name, out):
        if self.step is None or not out.requires_grad:  # evaluation and sampling run without gradients
            return
        self.outputs.setdefault(name, []).append(out.detach())
        out.register_hook(lambda grad: self.grads.setdefault(name, []).append(grad))

    def log(self, lr):
        if self.step is None:
            return
        stats, tags, w = [], [], self.writer
        for name, layer in self.layers.items():
            if name not in self.outputs:
                continue
            out = torch.cat([t.flatten() for t in self.outputs[name]]).float()
            stats += [out.mean(), out.std()]
            tags += [f"activations/{name}/mean", f"activations/{name}/std"]
            if isinstance(layer, nn.Tanh):
                stats.append((out.abs() > SATURATED).float().mean() * 100)
                tags.append(f"activations/{name}/saturation")
            histogram(w, f"activations/{name}/histogram", out, self.step)
            if name in self.grads:
                grad = torch.cat([g.flatten() for g in self.grads[name]])
                histogram(w, f"activations/{name}/gradient", grad, self.step)
        for name, p in self.weights.items():
            if p.grad is None:
                continue
            ratio = p.grad.std() / p.detach().std()
            stats += [ratio, torch.log10(lr * ratio)]  # std(lr * grad) is lr * std(grad)
            tags += [f"gradients/{name}/grad_to_data", f"updates/{name}/log10_update_to_data"]
            histogram(w, f"gradients/{name}/histogram", p.grad, self.step)
        for tag, value in zip(tags, torch.stack(stats).tolist() if stats else []):  # one copy off the device
            w.add_scalar(tag, value, self.step)
        w.add_scalar("updates/guide_1e-3", GUIDE, self.step)
        self.outputs, self.grads, self.step = {}, {}, None


def label(ch):
    """A character as the projector's metadata shows it: whitespace quoted, so that it is seen (and a tab is
    no column)."""
    return ch if ch.strip() else repr(ch)


def project(writer, model, itos, step):
    """The character embeddings (an embedding of one row per character) in TensorBoard's projector, each point
    labelled with its character (the end token is the lecture's '.'). The writer rewrites
    projector_config.pbtxt with only its own embeddings: those a run resumed into this folder wrote before are
    kept."""
    path = Path(writer.get_logdir()) / "projector_config.pbtxt"
    before = text_format.Parse(path.read_text(), ProjectorConfig()) if path.exists() else ProjectorConfig()
    for name, m in model.named_modules():
        if isinstance(m, nn.Embedding) and m.num_embeddings == len(itos):
            writer.add_embedding(
                m.weight.detach().cpu(), [label(c) for c in itos], global_step=step, tag=f"characters/{name}"
            )
    if not path.exists():
        return
    now = text_format.Parse(path.read_text(), ProjectorConfig())
    kept = [e for e in before.embeddings if e.tensor_path not in {n.tensor_path for n in now.embeddings}]
    merged = ProjectorConfig(embeddings=[*kept, *now.embeddings])
    path.write_text(text_format.MessageToString(merged))
