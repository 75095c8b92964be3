"""The CNN discriminator of the official code (``discriminator.py``, after Kim 2014).

embedding -> one convolution per filter size over whole embedding rows -> ReLU ->
max-pool over time -> concat -> one highway layer -> dropout -> linear to 2 classes
(index 1 = real). Rewards use the probability of "real" with no dropout, as the official
rollout feeds ``dropout_keep_prob: 1.0``.

Formulation choices (measured in docs/benchmarks.md):
- each convolution is a channels-last 2-D convolution over the (B, T, E) embedding as it
  lies in memory, in training and in scoring;
- max-pool before ReLU (relu(max x) = max(relu x)): one pass over (B, F) instead of
  over every window. The max is ``max_pool2d``, whose backward sends the gradient to one
  window, as TF's ``max_pool`` gradient in the official code does (``amax`` splits it among
  tied windows; in fp32 ties come from identical windows, whose gradients are the same);
- the highway's transform and gate are one (F, 2F) GEMM;
- :meth:`score_with_known_prefix` reuses the conv windows that lie inside a prefix the
  sequences share with an already-embedded sample: the rollout hot path.

``formulation`` picks how the convolutions + max-pool of training and whole-row scoring
are computed: ``conv`` as above (one convolution per filter size), or ``gemm``: the filter
sizes split into ``gemm_groups`` runs, each run one GEMM over windows as wide as its widest
filter (narrower filters zero-padded, windows past a filter's end masked out of the max).
``gemm`` computes more FLOPs in fewer, larger kernels, for devices where launches and
small kernels dominate; both are the same function up to float rounding (a test).
``auto`` takes ``AUTO_FORMULATION``'s entry for the device the input lies on.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SCORE_CHUNK_ROWS = 4096
# formulation per device type for ``formulation="auto"``, chosen by measurement
# (benchmarks/bench_d_formulations.py, docs/benchmarks.md); CUDA has no measurement yet
# (benchmarks/gpu.sh times both), so it keeps the CPU's choice
AUTO_FORMULATION = {"cpu": "conv", "cuda": "conv"}
FORMULATIONS = ("auto", "conv", "gemm")


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 (autocast) results up to float32; float32 and float64 stay as they are."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


class Discriminator(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        emb_dim: int,
        filter_sizes: tuple[int, ...],
        num_filters: tuple[int, ...],
        dropout: float,
        l2_reg: float,
        formulation: str = "auto",
        gemm_groups: int = 3,
    ) -> None:
        super().__init__()
        if formulation not in FORMULATIONS:
            raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")
        self.dropout = dropout
        self.l2_reg = l2_reg
        self.formulation = formulation
        self.gemm_groups = gemm_groups
        self._groups: dict[int, list[tuple[int, int]]] = {}  # seq_len -> filter index runs
        self._masks: dict[tuple, torch.Tensor] = {}  # gemm's past-the-end windows, per shape
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(emb_dim, n, kernel_size=k)
            for k, n in zip(filter_sizes, num_filters, strict=True)
        )
        self.num_features = sum(num_filters)
        self.highway = nn.Linear(self.num_features, 2 * self.num_features)  # [transform; gate]
        self.output = nn.Linear(self.num_features, 2)

    def reset_parameters_official(self, generator: torch.Generator | None = None) -> None:
        """The official initializers: U(-1, 1) embedding, truncated N(0, 0.1) convs and
        output with bias 0.1, and TF's default Glorot-uniform for the two highway linears."""
        g = generator
        n = self.num_features
        with torch.no_grad():
            self.embedding.weight.uniform_(-1.0, 1.0, generator=g)
            for conv in self.convs:
                nn.init.trunc_normal_(conv.weight, std=0.1, a=-0.2, b=0.2, generator=g)
                conv.bias.fill_(0.1)
            bound, bias_bound = math.sqrt(6.0 / (2 * n)), math.sqrt(3.0 / n)
            for half in (slice(0, n), slice(n, 2 * n)):  # glorot per (n, n) matrix
                self.highway.weight[half].uniform_(-bound, bound, generator=g)
                self.highway.bias[half].uniform_(-bias_bound, bias_bound, generator=g)
            nn.init.trunc_normal_(self.output.weight, std=0.1, a=-0.2, b=0.2, generator=g)
            self.output.bias.fill_(0.1)

    # ------------------------------------------------------------------ pieces
    def _conv_max(self, conv: nn.Conv1d, emb: torch.Tensor) -> torch.Tensor:
        """Max over windows of one conv: emb (B, L, E) -> (B, n), before ReLU.

        A channels-last 2-D convolution, for which (B, L, E) already is the memory layout
        and the max runs over an outer dimension: measured fastest on CPU for scoring and
        for training in fp32 and bf16 (``conv1d`` on the transposed embedding copies it per
        filter size; docs/benchmarks.md). ``max_pool2d``'s backward is one scatter, against
        five passes for ``amax``'s. A single window is a plain GEMM.
        """
        f = conv.kernel_size[0]
        if emb.shape[1] == f:  # one window: a plain GEMM on the flattened window
            w = conv.weight.transpose(1, 2).reshape(conv.out_channels, -1)  # (n, f E)
            return F.linear(emb.reshape(emb.shape[0], -1), w, conv.bias)
        x = emb.transpose(1, 2).unsqueeze(2)  # (B, E, 1, L), channels-last in memory
        y = F.conv2d(x, conv.weight.unsqueeze(2), conv.bias)  # (B, n, 1, W), channels-last
        return F.max_pool2d(y, kernel_size=(1, y.shape[3])).flatten(1)  # (B, n)

    def _head(self, pooled: torch.Tensor) -> torch.Tensor:
        """Highway over max-pooled conv features (B, F) -> (B, F)."""
        h = F.relu(pooled)
        lin, gate = self.highway(h).chunk(2, dim=1)  # each (B, F)
        t = torch.sigmoid(gate)
        return t * F.relu(lin) + (1.0 - t) * h

    def features(self, seqs: torch.Tensor) -> torch.Tensor:
        """Highway features of seqs (B, T) -> (B, F)."""
        return self._head(self._pooled(seqs))

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 2), with dropout when the module is in training mode."""
        h = F.dropout(self.features(seqs), p=self.dropout, training=self.training)
        return self._logits_fp32(h)  # (B, 2)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy + l2_reg * tf.nn.l2_loss of the output layer (sum(w^2) / 2)."""
        l2 = 0.5 * (self.output.weight.square().sum() + self.output.bias.square().sum())
        return F.cross_entropy(at_least_fp32(logits), labels) + self.l2_reg * l2

    def _logits_fp32(self, h: torch.Tensor) -> torch.Tensor:
        """The (F, 2) output layer, in at least fp32 even under autocast: it costs nothing
        and rounding its 1,720-term dot products to bf16 is most of bf16's reward error."""
        with torch.autocast(h.device.type, enabled=False):
            return self.output(at_least_fp32(h))  # (B, 2)

    def _prob_from_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        logits = self._logits_fp32(self._head(pooled))  # (B, 2)
        return torch.softmax(logits, dim=-1)[:, 1]

    # ------------------------------------------------------------------ scoring
    @torch.no_grad()
    def prob_real(self, seqs: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        """P(real) for seqs (B, T) -> (B,) float32, never with dropout (the rewards' definition).

        In chunks of ``batch_size`` rows; by default ``SCORE_CHUNK_ROWS`` on a CPU (cache)
        and all rows at once on a GPU (launches)."""
        if batch_size is None:
            batch_size = SCORE_CHUNK_ROWS if seqs.device.type == "cpu" else max(len(seqs), 1)
        outs = [self._prob_from_pooled(self._pooled(chunk)) for chunk in seqs.split(batch_size)]
        return torch.cat(outs) if outs else seqs.new_zeros(0, dtype=torch.float32)

    def _pooled(self, seqs: torch.Tensor) -> torch.Tensor:
        """Max-pooled conv features before ReLU: seqs (B, T) -> (B, F)."""
        emb = self.embedding(seqs)  # (B, T, E)
        form = self.formulation
        if form == "auto":
            form = AUTO_FORMULATION.get(emb.device.type, "conv")
        if form == "gemm":
            runs = self._groups.get(emb.shape[1])
            if runs is None:
                runs = self._groups[emb.shape[1]] = gemm_runs(
                    [c.kernel_size[0] for c in self.convs],
                    [c.out_channels for c in self.convs],
                    emb.shape[1],
                    self.gemm_groups,
                )
            parts = [self._gemm_max(a, b, emb) for a, b in runs]
        else:
            parts = [self._conv_max(conv, emb) for conv in self.convs]
        return torch.cat(parts, dim=1)  # (B, F)

    def _gemm_max(self, a: int, b: int, emb: torch.Tensor) -> torch.Tensor:
        """Max over windows of convs a..b-1 as one GEMM: emb (B, T, E) -> (B, n), before
        ReLU, n = their filters. Windows are ``k_max`` wide (each filter's weight
        zero-padded to it, the embedding zero-padded at the end), one per start position a
        filter of the run can use; a filter's windows past its last valid start are masked
        out. The max is ``max`` with indices, whose backward sends the gradient to one
        window, like ``max_pool2d``'s."""
        convs = self.convs[a:b]
        batch, t, e = emb.shape
        widths = [c.kernel_size[0] for c in convs]
        k_max, k_min = max(widths), min(widths)
        starts = t - k_min + 1  # start positions the narrowest filter has
        win = F.pad(emb, (0, 0, 0, k_max - k_min)).unfold(1, k_max, 1)  # (B, P, E, K)
        weight = torch.cat([F.pad(c.weight, (0, k_max - c.kernel_size[0])) for c in convs])
        bias = torch.cat([c.bias for c in convs])  # (n,)
        out = F.linear(win.reshape(batch, starts, e * k_max), weight.flatten(1), bias)  # (B, P, n)
        if k_max > k_min:
            out = out.masked_fill(self._past_end(a, b, t, emb.device), float("-inf"))
        return out.max(dim=1).values  # (B, n)

    def _past_end(self, a: int, b: int, t: int, device: torch.device) -> torch.Tensor:
        """(P, n) bool: start p lies past the last valid one of filter j of convs a..b-1.
        Made once per shape and device (before any CUDA graph capture, whose first call
        runs eagerly), so that a captured pass copies nothing from the host."""
        key = (a, b, t, str(device))
        mask = self._masks.get(key)
        if mask is None:
            last = [t - c.kernel_size[0] for c in self.convs[a:b] for _ in range(c.out_channels)]
            starts = t - min(c.kernel_size[0] for c in self.convs[a:b]) + 1
            mask = self._masks[key] = (
                torch.arange(starts)[:, None] > torch.tensor(last)[None, :]
            ).to(device)
        return mask

    @torch.no_grad()
    def score_with_known_prefix(
        self,
        seqs: torch.Tensor,
        prefix_len: torch.Tensor,
        source: torch.Tensor,
        samples: torch.Tensor,
    ) -> torch.Tensor:
        """P(real) of seqs (M, T) whose first ``prefix_len[m]`` tokens equal those of
        ``samples[source[m]]`` (samples (B, T)) -> (M,).

        A conv window wholly inside that prefix has the same value as in the sample, so
        the samples' windows are computed once and their running max over windows stands
        in for all of them; only windows reaching past the prefix are computed per row.
        Equal to :meth:`prob_real` up to float rounding.
        """
        seq_len = seqs.shape[1]
        emb_s = self.embedding(samples).transpose(1, 2)  # (B, E, T)
        # running max over windows 0..w of each sample: (B, n_k, W_k); B rows only
        prefix_max = [conv(emb_s).cummax(dim=2).values for conv in self.convs]
        pooled = seqs.new_empty((seqs.shape[0], self.num_features), dtype=emb_s.dtype)  # (M, F)
        for t in torch.unique(prefix_len).tolist():
            idx = (prefix_len == t).nonzero().squeeze(1)  # rows sharing t
            for chunk in idx.split(SCORE_CHUNK_ROWS):
                src = source[chunk]
                emb = self.embedding(seqs[chunk])  # (c, T, E)
                parts = []
                for conv, pmax in zip(self.convs, prefix_max, strict=True):
                    f = conv.kernel_size[0]
                    n_windows = seq_len - f + 1
                    first_new = max(0, t - f + 1)  # first window reaching past the prefix
                    if first_new >= n_windows:
                        parts.append(pmax[src, :, n_windows - 1])  # all windows inside
                        continue
                    new = self._conv_max(conv, emb[:, first_new:])  # (c, n)
                    parts.append(
                        new if first_new == 0 else torch.maximum(new, pmax[src, :, first_new - 1])
                    )
                pooled[chunk] = torch.cat(parts, dim=1).to(pooled.dtype)
        outs = [self._prob_from_pooled(p) for p in pooled.split(SCORE_CHUNK_ROWS)]
        return torch.cat(outs)


def gemm_runs(
    widths: list[int], counts: list[int], seq_len: int, groups: int
) -> list[tuple[int, int]]:
    """Splits the filters, in their order, into at most ``groups`` contiguous runs
    [a, b) whose padded GEMMs compute the fewest multiply-adds in all: a run costs
    (its filters) x (its widest width) x (start positions of its narrowest). Columns stay
    in the convs' order, so the highway sees the features where ``conv`` puts them."""
    n = len(widths)

    def cost(a: int, b: int) -> int:
        return sum(counts[a:b]) * max(widths[a:b]) * (seq_len - min(widths[a:b]) + 1)

    # best[g][b]: (cost, cut) of the first b filters in g runs
    inf = (float("inf"), 0)
    best = [[inf] * (n + 1) for _ in range(groups + 1)]
    best[0][0] = (0, 0)
    for g in range(1, groups + 1):
        for b in range(1, n + 1):
            best[g][b] = min(((best[g - 1][a][0] + cost(a, b), a) for a in range(b)), default=inf)
    g = min(range(1, groups + 1), key=lambda k: best[k][n][0])
    runs, b = [], n
    while b > 0:
        a = best[g][b][1]
        runs.append((a, b))
        b, g = a, g - 1
    return runs[::-1]
