"""The lecture's first model: count how often each token follows each window of `context` tokens, and
normalize: P = (N + smoothing) / row sums. Training is counting, in closed form (fit)."""

from dataclasses import dataclass

import numpy as np
import torch
from omegaconf import II

from makemore.config import ModelConfig
from makemore.models.base import Windowed


@dataclass
class CountsConfig(ModelConfig):
    _target_: str = "makemore.models.Counts"
    smoothing: float = II("smoothing")  # the run's top-level key (conf/config.yaml), which checks its range


class Counts(Windowed):
    """Only the windows seen in training are stored (X, with their counts N), so memory follows the data, not
    V**context; a window never seen has no counts, and P is uniform there when smoothing is 0."""

    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        self.smoothing = config.smoothing
        self.register_buffer("X", torch.zeros((0, self.context), dtype=torch.int64))  # windows seen, sorted
        self.register_buffer("N", torch.zeros((0, vocab_size), dtype=torch.int64))  # what followed each
        self.register_load_state_dict_pre_hook(self._resize)
        self._keys = None

    def fit(self, train):
        counted = train.counted(self.context, self.N.device)
        self.X, self.N = counted.X.clone(), counted.N.clone()
        self._keys = None

    def _resize(self, module, state_dict, prefix, *args):
        """A checkpoint's table has its own number of windows: take it before loading (the columns stay the
        model's, which loading checks), after checking that the table holds counts of windows of this
        vocabulary."""
        X, N = (state_dict.get(prefix + name) for name in ("X", "N"))
        if torch.is_tensor(X) and torch.is_tensor(N) and X.dim() == N.dim() == 2:
            _check_table(X, N, self.vocab_size)
            self.X = torch.empty((len(X), self.context), dtype=torch.int64, device=self.N.device)
            self.N = torch.empty((len(N), self.vocab_size), dtype=torch.int64, device=self.N.device)
        self._keys = None

    def rows(self, windows):
        """The row of X holding each window, and whether it is there at all."""
        if self._keys is None:
            self._keys = _as_keys(self.X.cpu().numpy())
        if len(self._keys) == 0:
            return torch.zeros(len(windows), dtype=torch.int64), torch.zeros(len(windows), dtype=torch.bool)
        wanted = _as_keys(windows.cpu().numpy())
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        return torch.from_numpy(at), torch.from_numpy(self._keys[at] == wanted)

    def next_logits(self, windows):
        at, seen = (t.to(windows.device) for t in self.rows(windows))
        N = torch.where(seen[:, None], self.N[at], 0).double()
        P = N + self.smoothing
        total = P.sum(1, keepdim=True)
        # A window never seen, without smoothing, has no counts to normalize: predict uniformly.
        P = torch.where(total > 0, P / total, 1.0 / self.vocab_size)
        return P.log()

    def heatmap(self):
        if self.context != 1:
            return None
        N = torch.zeros((self.vocab_size, self.vocab_size), dtype=torch.int64)
        N[self.X[:, 0].cpu()] = self.N.cpu()
        return N, "{:.0f}"


def _check_table(X, N, vocab_size):
    """ValueError unless X holds token ids and N as many rows of counts: what sampling and scoring can use."""
    if X.is_floating_point() or N.is_floating_point():
        raise ValueError(f"the count table X, N is {X.dtype}, {N.dtype}, not integers")
    if len(X) != len(N):
        raise ValueError(f"the count table has {len(X)} windows (X) but {len(N)} rows of counts (N)")
    if len(X) and not 0 <= int(X.min()) <= int(X.max()) < vocab_size:
        raise ValueError(f"the count table's windows (X) hold token ids outside [0, {vocab_size})")
    if len(N) and int(N.min()) < 0:
        raise ValueError(f"the count table (N) holds a negative count, {int(N.min())}")


def _as_keys(windows):
    """Windows (N, context) int64 as one comparable value each (their bytes), for an exact sorted look-up:
    big-endian, so that the bytes sort as the rows do (X is sorted by np.unique), whatever the size of the
    vocabulary."""
    windows = np.ascontiguousarray(windows, dtype=">i8")
    return windows.view(np.dtype((np.void, windows.shape[1] * 8)))[:, 0]
