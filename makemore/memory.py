"""Memory is estimated before it is spent: a large allocation that would not fit is refused in one line that
names the key to change."""

import math
import os
from dataclasses import fields, replace
from pathlib import Path

import torch
from torch.utils._pytree import tree_leaves

from makemore import MakemoreError

# What training holds of every weight at its peak: itself, its gradient and an optimizer's two moments
# (AdamW's), and what a step makes besides: a gathered weight's gradient made whole before it is added (the
# neural table's), an optimizer's temporaries as large as its moments, and what the allocator keeps of the
# step before (together, nearly one more copy), with a copy to spare for the activations, which are checked on
# their own.
COPIES = 6
# What a tensor saved for the backward pass costs beyond its data: its allocation, its tensor and storage
# objects, the autograd node that holds it. A recurrence saves a few tiny ones a character: at one word a
# step, most of its memory.
TENSOR_BYTES = 4 << 10
PROBE = 8  # predictions a forward pass is measured on, and scaled from
# bytes below which an estimate is not checked: reading /proc/meminfo costs more than it can save
SMALL = 1 << 26
LECTURE_VOCAB = 27  # a vocabulary that no machine finds large: '.' and the 26 letters


def available():
    """Bytes of memory this process may still take: the least of what the machine has free (Linux:
    MemAvailable; elsewhere: all of it), what its cgroups leave (a container's or a service's limit) and what
    its address-space limit leaves (`ulimit -v`). Past any of them an allocation fails, or the process is
    killed."""
    return min(_machine(), _cgroups(), _address_space())


def _machine():
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # no sysconf (Windows): nothing to say
            return math.inf


def _address_space():
    """RLIMIT_AS less the address space the process has mapped already (VmSize: torch's libraries alone are
    hundreds of MB of it)."""
    try:
        import resource  # not on Windows
    except ImportError:
        return math.inf
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return math.inf
    try:
        with open("/proc/self/status") as f:
            mapped = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):  # no /proc (macOS): the limit is all that is known
        mapped = 0
    return max(0, limit - mapped)


def _cgroups(root=Path("/sys/fs/cgroup"), membership=Path("/proc/self/cgroup")):
    """The least that the process's memory cgroups leave, its own and each above it (each limits all below):
    v2's memory.max less memory.current, v1's memory.limit_in_bytes less memory.usage_in_bytes. A cgroup path
    that is not under the mount (a container that sees only its own cgroup, as the mount's root) falls back to
    the root."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return math.inf
    least = math.inf
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            mount, limit, usage = root, "memory.max", "memory.current"
        elif "memory" in controllers.split(","):
            mount, limit, usage = root / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        folder = mount / path.lstrip("/")
        while True:
            least = min(least, _room(folder, limit, usage))
            if folder == mount:
                break
            folder = folder.parent
    return least


def _room(folder, limit, usage):
    """What a cgroup's limit leaves: inf where it has none ("max", or no such file)."""
    try:
        text = (folder / limit).read_text().strip()
        return math.inf if text == "max" else max(0, int(text) - int((folder / usage).read_text()))
    except (OSError, ValueError):
        return math.inf


def fits(nbytes):
    return nbytes <= SMALL or nbytes <= available()


def require(nbytes, what, advice):
    """Refuse `what`, which needs about `nbytes`, where it would not fit: the message says how to avoid it."""
    if fits(nbytes):
        return
    if nbytes >= 2**63:  # inf where a shape overflows: past any machine, and past counting
        raise MakemoreError(f"{what} need more bytes than int64 can count: {advice}")
    raise MakemoreError(
        f"{what} need about {nbytes / 2**30:,.1f} GiB, but {available() / 2**30:.1f} GiB of memory "
        f"is available: {advice}"
    )


# --- models ---------------------------------------------------------------------------------------------


def _nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


def on_meta(cls, config, vocab_size):
    """The model built on the meta device, where shapes are real and nothing is allocated; None where a shape
    overflows int64 (too large even to count)."""
    try:
        with torch.device("meta"):
            return cls(config, vocab_size)
    except (TypeError, RuntimeError, OverflowError) as e:
        if "overflow" not in str(e).lower():
            raise
        return None


def model_bytes(model, copies=COPIES):
    """`copies` of every weight of a model (on the meta device or not), and its buffers once."""
    return math.inf if model is None else copies * _nbytes(model.parameters()) + _nbytes(model.buffers())


def check_model(cls, config, vocab_size):
    """Refuse, before anything is allocated, a model (its class and config) whose weights, with their
    gradients and optimizer state, would not fit in memory; the message names the key that makes it large."""
    model = on_meta(cls, config, vocab_size)
    need = model_bytes(model)
    if fits(need):
        return
    weights = list(model.named_parameters()) if model is not None else []
    if len(weights) == 1:
        name, w = weights[0]
        what = f"the {cls.__name__} model's {name} of {' x '.join(f'{n:,}' for n in w.shape)} weights"
    else:
        what = (
            f"the {cls.__name__} model's {sum(w.numel() for _, w in weights):,} weights"
            if weights
            else f"the {cls.__name__} model's weights"
        )
    require(need, what, _culprit(cls, config, vocab_size, need))


def _culprit(cls, config, vocab_size, need):
    """Advice naming the key whose value makes the model large: each size key in turn is set to a modest value
    (context to 1, a model key to its default), and of those that at least halve the model, the one that
    leaves it smallest is to blame. The data's vocabulary is blamed only where no key makes it fit, as a file
    is harder to change than a key; where none halves it, every size key is named."""
    defaults = {f.name: f.default for f in fields(config)} | {"context": 1}
    sizes = _sizes(config)
    trials = [
        (k, {k: defaults[k]}, vocab_size)
        for k, v in sizes.items()
        if isinstance(defaults.get(k), int) and v > defaults[k]
    ]
    if vocab_size > LECTURE_VOCAB:
        trials.append(("data.path", {}, LECTURE_VOCAB))
    shrunk = []
    for key, change, vocab in trials:
        try:
            smaller = model_bytes(on_meta(cls, replace(config, **change), vocab))
        except MakemoreError:  # a combination the model refuses (n_embd that n_head does not divide)
            continue
        if 2 * smaller <= need:
            shrunk.append((not fits(smaller), key == "data.path", smaller, key))
    if not shrunk:
        return smaller_model(config)
    key = min(shrunk)[-1]
    if key == "data.path":
        return fewer_characters(vocab_size)
    return "use a shorter context" if key == "context" else f"use a smaller {_key(key)}"


def _key(name):
    """A model's key as the command line names it."""
    return name if name == "context" else f"model.{name}"


def _sizes(config):
    """The integer keys of a model's config (its dataclass or node): what makes it large."""
    keys = config.keys() if hasattr(config, "keys") else [f.name for f in fields(config)]
    values = {k: getattr(config, k) for k in keys}
    return {k: v for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)}


def smaller_model(config):
    """Advice naming every size key of a model's config (its dataclass or node), as the command line names
    them."""
    return "use a smaller model (" + ", ".join(f"{_key(k)}={v}" for k, v in _sizes(config).items()) + ")"


def fewer_characters(vocab_size):
    """Advice where the data's vocabulary is what makes something large."""
    return f"the data has {vocab_size - 1:,} distinct characters (data.path)"


# --- what a forward pass holds ----------------------------------------------------------------------------


def activations(model, T, grad):
    """Bytes one sequence of T tokens (pad included) costs in a forward pass. In training: what autograd saves
    for the backward pass, and as much again for the gradients made from it; without gradients: a few of the
    largest outputs of the model's modules at once."""
    saved, largest = _probe(model, T, grad)
    return _scaled(2 * sum(saved.values()) if grad else 3 * largest, model, T)


def saved_tensors(model, T):
    """Bytes a training step on sequences of T tokens spends on the tensors it saves beyond their data,
    however many sequences it takes at once (they share each tensor)."""
    saved, _ = _probe(model, T, grad=True)
    return _scaled(TENSOR_BYTES * len(saved), model, T)


def _scaled(nbytes, model, T):
    """What a probe's `nbytes` come to at T tokens: every model's cost grows with the number of
    predictions."""
    n = T - model.pad
    return nbytes * n // min(n, PROBE)


def _probe(model, T, grad):
    """A forward pass of one sequence of at most PROBE predictions: the distinct tensors it saves for the
    backward pass ({address: bytes}; one may be saved by several operations), and the bytes of the largest
    output of its modules. (Hooks, not a dispatch mode, which imports torch._dynamo into every command.)"""
    weights = {p.data_ptr() for p in model.parameters()}
    saved, largest = {}, 0

    def pack(tensor):
        if tensor.data_ptr() not in weights:
            saved[tensor.data_ptr()] = max(saved.get(tensor.data_ptr(), 0), _nbytes([tensor]))
        return tensor

    def output(module, args, out):
        nonlocal largest
        largest = max(largest, _nbytes(t for t in tree_leaves(out) if torch.is_tensor(t)))

    hooks = [m.register_forward_hook(output) for m in model.modules()]
    training = model.training
    model.eval()  # a probe of one example: BatchNorm's statistics over a batch of one are not to be had
    try:
        with (
            torch.set_grad_enabled(grad),
            torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor),
        ):
            model(
                torch.zeros(
                    (1, model.pad + min(T - model.pad, PROBE)), dtype=torch.int64, device=model.device
                )
            )
    finally:
        model.train(training)
        for hook in hooks:
            hook.remove()
    return saved, largest
