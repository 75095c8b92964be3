"""Typed run configuration: frozen dataclasses, YAML files and dotted ``--set`` overrides.

Every value a run depends on lives here, so a run directory's ``config.yaml`` is enough to
repeat it. Defaults are the official SeqGAN code's values (LantaoYu/SeqGAN,
``sequence_gan.py``); ``configs/synthetic.yaml`` spells them out.

Validation is strict because a typo in a long GPU run is expensive: an unknown key names
the closest valid one, and a wrong type or out-of-range value names the key. Rules that
belong to one task (the official oracle's sizes, which corpora exist) live with that task
(``distributed_seqgan.tasks``) and run before any data is read.

A config file may start from another: ``base: synthetic.yaml`` (a path relative to the
file) loads that file first and overrides it key by key, so a CPU variant states only
what it changes. A run directory's ``config.yaml`` is always written out whole.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError


def _f(default: Any, **rules: Any) -> Any:
    """A dataclass field with validation rules (``ge``, ``gt``, ``le``, ``lt``) in metadata."""
    if isinstance(default, (list, tuple)):
        value = tuple(default)
        return field(default_factory=lambda: value, metadata=rules)
    return field(default=default, metadata=rules)


@dataclass(frozen=True)
class OracleConfig:
    """The synthetic task's target LSTM: the official parameters or a seeded N(0, 1) draw."""

    kind: Literal["official", "random"] = "official"
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
    adv_iterations: int = _f(200, ge=0)
    g_steps: int = _f(1, ge=1)
    rollout_num: int = _f(16, ge=1)
    rollout_policy: Literal["same", "delayed"] = "same"
    rollout_update_rate: float = _f(0.8, ge=0.0, le=1.0)
    d_steps: int = _f(5, ge=0)
    adv_eval_every: int = _f(5, ge=1)
    checkpoint_every: int = _f(10, ge=1)  # iterations (epochs, D rounds) per latest.pt


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

    backend: Literal["local", "ray"] = "local"
    workers: int = _f(1, ge=1)
    # sequences per sampling shard; fixed, so results do not depend on the worker count
    sample_chunk: int = _f(1024, ge=1)


@dataclass(frozen=True)
class RayConfig:
    """Ray backend settings (used when ``pool.backend`` is ``ray``)."""

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

    enabled: bool = False
    project: str = "distributed_seqgan"
    entity: str | None = None  # a W&B team or user; None: your default
    group: str | None = None  # e.g. one group per sweep of rollout counts
    tags: tuple[str, ...] = _f(())
    mode: Literal["online", "offline", "disabled"] | None = None  # None: $WANDB_MODE or online


@dataclass(frozen=True)
class RunConfig:
    """Where the run writes, and how it uses this machine."""

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
        if self.algorithm != "ss" and self.ss != ScheduledSamplingConfig():
            raise ConfigError(
                f"ss.* is set, but algorithm is {self.algorithm} (ss keys need algorithm: ss)"
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


# ----------------------------------------------------------------------------- parsing


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _coerce(key: str, tp: Any, value: Any) -> Any:
    """Returns ``value`` as type ``tp`` or raises ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, arg, value)
            except ConfigError:
                pass
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{key}: expected one of {_type_name(tp)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
        (inner, _) = typing.get_args(tp)
        return tuple(_coerce(f"{key}[{i}]", inner, v) for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    raise TypeError(f"unsupported config type {tp!r} for {key}")  # a bug, not user input


def _check_range(key: str, value: Any, rules: dict[str, Any]) -> None:
    if value is None:
        return
    ops = {"ge": (lambda a, b: a >= b, ">="), "gt": (lambda a, b: a > b, ">")}
    ops |= {"le": (lambda a, b: a <= b, "<="), "lt": (lambda a, b: a < b, "<")}
    for name, bound in rules.items():
        check, sym = ops[name]
        if not check(value, bound):
            raise ConfigError(f"{key}: must be {sym} {bound}, got {value!r}")


def _unknown_key(prefix: str, key: str, valid: list[str]) -> ConfigError:
    full = f"{prefix}{key}"
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(valid)}"
    return ConfigError(f"unknown config key '{full}'{hint}")


def _build(cls: type, raw: Any, prefix: str = "") -> Any:
    """Builds dataclass ``cls`` from a (possibly partial) mapping, validating every value."""
    where = prefix or "config"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {raw!r}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    dot = f"{prefix}." if prefix else ""
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise _unknown_key(dot, str(key), list(fields))
        value = _coerce(f"{dot}{key}", hints[key], value)
        _check_range(f"{dot}{key}", value, dict(fields[key].metadata))
        kwargs[key] = value
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain YAML-friendly data (tuples become lists)."""

    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(dataclasses.asdict(cfg))


# Config sections that belong to one algorithm: their keys mean nothing for the others.
ALGORITHM_SECTIONS = {"ss": "ss"}


def key_applies(key: str, algorithm: str) -> bool:
    """Whether a dotted key means anything for ``algorithm`` (``ss.*`` only for ``ss``)."""
    owner = ALGORITHM_SECTIONS.get(key.split(".", 1)[0])
    return owner is None or owner == algorithm


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping (``to_dict``'s) as dotted keys; lists become tuples (hashable)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = tuple(value) if isinstance(value, list) else value
    return out


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``a.b=c`` -> ("a.b", c parsed as YAML, so ``3`` is an int and ``[1,2]`` a list)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not p for p in key.split(".")):
        raise ConfigError(f"--set expects key=value (e.g. schedule.mle_epochs=5), got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        why = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise ConfigError(f"--set {key}: cannot parse value {raw!r}: {why}") from None
    return key, value


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice (plain YAML keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.YAMLError(f"line {line}: key {key!r} is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(p: Path) -> dict[str, Any]:
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        loaded = yaml.load(p.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"malformed config {p}: {first}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"malformed config {p}: top level must be a mapping")
    return loaded


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_tree(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a plain tree, with its ``base:`` chain resolved."""
    p = Path(path)
    tree = _read_yaml(p)
    base = tree.pop("base", None)
    if base is None:
        return tree
    if not isinstance(base, str):
        raise ConfigError(f"{p}: base: expected the path of another config file, got {base!r}")
    base_path = (p.parent / base).resolve()
    if base_path in _seen or base_path == p.resolve():
        raise ConfigError(f"{p}: base: {base} leads back to itself")
    return _merge(read_config_tree(base_path, (*_seen, p.resolve())), tree)


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Reads a YAML config (or the defaults when ``path`` is None) and applies overrides.

    A config file must name its ``task`` (itself or through its ``base``): an empty or
    mistyped file would otherwise start the defaults, the paper's 10-hour run."""
    tree = read_config_tree(path) if path is not None else {}
    if path is not None and "task" not in tree:
        raise ConfigError(f"{path}: no 'task' key (synthetic, text or music); is it a config?")
    for text in overrides:
        key, value = parse_override(text)
        _set_dotted(tree, key, value)
    cfg = _build(Config, tree).validate()
    if "ss" in tree and cfg.algorithm != "ss":  # given, even at its defaults
        raise ConfigError(
            f"ss.* is set, but algorithm is {cfg.algorithm} (ss keys need algorithm: ss)"
        )
    return cfg


def load_run_config(run: Path) -> Config:
    """The config a run directory was trained with; a one-line error naming the directory
    when it is not one (a mistyped path would otherwise read as a missing config file)."""
    if not run.is_dir():
        raise ConfigError(f"{run}: no such run directory")
    if not (run / "config.yaml").is_file():
        raise ConfigError(f"{run}: not a run directory (no config.yaml)")
    return load_config(run / "config.yaml")


def dump_config(cfg: Config, path: str | Path) -> None:
    """The whole config as YAML; an algorithm's own section only where it is used."""
    tree = to_dict(cfg)
    if cfg.algorithm != "ss":
        tree.pop("ss")
    Path(path).write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
