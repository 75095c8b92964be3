"""D's update step and its retraining round, with one host sync per round.

A round is ``d_epochs`` passes over positives + negatives in whole batches (the official
``dis_dataloader``). Every step's loss and correct count are added on the device, so the
host waits once per round instead of twice per step: on a GPU the per-step ``.item()``
stalls, not the FLOPs, bound the round. The sums are float64 and int64, added in step
order, so the mean loss equals a Python sum of each step's float32 loss bit for bit.

On CUDA (``run.cuda_graphs``) each pass is one CUDA graph replay: the first round runs
eagerly (it creates Adam's state and warms up the libraries), then one pass of steps is
captured over a static (n_batches * B, T) buffer, and every later pass copies its shuffled
batch order into that buffer and replays. Dropout under capture draws from the CUDA
generator's Philox stream, which a replay reads at replay time, so the round's keyed
``torch.manual_seed`` still decides the masks. Adam must be ``capturable`` for this
(``Learner`` builds it so). Anything that replaces the optimizer's state tensors (loading
a checkpoint) must call :meth:`DRound.invalidate`, since a graph holds their addresses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from ..models import Discriminator


class DRound:
    """Runs D's steps for one learner: eagerly, or as graph replays on CUDA."""

    def __init__(
        self, discriminator: Discriminator, opt: torch.optim.Optimizer, bf16: bool, graphs: bool
    ) -> None:
        self.discriminator, self.opt, self.bf16 = discriminator, opt, bf16
        self.device = next(discriminator.parameters()).device
        self.graphs = graphs and self.device.type == "cuda"
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static: tuple[torch.Tensor, torch.Tensor] | None = None  # (N, T), (N,)
        self._eager_rounds = 0
        # eager rounds before the capture run on the stream the capture will use, as
        # PyTorch's capture recipe asks (warm-up on a side stream: library handles and
        # workspaces exist there before capture)
        self._stream = torch.cuda.Stream(self.device) if self.graphs else None
        # (loss sum, correct count), on the device; a captured graph adds into these
        self.sums = (
            torch.zeros((), dtype=torch.float64, device=self.device),
            torch.zeros((), dtype=torch.int64, device=self.device),
        )

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One D update on a batch x (B, T), labels y (B,); adds the loss and the number of
        correct predictions to :attr:`sums` and returns the loss (a device scalar: no sync).

        Under bf16 autocast when asked (weights and Adam stay fp32); autocast's weight-cast
        cache is off, as graph capture needs, which changes no values.
        """
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16,
                            cache_enabled=False):  # fmt: skip
            logits = self.discriminator(x)  # (B, 2)
        loss = self.discriminator.loss(logits, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        loss_sum, correct = self.sums
        loss_sum.add_(loss.detach().double())
        correct.add_((logits.detach().argmax(1) == y).sum())
        return loss.detach()

    @contextlib.contextmanager
    def _on_side_stream(self) -> Iterator[None]:
        """Eager steps on the capture stream when graphs are on, ordered after and before
        the default stream's work; a no-op otherwise."""
        if self._stream is None:
            yield
            return
        main = torch.cuda.current_stream(self.device)
        self._stream.wait_stream(main)
        with torch.cuda.stream(self._stream):
            yield
        main.wait_stream(self._stream)

    def invalidate(self) -> None:
        """Forgets the captured graph (the optimizer's state tensors were replaced)."""
        self._graph, self._static, self._eager_rounds = None, None, 0

    def run(
        self, passes: list[tuple[torch.Tensor, torch.Tensor]], batch_size: int
    ) -> tuple[float, int]:
        """The round: each pass's (x (N, T), y (N,)) on the device, already in its shuffled
        order, in whole batches -> (sum of the step losses, correct predictions); the
        only host sync of the round."""
        for s in self.sums:
            s.zero_()
        n_batches = len(passes[0][0]) // batch_size
        rows = n_batches * batch_size
        if self._graph is not None and self._static is not None and len(self._static[0]) == rows:
            static_x, static_y = self._static
            for x, y in passes:
                static_x.copy_(x[:rows])
                static_y.copy_(y[:rows])
                self._graph.replay()
        else:
            with self._on_side_stream():
                for x, y in passes:
                    for i in range(n_batches):
                        sl = slice(i * batch_size, (i + 1) * batch_size)
                        self.step(x[sl], y[sl])
            self._eager_rounds += 1
        loss_sum, correct = (s.item() for s in self.sums)
        return loss_sum, int(correct)

    def capture_if_ready(self, shape: tuple[int, int], batch_size: int) -> bool:
        """After one eager round, captures one pass over a static (rows, T) buffer
        (``shape``: the pooled data's) as a CUDA graph. Capture runs no kernels, so it
        changes neither the weights nor the sums; the caller seeds the round after it."""
        if not self.graphs or self._graph is not None or self._eager_rounds == 0:
            return False
        n_batches = shape[0] // batch_size
        if n_batches == 0:
            return False
        rows = n_batches * batch_size
        static_x = torch.zeros((rows, shape[1]), dtype=torch.long, device=self.device)
        static_y = torch.zeros(rows, dtype=torch.long, device=self.device)
        torch.cuda.synchronize(self.device)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self._stream):
            for i in range(n_batches):
                sl = slice(i * batch_size, (i + 1) * batch_size)
                self.step(static_x[sl], static_y[sl])
        self._graph, self._static = graph, (static_x, static_y)
        return True
