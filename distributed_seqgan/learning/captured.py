"""Passes of update steps over whole batches, with one host sync per call; on CUDA, one
CUDA graph replay per pass.

Why: at batch 64 a training step is dozens of small kernels (an LSTM or 12 convolutions,
their backward, Adam), and the GPU waits for the host to launch them and for per-step
``.item()`` reads, not for FLOPs. Here every step adds its loss (and whatever else it
counts) to device-side sums, read once per call; the sums are float64 / int64 added in
step order, so on CPU the mean loss equals a Python sum of each step's float32 loss bit
for bit.

On CUDA (``run.cuda_graphs``) the first call runs eagerly (it creates the optimizer's
state and warms up the libraries), then one pass of steps is captured over static
(n_batches * B, ...) buffers, and every later pass copies its data, in its order, into
those buffers and replays. The optimizer must be ``capturable``, and anything that
replaces its state tensors (loading a checkpoint) must call :meth:`invalidate`, since a
graph holds their addresses. Random draws inside a step (dropout) come from the CUDA
generator's Philox stream, which a replay reads at replay time, so a caller's keyed
``torch.manual_seed`` still decides them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch

from distributed_seqgan.models.graphed import capturing

Batch = tuple[torch.Tensor, ...]  # one pass's tensors, each (N, ...), sliced per batch alike


class CapturedPasses:
    """Subclasses define :meth:`step`: one update on a batch's slices, adding to
    :attr:`sums` on the device without reading anything back."""

    def __init__(self, device: torch.device, graphs: bool, sums: Sequence[torch.Tensor]) -> None:
        self.device = device
        self.graphs = graphs and device.type == "cuda"
        self.sums = tuple(sums)  # device scalars, zeroed at the start of every call
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static: Batch | None = None  # each (rows, ...)
        self._eager_calls = 0
        # eager steps before the capture run on the stream the capture will use, as
        # PyTorch's capture recipe asks (library handles and workspaces exist there)
        self._stream = torch.cuda.Stream(device) if self.graphs else None

    def step(self, *batch: torch.Tensor) -> torch.Tensor:
        """One update on one batch; returns its loss as a device scalar."""
        raise NotImplementedError

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
        self._graph, self._static, self._eager_calls = None, None, 0

    def run(self, passes: Sequence[Batch], batch_size: int) -> tuple[float | int, ...]:
        """Each pass's tensors, on the device and in their order, in whole batches ->
        the sums' values: the call's only host sync."""
        for s in self.sums:
            s.zero_()
        n_batches = len(passes[0][0]) // batch_size
        rows = n_batches * batch_size
        if self._graph is not None and self._fits(passes[0], rows):
            assert self._static is not None
            for tensors in passes:
                for buf, t in zip(self._static, tensors, strict=True):
                    buf.copy_(t[:rows])
                self._graph.replay()
        else:
            with self._on_side_stream():
                for tensors in passes:
                    for i in range(n_batches):
                        sl = slice(i * batch_size, (i + 1) * batch_size)
                        self.step(*(t[sl] for t in tensors))
            self._eager_calls += 1
        return tuple(s.item() for s in self.sums)

    def _fits(self, tensors: Batch, rows: int) -> bool:
        static = self._static or ()
        return len(static) == len(tensors) and all(
            b.shape == (rows, *t.shape[1:]) and b.dtype == t.dtype
            for b, t in zip(static, tensors, strict=True)
        )

    def capture_if_ready(self, like: Batch, batch_size: int) -> bool:
        """After one eager call, captures one pass over static buffers shaped and typed as
        ``like`` (one pass's tensors; only their shapes and dtypes are read) as a CUDA
        graph. Capture runs no kernels, so it changes neither weights nor sums; a caller
        that seeds random draws seeds after it."""
        if not self.graphs or self._graph is not None or self._eager_calls == 0:
            return False
        n_batches = len(like[0]) // batch_size
        if n_batches == 0:
            return False
        rows = n_batches * batch_size
        static = tuple(
            torch.zeros((rows, *t.shape[1:]), dtype=t.dtype, device=self.device) for t in like
        )
        torch.cuda.synchronize(self.device)
        graph = torch.cuda.CUDAGraph()
        assert self._stream is not None
        with capturing(graph, self._stream, f"a pass of {type(self).__name__} steps"):
            for i in range(n_batches):
                sl = slice(i * batch_size, (i + 1) * batch_size)
                self.step(*(t[sl] for t in static))
        self._graph, self._static = graph, static
        return True
