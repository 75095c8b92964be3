"""Fused output projection + weighted negative log-likelihood, computed in row chunks.

Both generator losses are weighted sums of token NLLs: MLE weights every token 1/(B T),
the policy gradient weights token t of sample b by its reward Q(b, t). The plain autograd
path materialises (B T, V) logits, log-softmax and their gradients in memory, which at
V = 5,000 is most of an MLE epoch. Here each chunk of rows goes through projection,
log-sum-exp and the gradient (softmax - onehot) while it is still in cache, and the
gradients for the hidden states, weight and bias are accumulated in the forward pass (the
loss is a scalar, so backward only scales them). Same numbers as the plain path up to
float rounding; ``tests/test_fast_paths.py`` checks values and gradients.
"""

from __future__ import annotations

from typing import Any

import torch

CHUNK_ROWS = 256  # (256, 5000) fp32 = 5 MB: stays in L2/L3 through the whole chunk


class _LinearWeightedNLL(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,  # (N, H)
        weight: torch.Tensor,  # (V, H)
        bias: torch.Tensor,  # (V,)
        targets: torch.Tensor,  # (N,) int64
        row_weights: torch.Tensor,  # (N,)
        grad_enabled: bool,
    ) -> torch.Tensor:
        n = hidden.shape[0]
        # needs_input_grad says only that inputs require grad, under torch.no_grad() too;
        # an evaluation (NLL-test) would pay for three GEMMs where it needs one
        need_grad = grad_enabled and any(ctx.needs_input_grad[:3])
        loss = hidden.new_zeros((), dtype=torch.float64)
        g_hidden = torch.empty_like(hidden) if need_grad else None
        g_weight = torch.zeros_like(weight) if need_grad else None
        g_bias = torch.zeros_like(bias) if need_grad else None
        for start in range(0, n, CHUNK_ROWS):
            sl = slice(start, min(start + CHUNK_ROWS, n))
            h, tgt, w = hidden[sl], targets[sl], row_weights[sl]
            logits = torch.addmm(bias, h, weight.T)  # (c, V)
            logits -= logits.amax(dim=1, keepdim=True)
            tgt_logit = logits.gather(1, tgt.unsqueeze(1)).squeeze(1)  # (c,)
            probs = logits.exp_()  # (c, V), unnormalised
            total = probs.sum(dim=1)  # (c,)
            nll = total.log() - tgt_logit  # (c,)
            loss += (w * nll).sum(dtype=torch.float64)
            if need_grad:
                grad = probs.div_(total.unsqueeze(1))  # softmax (c, V)
                grad.scatter_add_(1, tgt.unsqueeze(1), grad.new_full((len(tgt), 1), -1.0))
                grad.mul_(w.unsqueeze(1))  # d loss / d logits
                torch.mm(grad, weight, out=g_hidden[sl])
                g_weight.addmm_(grad.T, h)
                g_bias += grad.sum(dim=0)
        ctx.save_for_backward(g_hidden, g_weight, g_bias)
        return loss.to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        g_hidden, g_weight, g_bias = ctx.saved_tensors
        return g_hidden * grad_out, g_weight * grad_out, g_bias * grad_out, None, None, None


def linear_weighted_nll(
    hidden: torch.Tensor, linear: torch.nn.Linear, targets: torch.Tensor, row_weights: torch.Tensor
) -> torch.Tensor:
    """sum_i row_weights[i] * -log softmax(linear(hidden[i]))[targets[i]] as a scalar.

    hidden (N, H), targets (N,), row_weights (N,) (no gradient flows into the weights).
    Under ``torch.no_grad()`` only the loss is computed (the same value).
    """
    return _LinearWeightedNLL.apply(
        hidden,
        linear.weight,
        linear.bias,
        targets,
        row_weights.detach().to(hidden.dtype),
        torch.is_grad_enabled(),
    )
