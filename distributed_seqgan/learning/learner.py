"""The central learner: G, the rollout policy, D, their optimizers and update rules.

Update rules follow the official code exactly:
- MLE: mean per-token NLL, Adam(lr) with global-norm clipping (``pretrain_updates``).
- PG: loss = -sum_{b,t} log G(y_t | y_<t) * Q(b, t) (a sum, not a mean), its own Adam(lr)
  with the same clipping (``g_updates``; TF keeps separate Adam slots for the two).
- D: mean cross-entropy + l2_reg * l2(output layer), Adam(1e-4), dropout while training;
  each round shuffles positives + negatives once and runs ``d_epochs`` passes in that
  order, dropping the last partial batch (``dis_dataloader``); ``d_shuffle: epoch``
  reshuffles before every pass, as the paper-era ``batch_iter``.
- Rollout policy: ``same`` is the generator itself (the official ``update_params`` never
  reaches the graph); ``delayed`` keeps a copy, taken when adversarial training starts
  and then updated as theta_r <- a theta_r + (1-a) theta after every generator step.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

import torch

from ..acting.messages import Weights
from ..config import (
    Config,
    DiscriminatorConfig,
    GeneratorConfig,
    RunConfig,
    ScheduleConfig,
    ScheduledSamplingConfig,
)
from ..errors import DataError
from ..infra import checkpoint
from ..models import Discriminator, LSTMPolicy
from ..models.build import build_discriminator, build_generator, resolve_device
from ..models.graphed import GraphedFunction
from ..seeding import derive_seed, official_ss_coin, uniforms
from ..seeding import generator as keyed_generator
from .d_round import DRound
from .mle_passes import MLEPasses


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


@dataclass(frozen=True)
class LearnerSpec:
    """All of the config the learner reads: the networks and their optimizers, the batch
    and D schedule, scheduled sampling, the rollout policy, the seed and the device."""

    seed: int
    generator: GeneratorConfig
    discriminator: DiscriminatorConfig
    schedule: ScheduleConfig  # batch_size, d_epochs, d_shuffle, rollout_policy/update_rate
    ss: ScheduledSamplingConfig
    run: RunConfig  # device

    @classmethod
    def of(cls, cfg: Config) -> LearnerSpec:
        return cls(cfg.seed, cfg.generator, cfg.discriminator, cfg.schedule, cfg.ss, cfg.run)


class Learner:
    """Owns every trainable network and optimizer; workers only ever get copies of the
    weights (:meth:`weights`). ``updates`` counts changes to those weights, so the trainer
    publishes a version only when there is something new to publish."""

    def __init__(self, cfg: Config | LearnerSpec) -> None:
        """``cfg``: the whole config, of which the learner keeps its part (``LearnerSpec``)."""
        self.cfg = cfg = cfg if isinstance(cfg, LearnerSpec) else LearnerSpec.of(cfg)
        self.device = resolve_device(cfg.run.device, cfg.run.tf32)
        self.generator: LSTMPolicy = build_generator(cfg.generator, cfg.seed).to(self.device)
        self.discriminator: Discriminator = build_discriminator(
            cfg.discriminator, cfg.generator.vocab_size, cfg.seed
        ).to(self.device)
        self.delayed = cfg.schedule.rollout_policy == "delayed"
        self.rollout_policy = self.generator  # "same": the rollouts use G itself
        if self.delayed:  # a copy that trails G
            self.rollout_policy = copy.deepcopy(self.generator).eval()
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        # capturable: the step counter stays on the device, as a CUDA graph replay needs
        graphs = cfg.run.cuda_graphs and self.device.type == "cuda"
        self.mle_opt = torch.optim.Adam(
            g_params, lr=cfg.generator.lr, fused=True, capturable=graphs
        )
        self.pg_opt = torch.optim.Adam(g_params, lr=cfg.generator.lr, fused=True)
        d_params = self.discriminator.parameters()
        self.d_opt = torch.optim.Adam(
            d_params, lr=cfg.discriminator.lr, fused=True, capturable=graphs
        )
        self.d_rounds = DRound(self.discriminator, self.d_opt, cfg.discriminator.bf16_train, graphs)
        self.mle_passes = MLEPasses(
            self.generator, functools.partial(self._g_step, self.mle_opt), graphs
        )
        self._sample = GraphedFunction(self.generator.sample, self.device, graphs)
        self.updates = 0

    # ------------------------------------------------------------------ generator
    def _g_step(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """Backward, global-norm clipping, Adam: no host sync, so a graph can capture it."""
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.generator.parameters(), self.cfg.generator.grad_clip)
        opt.step()

    def _g_update(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        self._g_step(opt, loss)
        self.updates += 1

    def mle_epoch(self, data: torch.Tensor) -> float:
        """One pass over data (n, T) in order, in whole batches; returns the mean loss.
        One host sync; on CUDA with graphs, epochs after the first are one replay."""
        self.generator.train()
        bs = self.cfg.schedule.batch_size
        steps = len(data) // bs
        self.mle_passes.capture_if_ready((data,), bs)
        (loss_sum,) = self.mle_passes.run([(data.to(self.device),)], bs)  # data moved once
        self.updates += steps
        return loss_sum / max(steps, 1)

    def _loss_sum(self) -> torch.Tensor:
        """A float64 device scalar that step losses are added to in step order: the sum is
        Python's sum of the float32 losses bit for bit, and reading it is one sync."""
        return torch.zeros((), dtype=torch.float64, device=self.device)

    def ss_epoch(self, data: torch.Tensor, epoch: int) -> tuple[float, float]:
        """One scheduled-sampling pass over data (n, T) in whole batches, with the MLE
        optimizer and loss on the true tokens; returns (mean loss, eps). Coins and draws
        are keyed by (seed, epoch, batch); where every coin says "true" no draw is made, so
        eps = 1 is MLE exactly."""
        cfg, ss = self.cfg, self.cfg.ss
        eps = max(ss.eps_min, ss.eps_start - ss.eps_decay * (epoch + 1))
        self.generator.train()
        bs, t = cfg.schedule.batch_size, cfg.generator.seq_len
        run_coin = official_ss_coin(cfg.seed)
        data = data.to(self.device)
        total, steps = self._loss_sum(), 0
        for i, start in enumerate(range(0, data.shape[0] - bs + 1, bs)):
            batch = data[start : start + bs]  # (B, T)
            if ss.coin == "per_run":
                coins = torch.full((bs, t - 1), run_coin, dtype=torch.float64)
            else:
                coins = uniforms((bs, t - 1), cfg.seed, "ss-coin", epoch, i)  # (B, T-1)
            use_true = coins < eps  # (B, T-1) on the CPU: deciding costs no device sync
            inputs = None
            if not bool(use_true.all()):
                u = uniforms((bs, t - 1), cfg.seed, "ss-draw", epoch, i)  # (B, T-1)
                inputs = self.generator.mixed_inputs(
                    batch, use_true.to(self.device), u.to(self.device)
                )
            weights = torch.full(batch.shape, 1.0 / batch.numel(), device=self.device)
            loss = self.generator.weighted_nll(batch, weights, inputs)
            self._g_update(self.mle_opt, loss)
            total.add_(loss.detach().double())
            steps += 1
        return total.item() / max(steps, 1), eps

    def pg_step(self, samples: torch.Tensor, rewards: torch.Tensor) -> float:
        """One policy-gradient step on samples (B, T) with rewards Q (B, T)."""
        self.generator.train()
        # loss = -sum_{b,t} log G(y_bt | y_b<t) * Q(b, t)
        loss = self.generator.weighted_nll(samples.to(self.device), rewards.to(self.device))
        self._g_update(self.pg_opt, loss)
        return loss.item()

    @torch.no_grad()
    def reset_rollout_policy(self) -> None:
        """``delayed``: the rollout policy starts as a copy of the pretrained G, as the
        official code builds its ROLLOUT(generator) after pretraining (no-op for ``same``)."""
        if not self.delayed:
            return
        self.rollout_policy.load_state_dict(self.generator.state_dict())
        self.updates += 1

    @torch.no_grad()
    def update_rollout_policy(self) -> None:
        if not self.delayed:
            return
        a = self.cfg.schedule.rollout_update_rate
        for r, g in zip(self.rollout_policy.parameters(), self.generator.parameters(), strict=True):
            r.mul_(a).add_(g, alpha=1.0 - a)
        self.updates += 1

    @torch.no_grad()
    def sample(self, u: torch.Tensor) -> torch.Tensor:
        """Samples len(u) sequences from G with uniforms u (n, T) -> (n, T) on CPU."""
        self.generator.eval()
        return self._sample(u).cpu()

    # -------------------------------------------------------------- discriminator
    def d_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One D update on a batch x (B, T), labels y (B,) -> its loss, a device scalar
        (no host sync; what the benchmarks time as one step)."""
        self.updates += 1
        return self.d_rounds.step(x, y)

    def d_round(
        self, positives: torch.Tensor, negatives: torch.Tensor, stream: str, *key: int
    ) -> dict[str, float]:
        """One D training round of ``d_epochs`` passes over pos + neg: shuffled once
        (``d_shuffle: round``), or before every pass (``epoch``; its first order is the
        ``round`` order, the next ones continue the same keyed stream). One host sync."""
        cfg = self.cfg
        bs, epochs = cfg.schedule.batch_size, cfg.schedule.d_epochs
        pooled_x = torch.cat([positives, negatives])  # (P + N, T)
        pooled_y = torch.cat([torch.ones(len(positives)), torch.zeros(len(negatives))]).long()
        self.discriminator.train()  # dropout on, also in a graph captured now
        self.d_rounds.capture_if_ready((pooled_x, pooled_y), bs)  # CUDA graphs: once
        shuffle = keyed_generator(cfg.seed, f"d-shuffle/{stream}", *key)
        torch.manual_seed(derive_seed(cfg.seed, f"d-dropout/{stream}", *key))  # dropout masks
        passes = []  # each pass's (x (P + N, T), y (P + N,)) on the device, in its order
        for epoch in range(epochs):
            if epoch == 0 or cfg.schedule.d_shuffle == "epoch":
                perm = torch.randperm(len(pooled_x), generator=shuffle)
                passes.append((pooled_x[perm].to(self.device), pooled_y[perm].to(self.device)))
            else:
                passes.append(passes[-1])
        loss_sum, correct = self.d_rounds.run(passes, bs)
        self.discriminator.eval()
        steps = len(pooled_x) // bs * epochs
        self.updates += steps
        return {"d_loss": loss_sum / max(steps, 1), "d_acc": correct / max(steps * bs, 1)}

    # ---------------------------------------------------------------- weights/state
    def weights(self) -> Weights:
        """What workers need, on CPU: G (sampling), rollout policy, D (rewards); its
        version is ``updates``, so a new version exists exactly when something changed."""
        return Weights(
            version=self.updates,
            generator=_cpu_state(self.generator),
            discriminator=_cpu_state(self.discriminator),
            rollout=_cpu_state(self.rollout_policy) if self.delayed else None,
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "rollout": self.rollout_policy.state_dict() if self.delayed else None,
            "discriminator": self.discriminator.state_dict(),
            "mle_opt": self.mle_opt.state_dict(),
            "pg_opt": self.pg_opt.state_dict(),
            "d_opt": self.d_opt.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a checkpoint's learner state; one that does not fit the config (other
        sizes) is a DataError naming the part."""
        parts = {"generator": self.generator, "discriminator": self.discriminator,
                 "mle_opt": self.mle_opt, "pg_opt": self.pg_opt, "d_opt": self.d_opt}  # fmt: skip
        if self.delayed and state.get("rollout") is not None:
            parts["rollout"] = self.rollout_policy
        for name, module in parts.items():
            if name not in state:
                raise DataError(f"the checkpoint has no {name} state")
            checkpoint.restore(module, state[name], f"the checkpoint's {name}")
        self.d_rounds.invalidate()  # the Adam state tensors are new ones
        self.mle_passes.invalidate()
        self.updates += 1
