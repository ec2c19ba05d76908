"""The lecture's first model: count the bigrams (or longer contexts) and normalize the rows."""

import torch

from makemore.models.base import LanguageModel


class Counts(LanguageModel):
    name = "counts"

    def __init__(self, vocab_size, context=1, smoothing=1.0):
        super().__init__(vocab_size, context)
        self.smoothing = smoothing
        self.register_buffer("N", torch.zeros((self.contexts, vocab_size), dtype=torch.int64))

    def fit(self, stats):
        if stats.rows is None:
            self.N.copy_(stats.N)
        else:
            self.N.zero_()
            self.N[stats.rows] = stats.N

    def _normalize(self, N, dtype):
        P = N.to(dtype) + self.smoothing
        total = P.sum(1, keepdim=True)
        # A context never seen, without smoothing, has no counts to normalize: predict uniformly.
        return torch.where(total > 0, P / total, 1.0 / self.vocab_size)

    def log_probs(self, rows=None):
        N = self.N if rows is None else self.N[rows]
        return self._normalize(N, torch.float64).log()

    def heatmap(self):
        return self.N, "{:.0f}"

    def probs(self):
        # float32 as in the lecture, so that its samples come out the same for the same seed
        return self._normalize(self.N, torch.float32)
