"""The run configuration's schema: frozen dataclasses with defaults, value rules, the
checks that involve several keys, and marks for what each key does to a run.

Every value a run depends on lives here, so a run directory's ``config.yaml`` is enough to
repeat it. Defaults are the official SeqGAN code's values (LantaoYu/SeqGAN,
``sequence_gan.py``); ``configs/synthetic.yaml`` spells them out. Rules that belong to one
task (the official oracle's sizes, which corpora exist) live with that task
(``distributed_seqgan.tasks``). Reading YAML and ``--set`` overrides is ``loading.py``.

Marks (field metadata, read by :func:`changes_results` and :func:`read_by_adversarial_only`):
- ``results=False``: the key never changes what a run computes, only where it runs, how
  fast, or where it is recorded (float rounding aside). Whole sections carry it with
  ``RESULTS = False``. Runs differing only in such keys are replications of one
  experiment (``seqgan report``), and ``--init-from`` may change them.
- ``phase="adversarial"``: only the adversarial phase reads the key, so ``--init-from``
  (which reuses another run's pretraining) may change it too.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ..errors import ConfigError


def _f(default: Any, *, results: bool = True, phase: str | None = None, **rules: Any) -> Any:
    """A dataclass field with its value rules (``ge``, ``gt``, ``le``, ``lt``) and marks
    (``results``, ``phase``: see the module docstring) in its metadata."""
    metadata = {"rules": rules, "results": results, "phase": phase}
    if isinstance(default, (list, tuple)):
        value = tuple(default)
        return field(default_factory=lambda: value, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class OracleConfig:
    """The synthetic task's target LSTM: ``official``, the official parameters (from the data
    files); ``tf``, TF's N(0, 1) draws as the official ``TARGET_LSTM`` makes them, with
    ``seed`` the op seed of its first array (2126: the official arrays; the paper-era baseline
    scripts' graphs give other ones, docs/results.md); ``random``, a seeded N(0, 1) draw."""

    kind: Literal["official", "tf", "random"] = "official"
    seed: int = _f(0, ge=0)
    emb_dim: int = _f(32, ge=1)
    hidden_dim: int = _f(32, ge=1)


@dataclass(frozen=True)
class DataConfig:
    """Where data lives and how a task turns it into samples.

    synthetic: ``num_positive`` / ``num_test`` oracle samples. text: a line-per-sample UTF-8
    file (``corpus`` for a known one, or ``path`` for your own), tokenized and split as the
    keys below say; the vocabulary (and so ``generator.vocab_size``) comes from the data,
    and the maximum sample length is ``generator.seq_len`` tokens (``long_lines`` says what
    happens to longer lines). ``test_path`` makes a separate file the test set (a published
    benchmark's), encoded with the training vocabulary. music: the Nottingham piano rolls
    (``corpus: nottingham-mat``), with their own train/test split.
    """

    dir: str | None = None  # else $SEQGAN_DATA_DIR, else the cache (with download)
    num_positive: int = _f(10_000, ge=1)  # synthetic: official generated_num; whole batches
    num_test: int = _f(10_000, ge=1)  # synthetic: held-out oracle samples for NLL-test
    corpus: str | None = None  # a registry name: obama | chinese-poems | nottingham-mat
    path: str | None = None  # text: your own file, one sample per line (instead of corpus)
    tokenizer: Literal["word", "char", "whitespace"] = "word"
    lowercase: bool = False
    long_lines: Literal["error", "drop", "truncate"] = "error"  # lines over generator.seq_len
    drop_patterns: tuple[str, ...] = _f(())  # regexes (case-insensitive): drop matching lines
    max_lines: int | None = _f(None, ge=1)  # first lines only (music: first tunes per split)
    min_count: int = _f(1, ge=1)  # rarer tokens become <unk>
    max_vocab: int | None = _f(None, ge=4)  # cap, incl. <end> and <unk>
    test_fraction: float = _f(0.1, gt=0.0, lt=1.0)  # seeded split by line
    test_path: str | None = None  # text: a fixed test file instead (test_fraction unused)


@dataclass(frozen=True)
class EvalConfig:
    """Text and music metrics: how many generated samples BLEU and self-BLEU score, and how
    many test samples NLL-test reads. An evaluation draws only the samples it scores."""

    bleu_samples: int = _f(1000, ge=1)  # each scored against the whole test set
    self_bleu_samples: int = _f(500, ge=2)
    # NLL-test on a fixed seeded subset of this many test samples (null: all of them); a
    # forward pass over a large test set costs as much as a training epoch
    nll_test_samples: int | None = _f(2000, ge=1)


@dataclass(frozen=True)
class GeneratorConfig:
    """The generator LSTM (official ``generator.py``)."""

    vocab_size: int = _f(5000, ge=2)
    emb_dim: int = _f(32, ge=1)
    hidden_dim: int = _f(32, ge=1)
    seq_len: int = _f(20, ge=2)
    start_token: int = _f(0, ge=0)
    init_std: float = _f(0.1, gt=0.0)
    lr: float = _f(0.01, gt=0.0)
    grad_clip: float = _f(5.0, gt=0.0)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The CNN discriminator (official ``discriminator.py``): convs, highway, dropout."""

    emb_dim: int = _f(64, ge=1)
    filter_sizes: tuple[int, ...] = _f((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20))
    num_filters: tuple[int, ...] = _f((100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160))
    dropout: float = _f(0.25, ge=0.0, lt=1.0)  # drop probability (official keep_prob 0.75)
    l2_reg: float = _f(0.2, ge=0.0)  # on the output layer only, as tf.nn.l2_loss
    lr: float = _f(1e-4, gt=0.0)
    # bfloat16 autocast for scoring rollouts and for D training steps; weights, Adam and the
    # output layer stay fp32 (accuracy: docs/benchmarks.md)
    bf16_rewards: bool = False
    bf16_train: bool = False
    # how the convolutions + max-pool are computed (models/discriminator.py): "conv" (one
    # convolution per filter size), "gemm" (filter sizes in gemm_groups runs, one padded GEMM
    # each: fewer, larger kernels) or "auto" (per device, by measurement: conv on CPU)
    formulation: Literal["auto", "conv", "gemm"] = "auto"
    gemm_groups: int = _f(3, ge=1)


@dataclass(frozen=True)
class ScheduleConfig:
    """Phase lengths of Algorithm 1, in the official code's units."""

    batch_size: int = _f(64, ge=1)
    generated_num: int = _f(10_000, ge=1)  # negatives per D round and NLL-oracle samples
    mle_epochs: int = _f(120, ge=0)
    mle_eval_every: int = _f(5, ge=1)
    d_pretrain_rounds: int = _f(50, ge=0)
    d_epochs: int = _f(3, ge=1)
    # D's data order in a round: "round" shuffles pos + neg once and runs d_epochs passes
    # in that order (the 2017 code's dataloader); "epoch" reshuffles before every pass (the
    # paper-era code's batch_iter), each order keyed by (seed, round, epoch)
    d_shuffle: Literal["round", "epoch"] = "round"
    adv_iterations: int = _f(200, ge=0, phase="adversarial")
    g_steps: int = _f(1, ge=1, phase="adversarial")
    rollout_num: int = _f(16, ge=1, phase="adversarial")
    rollout_policy: Literal["same", "delayed"] = "same"
    rollout_update_rate: float = _f(0.8, ge=0.0, le=1.0)
    d_steps: int = _f(5, ge=0, phase="adversarial")
    adv_eval_every: int = _f(5, ge=1, phase="adversarial")
    # iterations (epochs, D rounds) per latest.pt
    checkpoint_every: int = _f(10, ge=1, results=False)


@dataclass(frozen=True)
class ScheduledSamplingConfig:
    """``algorithm: ss`` (Bengio et al. 2015, the official ``schedule_sampling/``): each
    epoch of ``schedule.mle_epochs`` feeds the true previous token with probability eps,
    else a token drawn from G; eps = max(eps_min, eps_start - eps_decay * (epoch + 1))."""

    eps_start: float = _f(1.0, ge=0.0, le=1.0)
    eps_decay: float = _f(0.002, ge=0.0)
    eps_min: float = _f(0.0, ge=0.0, le=1.0)
    # per_token: a coin for every position of every sequence; per_run: the official code's
    # one coin for the whole run, Python's random.random() after random.seed(seed) (0.3975
    # for seed 88): teacher forcing while eps > coin, free running once eps falls below it
    coin: Literal["per_token", "per_run"] = "per_token"


@dataclass(frozen=True)
class PoolConfig:
    """How rollout work is spread: ``local`` runs K in-process workers one after another,
    ``ray`` runs K Ray actors (see ``ray``)."""

    RESULTS: ClassVar[bool] = False  # where and how it runs, not what

    backend: Literal["local", "ray"] = "local"
    workers: int = _f(1, ge=1)
    # sequences per sampling shard; fixed, so results do not depend on the worker count
    sample_chunk: int = _f(1024, ge=1)
    # at most this many sequences per worker call (whole shards: the same tokens); None:
    # one shard per call on CPU workers, each request spread evenly over GPU workers
    sample_batch: int | None = _f(None, ge=1)


@dataclass(frozen=True)
class RayConfig:
    """Ray backend settings (used when ``pool.backend`` is ``ray``)."""

    RESULTS: ClassVar[bool] = False  # where and how it runs, not what

    address: str | None = None  # None: start a local Ray instance; "auto" or host:port: join one
    connect_timeout_s: float = _f(30.0, gt=0.0)  # host:port that does not answer: give up
    cpus_per_worker: float = _f(1.0, gt=0.0)  # also each worker's torch threads (rounded up)
    gpus_per_worker: float = _f(0.0, ge=0.0)  # fractions pack several workers on one GPU
    placement: Literal["PACK", "SPREAD"] = "PACK"
    # how long to wait for the workers' resources; None: 600 s when joining a cluster (an
    # autoscaler may be adding nodes), 120 s for a local instance (which refuses an
    # impossible pool at once)
    placement_timeout_s: float | None = _f(None, gt=0.0)
    max_restarts: int = _f(3, ge=0)  # per worker actor; then the run stops with a checkpoint
    shard_timeout_s: float = _f(600.0, gt=0.0)  # a shard running longer: the worker counts as hung
    restart_timeout_s: float = _f(300.0, gt=0.0)  # wait this long for Ray to restart a worker


@dataclass(frozen=True)
class WandbConfig:
    """Weights & Biases tracking of the learner's metrics (off by default)."""

    RESULTS: ClassVar[bool] = False  # where and how it runs, not what

    enabled: bool = False
    project: str = "distributed_seqgan"
    entity: str | None = None  # a W&B team or user; None: your default
    group: str | None = None  # e.g. one group per sweep of rollout counts
    tags: tuple[str, ...] = _f(())
    mode: Literal["online", "offline", "disabled"] | None = None  # None: $WANDB_MODE or online


@dataclass(frozen=True)
class RunConfig:
    """Where the run writes, and how it uses this machine."""

    RESULTS: ClassVar[bool] = False  # where and how it runs, not what

    # Relative paths are taken from the current directory; in a Ray job (whose current
    # directory is Ray's temporary copy of the working dir) from the home directory.
    out_dir: str = "runs"
    name: str | None = None  # default: <task>-<timestamp>
    # A URI (file:///shared/runs, s3://bucket/runs, gs://...) the run directory is mirrored
    # to as it is written, as <storage_path>/<name>; `seqgan resume --run <that URI>`
    # continues from it. Named after Ray's storage_path.
    storage_path: str | None = None
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    threads: int | None = _f(None, ge=1)  # torch intra-op threads; None = torch's default
    # TF32 tensor-core math for CUDA matmuls and convolutions: faster, 10-bit mantissas.
    # Off (fp32) by default for fidelity, also for cuDNN convolutions (PyTorch's default
    # there is on). No effect on CPU.
    tf32: bool = False
    # CPU: denormal floats flushed to zero (FTZ + DAZ) in every torch thread of the learner
    # and the workers, as TensorFlow's CPU thread pools do. D's Adam state fills with
    # denormals, which slow x86 arithmetic (a D round 14-17% slower by the 8th, growing);
    # off by default: the same bits are not promised (infra/denormals.py, docs/benchmarks.md).
    flush_denormal: bool = False
    # On CUDA, each pass of a D retraining round and each MLE epoch is one CUDA graph
    # replay (captured after the first, learning/captured.py) instead of a launch per
    # kernel, and so are sampling and D-scored rollouts (per call shape, models/graphed.py);
    # off: every kernel eager. No effect on CPU. Dropout masks may be drawn differently
    # from the eager path (docs/benchmarks.md).
    cuda_graphs: bool = True


@dataclass(frozen=True)
class Config:
    """A whole run. One ``seed`` determines every random draw in it."""

    task: str = "synthetic"  # a registered task: synthetic | text | music
    # seqgan: Algorithm 1; mle: MLE only (the paper's MLE row); ss: scheduled sampling;
    # pg_bleu: SeqGAN's policy gradient with BLEU-3 rewards instead of D (no D at all)
    algorithm: Literal["seqgan", "mle", "ss", "pg_bleu"] = "seqgan"
    seed: int = _f(88, ge=0)  # official SEED
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    oracle: OracleConfig = field(default_factory=OracleConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    ss: ScheduledSamplingConfig = field(default_factory=ScheduledSamplingConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)

    def validate(self) -> Config:
        """Checks that involve several keys; returns self so calls can chain."""
        d, g = self.discriminator, self.generator
        if len(d.filter_sizes) != len(d.num_filters) or not d.filter_sizes:
            raise ConfigError(
                "discriminator.filter_sizes and discriminator.num_filters must be non-empty "
                f"and equally long (got {len(d.filter_sizes)} and {len(d.num_filters)})"
            )
        if any(s < 1 for s in d.filter_sizes) or any(n < 1 for n in d.num_filters):
            raise ConfigError("discriminator.filter_sizes and num_filters must all be >= 1")
        if max(d.filter_sizes) > g.seq_len:
            raise ConfigError(
                f"discriminator.filter_sizes: largest filter {max(d.filter_sizes)} is longer "
                f"than generator.seq_len {g.seq_len}"
            )
        if g.start_token >= g.vocab_size:
            raise ConfigError("generator.start_token must be < generator.vocab_size")
        s = self.schedule
        if s.generated_num < s.batch_size:
            raise ConfigError("schedule.generated_num must be >= schedule.batch_size")
        if self.data.num_positive < s.batch_size:
            raise ConfigError("data.num_positive must be >= schedule.batch_size")
        if self.algorithm == "pg_bleu" and (s.d_pretrain_rounds or s.d_steps):
            raise ConfigError(
                "algorithm pg_bleu has no discriminator: set schedule.d_pretrain_rounds=0 "
                "and schedule.d_steps=0"
            )
        check_algorithm_sections(
            self.algorithm, [s for s in ALGORITHM_SECTIONS if getattr(self, s) != _DEFAULTS[s]]
        )
        name = self.run.name
        if name is not None and (
            not name.strip() or name in (".", "..") or any(sep in name for sep in ("/", "\\", "\0"))
        ):
            raise ConfigError(f"run.name: {name!r} must be a plain directory name (no path parts)")
        if self.run.storage_path is not None and "://" not in self.run.storage_path:
            raise ConfigError(
                "run.storage_path: expected a URI such as file:///shared/runs or "
                f"s3://bucket/runs, got {self.run.storage_path!r}"
            )
        return self


# Config sections that belong to one algorithm: their keys mean nothing for the others.
ALGORITHM_SECTIONS = {"ss": "ss"}
_DEFAULTS = {"ss": ScheduledSamplingConfig()}


def check_algorithm_sections(algorithm: str, given: list[str]) -> None:
    """Refuses a section of another algorithm's (``ss.*`` without ``algorithm: ss``)."""
    for section in given:
        owner = ALGORITHM_SECTIONS.get(section)
        if owner is not None and owner != algorithm:
            raise ConfigError(
                f"{section}.* is set, but algorithm is {algorithm} "
                f"({section} keys need algorithm: {owner})"
            )


def key_applies(key: str, algorithm: str) -> bool:
    """Whether a dotted key means anything for ``algorithm`` (``ss.*`` only for ``ss``)."""
    owner = ALGORITHM_SECTIONS.get(key.split(".", 1)[0])
    return owner is None or owner == algorithm


def _field(key: str) -> tuple[type, dataclasses.Field[Any]] | None:
    """The section class and field of a dotted key; None for an unknown key."""
    cls: Any = Config
    parts = key.split(".")
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            return None
        if i == len(parts) - 1:
            return cls, fields[part]
        cls = typing.get_type_hints(cls)[part]
        if not dataclasses.is_dataclass(cls):
            return None
    return None


def changes_results(key: str) -> bool:
    """False for keys marked as not changing what a run computes (see the docstring)."""
    found = _field(key)
    if found is None:
        return True
    cls, f = found
    return getattr(cls, "RESULTS", True) and f.metadata.get("results", True)


def read_by_adversarial_only(key: str) -> bool:
    """True for keys only the adversarial phase reads (``phase="adversarial"``)."""
    found = _field(key)
    return found is not None and found[1].metadata.get("phase") == "adversarial"


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain YAML-friendly data (tuples become lists)."""

    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(dataclasses.asdict(cfg))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping (``to_dict``'s) as dotted keys; lists become tuples (hashable)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = tuple(value) if isinstance(value, list) else value
    return out
