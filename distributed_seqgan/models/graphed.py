"""No-grad tensor functions replayed as CUDA graphs: sampling and rollout rewards.

Why: on a GPU, drawing a batch of sequences is T steps of ~15 small kernels each, and a
rollout batch is T steps over a growing set of rows plus D's scoring of every completion;
the GPU waits for the host to launch the kernels, not for their FLOPs (9,984 samples as
one chunk: 0.23 s eager on an H200). Every input of these functions is a tensor of fixed
shape (tokens, keyed uniforms) and no step reads a value back on the host, so each call
shape can be captured once and replayed: the same kernels on the same inputs, hence the
same tokens and rewards as the eager call (``tests/test_cuda.py`` checks it).

What a wrapped function must keep to: no host syncs (``.item()``, ``.cpu()``, shapes that
depend on values), no random number generator (its randomness is the given uniforms), and
weights changed only in place (``load_state_dict``, optimizer steps), since a graph reads
them at their addresses. On a CPU, or with ``enabled`` False, the function is just called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch

Key = tuple[tuple[tuple[int, ...], torch.dtype], ...]


class GraphedFunction:
    """``fn(*tensors)`` -> a tensor or a tuple of tensors, captured once per input shape.

    The first call of a shape runs eagerly on a side stream (PyTorch's capture recipe: the
    libraries create their handles and workspaces there) and then captures the same call
    over static copies of its inputs; later calls copy their inputs into those and replay.
    Outputs are returned as copies, so a replay never overwrites what a caller holds. At
    most ``max_shapes`` shapes are captured (each graph keeps its own memory); others run
    eagerly.
    """

    def __init__(
        self, fn: Callable[..., Any], device: torch.device, enabled: bool, max_shapes: int = 4
    ) -> None:
        self.fn, self.device, self.max_shapes = fn, device, max_shapes
        self.enabled = enabled and device.type == "cuda"
        self._stream = torch.cuda.Stream(device) if self.enabled else None
        self._graphs: dict[Key, tuple[torch.cuda.CUDAGraph, list[torch.Tensor], Any]] = {}

    def __call__(self, *args: torch.Tensor) -> Any:
        if not self.enabled:
            return self.fn(*args)
        key: Key = tuple((tuple(a.shape), a.dtype) for a in args)
        entry = self._graphs.get(key)
        if entry is None:
            if len(self._graphs) >= self.max_shapes:
                return self.fn(*args)
            return self._warm_up_and_capture(key, args)
        graph, static_in, static_out = entry
        for buf, a in zip(static_in, args, strict=True):
            buf.copy_(a, non_blocking=True)
        graph.replay()
        return _clone(static_out)

    def _warm_up_and_capture(self, key: Key, args: tuple[torch.Tensor, ...]) -> Any:
        assert self._stream is not None
        main = torch.cuda.current_stream(self.device)
        static_in = [a.to(self.device, copy=True) for a in args]
        self._stream.wait_stream(main)
        with torch.cuda.stream(self._stream):
            out = self.fn(*static_in)  # the eager call: this call's result
        main.wait_stream(self._stream)
        torch.cuda.synchronize(self.device)
        graph = torch.cuda.CUDAGraph()
        with capturing(graph, self._stream, getattr(self.fn, "__qualname__", repr(self.fn))):
            static_out = self.fn(*static_in)
        self._graphs[key] = (graph, static_in, static_out)
        return out


@contextlib.contextmanager
def capturing(graph: torch.cuda.CUDAGraph, stream: torch.cuda.Stream, what: str) -> Iterator[None]:
    """``torch.cuda.graph`` whose failure names what was captured and the key that turns
    capture off: an op that cannot be captured (a host sync, a CPU tensor) otherwise
    surfaces as a CUDA error with no hint of which function or how to go on."""
    try:
        with torch.cuda.graph(graph, stream=stream):
            yield
    except RuntimeError as e:
        raise RuntimeError(
            f"capturing {what} as a CUDA graph failed ({e}); run.cuda_graphs=false runs "
            "every kernel eagerly"
        ) from e


def _clone(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.clone()
    return type(out)(o.clone() for o in out)
