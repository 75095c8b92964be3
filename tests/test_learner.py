"""The learner's update rules do what the algorithm needs on a small oracle."""

from __future__ import annotations

import torch

from distributed_seqgan.config import load_config
from distributed_seqgan.learning.learner import Learner
from distributed_seqgan.models import random_oracle
from distributed_seqgan.seeding import uniforms
from distributed_seqgan.tasks.metrics import mean_nll

SMALL = [
    "generator.vocab_size=60", "generator.seq_len=10", "generator.emb_dim=16", "generator.hidden_dim=16",
    "oracle.kind=random", "oracle.emb_dim=16", "oracle.hidden_dim=16",
    "discriminator.emb_dim=16", "discriminator.filter_sizes=[2,3]", "discriminator.num_filters=[16,16]",
    "schedule.batch_size=32", "run.threads=1",
]  # fmt: skip


def _setup():
    cfg = load_config(None, SMALL)
    oracle = random_oracle(60, 16, 16, 10, seed=1)
    data = oracle.sample(uniforms((1024, 10), 0, "data"))
    return cfg, oracle, data


def test_mle_lowers_nll_oracle_and_nll_test():
    cfg, oracle, data = _setup()
    test = oracle.sample(uniforms((512, 10), 0, "test"))
    learner = Learner(cfg)

    def nll_oracle(step: int) -> float:
        return mean_nll(oracle, learner.sample(uniforms((1024, 10), 0, "eval", step)))

    before, before_test = nll_oracle(0), mean_nll(learner.generator, test)
    for _ in range(12):
        learner.mle_epoch(data)
    after, after_test = nll_oracle(1), mean_nll(learner.generator, test)
    assert after < before - 0.3, (before, after)
    assert after_test < before_test - 0.3, (before_test, after_test)


def test_pg_step_raises_likelihood_of_rewarded_sequences():
    cfg, _, data = _setup()
    learner = Learner(cfg)
    good, bad = data[:32], data[32:64]

    def lp(x: torch.Tensor) -> float:
        return learner.generator.token_log_probs(x).sum().item()

    before_good, before_bad = lp(good), lp(bad)
    for _ in range(5):
        learner.pg_step(
            torch.cat([good, bad]), torch.cat([torch.ones(32, 10), torch.zeros(32, 10)])
        )
    assert lp(good) > before_good + 1.0
    assert lp(good) - before_good > lp(bad) - before_bad


def test_d_round_learns_to_separate_real_from_fake():
    _, _, data = _setup()
    learner = Learner(
        load_config(None, [*SMALL, "discriminator.lr=0.001"])
    )  # fewer steps than 1e-4
    fake = torch.randint(0, 60, (1024, 10), generator=torch.Generator().manual_seed(0))
    first = learner.d_round(data, fake, "t", 0)
    for r in range(1, 4):
        last = learner.d_round(data, fake, "t", r)
    assert last["d_loss"] < first["d_loss"]
    assert last["d_acc"] > 0.9
    assert not learner.discriminator.training
    p_real = learner.discriminator.prob_real(data[:256]).mean()
    p_fake = learner.discriminator.prob_real(fake[:256]).mean()
    assert p_real > 0.7 > 0.3 > p_fake


def test_discriminator_loss_is_official():
    cfg, _, data = _setup()
    d = Learner(cfg).discriminator.eval()
    logits = d(data[:8])
    labels = torch.tensor([0, 1] * 4)
    ce = torch.nn.functional.cross_entropy(logits, labels)
    l2 = (d.output.weight**2).sum() / 2 + (d.output.bias**2).sum() / 2
    torch.testing.assert_close(d.loss(logits, labels), ce + 0.2 * l2)


def test_mixed_inputs_with_no_true_tokens_are_the_policys_own_samples():
    cfg, _, data = _setup()
    learner = Learner(cfg)
    gen = learner.generator.eval()
    u = uniforms((64, 10), 0, "ss-test")  # (B, T)
    seqs = data[:64]
    never = torch.zeros(64, 9, dtype=torch.bool)
    mixed = gen.mixed_inputs(seqs, never, u[:, :9])
    assert (mixed[:, 0] == gen.start_token).all()
    assert torch.equal(mixed[:, 1:], gen.sample(u)[:, :-1])  # every input after the start
    always = torch.ones(64, 9, dtype=torch.bool)
    assert torch.equal(gen.mixed_inputs(seqs, always, u[:, :9]), gen.inputs_for(seqs))


def test_scheduled_sampling_with_eps_fixed_at_one_is_mle_bit_for_bit():
    cfg, _, data = _setup()
    ss = Learner(load_config(None, [*SMALL, "algorithm=ss", "ss.eps_decay=0"]))
    mle = Learner(cfg)
    for epoch in range(2):
        loss_ss, eps = ss.ss_epoch(data, epoch)
        assert eps == 1.0 and loss_ss == mle.mle_epoch(data)
    for (k, a), b in zip(
        ss.generator.state_dict().items(), mle.generator.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k
    decayed = Learner(load_config(None, [*SMALL, "algorithm=ss", "ss.eps_decay=0.5"]))
    decayed.ss_epoch(data, 0)  # eps 0.5: half the inputs are G's samples, so it differs
    one = Learner(cfg)
    one.mle_epoch(data)
    assert not torch.equal(decayed.generator.output.weight, one.generator.output.weight)


def test_the_official_coin_is_pythons_first_draw_after_seeding():
    """schedule_sampling.py: random.seed(88), then one random.random() when the graph is
    built; 0.3975 < eps for all 300 epochs (eps >= 0.4), so the official run never feeds
    G's own tokens: it is MLE, bit for bit."""
    import random

    from distributed_seqgan.seeding import official_ss_coin

    random.seed(88)
    assert official_ss_coin(88) == random.random() == 0.3974888769814575
    assert official_ss_coin(89) != official_ss_coin(88)
    cfg, _, data = _setup()
    # eps 0.6 after one epoch: above the coin -> teacher forcing, MLE exactly
    ss = Learner(load_config(None, [*SMALL, "algorithm=ss", "ss.coin=per_run", "ss.eps_decay=0.4"]))
    mle = Learner(cfg)
    loss_ss, eps = ss.ss_epoch(data, 0)
    assert eps == 0.6 and loss_ss == mle.mle_epoch(data)
    assert torch.equal(ss.generator.output.weight, mle.generator.output.weight)
    # eps 0.2 after one epoch: below the coin -> every input after the first is G's own
    free = Learner(
        load_config(None, [*SMALL, "algorithm=ss", "ss.coin=per_run", "ss.eps_decay=0.8"])
    )
    free.ss_epoch(data, 0)
    assert not torch.equal(free.generator.output.weight, Learner(cfg).generator.output.weight)


def test_d_shuffle_epoch_reshuffles_every_pass_and_round_does_not():
    cfg, oracle, data = _setup()
    pos, neg = data[:256], Learner(cfg).sample(uniforms((256, 10), 0, "neg"))

    def trained(*sets: str) -> torch.Tensor:
        learner = Learner(load_config(None, [*SMALL, *sets]))
        learner.d_round(pos, neg, "test", 0)
        return learner.discriminator.output.weight.detach().clone()

    once, every = (
        trained("schedule.d_epochs=2"),
        trained("schedule.d_epochs=2", "schedule.d_shuffle=epoch"),
    )
    assert not torch.equal(once, every)
    assert torch.equal(trained("schedule.d_epochs=2"), once)  # keyed: the same again
    # one pass: the first order is the same in both
    assert torch.equal(
        trained("schedule.d_epochs=1"), trained("schedule.d_epochs=1", "schedule.d_shuffle=epoch")
    )


def test_tf32_is_an_explicit_choice_for_matmuls_and_convolutions():
    """run.tf32 sets both of torch's TF32 switches on CUDA, either way (cuDNN's default is
    on); a CPU run leaves them alone."""
    from distributed_seqgan.models.build import resolve_device, set_tf32

    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    try:
        set_tf32(True)
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        set_tf32(False)
        assert not torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32
        assert resolve_device("cpu", tf32=True).type == "cpu"
        assert not torch.backends.cudnn.allow_tf32  # untouched by a CPU device
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
    assert load_config(None, ["run.tf32=true"]).run.tf32 is True


def test_d_round_with_one_sync_equals_step_by_step_training():
    """d_round sums losses and correct counts on the device and syncs once; its mean loss,
    accuracy and weights equal a step-by-step loop that reads every loss as a Python float
    (the official dis_dataloader order: keyed shuffle, whole batches, d_epochs passes)."""
    from distributed_seqgan.seeding import derive_seed
    from distributed_seqgan.seeding import generator as keyed_generator

    cfg, _, data = _setup()
    sets = [*SMALL, "schedule.d_epochs=2", "schedule.d_shuffle=epoch"]
    pos, neg = data[:300], Learner(cfg).sample(uniforms((300, 10), 0, "neg"))
    fast, slow = Learner(load_config(None, sets)), Learner(load_config(None, sets))
    for r in range(2):
        got = fast.d_round(pos, neg, "t", r)
        x_all = torch.cat([pos, neg])
        y_all = torch.cat([torch.ones(300), torch.zeros(300)]).long()
        shuffle = keyed_generator(cfg.seed, "d-shuffle/t", r)
        torch.manual_seed(derive_seed(cfg.seed, "d-dropout/t", r))
        slow.discriminator.train()
        losses, correct = [], 0
        for _ in range(2):
            perm = torch.randperm(600, generator=shuffle)
            x, y = x_all[perm], y_all[perm]
            for i in range(600 // 32):
                xb, yb = x[i * 32 : (i + 1) * 32], y[i * 32 : (i + 1) * 32]
                logits = slow.discriminator(xb)
                loss = slow.discriminator.loss(logits, yb)
                slow.d_opt.zero_grad()
                loss.backward()
                slow.d_opt.step()
                losses.append(loss.item())
                correct += int((logits.argmax(1) == yb).sum())
        assert got == {"d_loss": sum(losses) / len(losses), "d_acc": correct / (len(losses) * 32)}
        assert torch.equal(fast.discriminator.output.weight, slow.discriminator.output.weight)
    assert fast.updates == slow.updates + 2 * 2 * (600 // 32)  # slow counted none
    assert not fast.discriminator.training


def test_one_state_loaded_into_two_learners_gives_two_independent_learners():
    """An optimizer keeps the tensors it is given, so without a copy two learners loaded
    from one state would share Adam's moments and the second would train from the first's
    updated ones: after loading, the same rounds must give the same weights."""
    cfg, _, data = _setup()
    pos, neg = data[:256], data[256:512].flip(1)
    source = Learner(cfg)
    source.d_round(pos, neg, "s", 0)
    state = source.state_dict()
    moments = state["d_opt"]["state"][0]["exp_avg"].clone()  # the source's own
    first, second = Learner(cfg), Learner(cfg)
    first.load_state_dict(state)
    second.load_state_dict(state)
    first.d_round(pos, neg, "t", 0)  # moves first's moments (and, if shared, second's)
    second.d_round(pos, neg, "t", 0)
    for p, q in zip(
        first.discriminator.parameters(), second.discriminator.parameters(), strict=True
    ):
        assert torch.equal(p, q)
    assert torch.equal(source.d_opt.state_dict()["state"][0]["exp_avg"], moments)
