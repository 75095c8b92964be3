"""Config loading: every shipped config is valid; bad keys and values name the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from distributed_seqgan.config import Config, dump_config, load_config
from distributed_seqgan.errors import ConfigError
from distributed_seqgan.tasks import check_task

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    check_task(cfg)


def test_paper_config_has_every_official_value():
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "synthetic.yaml")
    assert cfg == Config(run=cfg.run)  # defaults are the official values
    g, d, s = cfg.generator, cfg.discriminator, cfg.schedule
    assert (g.vocab_size, g.emb_dim, g.hidden_dim, g.seq_len, g.lr, g.grad_clip) == (
        5000,
        32,
        32,
        20,
        0.01,
        5.0,
    )
    assert d.filter_sizes == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
    assert d.num_filters == (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)
    assert (d.emb_dim, d.dropout, d.l2_reg, d.lr) == (64, 0.25, 0.2, 1e-4)
    assert (s.mle_epochs, s.d_pretrain_rounds, s.d_epochs, s.adv_iterations, s.rollout_num, s.d_steps) == (
        120, 50, 3, 200, 16, 5,
    )  # fmt: skip


def test_paper_era_config_differs_from_the_2017_one_only_where_the_paper_era_code_does():
    """configs/synthetic-paper.yaml: MLE_SeqGAN/sequence_gan.py at commit 4152436."""
    from distributed_seqgan.config import flatten, to_dict

    root = Path(__file__).resolve().parents[1] / "configs"
    rewrite, paper = (
        load_config(root / "synthetic.yaml"),
        load_config(root / "synthetic-paper.yaml"),
    )
    a, b = flatten(to_dict(rewrite)), flatten(to_dict(paper))
    differs = {k: b[k] for k in a if a[k] != b[k]}
    assert differs == {
        "generator.lr": 0.001, "schedule.mle_epochs": 240, "schedule.d_shuffle": "epoch",
        "schedule.adv_iterations": 800, "schedule.adv_eval_every": 1,
    }  # fmt: skip


def test_cpu_config_shrinks_only_the_schedule():
    root = Path(__file__).resolve().parents[1] / "configs"
    paper, cpu = load_config(root / "synthetic.yaml"), load_config(root / "synthetic-cpu.yaml")
    for part in ("generator", "discriminator", "oracle", "data"):
        assert getattr(paper, part) == getattr(cpu, part), part
    assert cpu.schedule.batch_size == paper.schedule.batch_size
    assert cpu.schedule.rollout_num == paper.schedule.rollout_num


def test_overrides_are_typed():
    cfg = load_config(None, ["schedule.mle_epochs=7", "generator.lr=0.5", "discriminator.filter_sizes=[1,2]",
                             "discriminator.num_filters=[3,4]", "run.name=abc", "run.threads=null"])  # fmt: skip
    assert cfg.schedule.mle_epochs == 7 and cfg.generator.lr == 0.5
    assert (
        cfg.discriminator.filter_sizes == (1, 2)
        and cfg.run.name == "abc"
        and cfg.run.threads is None
    )
    assert load_config(None, ["generator.lr=1"]).generator.lr == 1.0  # int accepted for float


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("schedule.mle_epoch=3", "did you mean 'schedule.mle_epochs'"),
        ("generater.lr=1", "did you mean 'generator'"),
        ("discriminator.drop_out=0.1", "did you mean 'discriminator.dropout'"),
        ("schedule.mle_epochs=abc", "schedule.mle_epochs: expected an integer"),
        ("schedule.mle_epochs=2.5", "schedule.mle_epochs: expected an integer"),
        ("schedule.mle_epochs=-1", "schedule.mle_epochs: must be >= 0"),
        ("discriminator.dropout=1.0", "discriminator.dropout: must be < 1.0"),
        ("generator.lr=0", "generator.lr: must be > 0"),
        ("schedule.rollout_policy=fast", "schedule.rollout_policy: expected one of"),
        ("run.device=tpu", "run.device: expected one of"),
        ("discriminator.filter_sizes=[1,2]", "equally long"),
        ("discriminator.filter_sizes=3", "discriminator.filter_sizes: expected list"),
        ("schedule.mle_epochs", "--set expects key=value"),
        ("schedule=3", "schedule: expected a mapping"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(None, [override])


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schedule: [1, 2\n")
    with pytest.raises(ConfigError, match="malformed config"):
        load_config(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(bad)


def test_dump_round_trip(tmp_path):
    cfg = load_config(None, ["schedule.rollout_policy=delayed", "seed=3"])
    dump_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["task=synthetc"],
            "unknown task 'synthetc' (known: synthetic, text, music); did you mean",
        ),
        (["generator.vocab_size=100"], "does not fit the official oracle"),
        (["oracle.hidden_dim=16"], "must be 32/32 for the official oracle"),
        (["task=text"], "exactly one of data.corpus and data.path"),
        (["task=text", "data.corpus=obamaa"], "unknown corpus 'obamaa' for task text"),
        (["task=text", "data.path=x.txt", "data.drop_patterns=['(']"], "bad regex"),
        (["task=music", "data.corpus=obama"], "unknown corpus 'obama' for task music"),
    ],
)
def test_each_task_checks_its_own_keys_before_reading_data(overrides, message):
    cfg = load_config(None, overrides)  # the schema is task-agnostic: this passes
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_task(cfg)


def test_a_random_oracle_takes_any_size():
    check_task(load_config(None, ["generator.vocab_size=100", "oracle.kind=random"]))


def test_cpu_configs_inherit_the_paper_config_and_change_only_the_schedule():
    for name in ("synthetic", "poems", "obama", "music"):
        paper = load_config(CONFIG_DIR / f"{name}.yaml")
        cpu = load_config(CONFIG_DIR / f"{name}-cpu.yaml")
        assert (
            yaml.safe_load((CONFIG_DIR / f"{name}-cpu.yaml").read_text())["base"] == f"{name}.yaml"
        )
        assert cpu.schedule != paper.schedule
        same = dataclasses.replace(cpu, schedule=paper.schedule, run=paper.run)
        assert same == paper, name


def test_base_chains_merge_key_by_key(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "task: synthetic\nseed: 1\nschedule: {mle_epochs: 7, d_steps: 2}\n"
    )
    (tmp_path / "b.yaml").write_text("base: a.yaml\nschedule: {d_steps: 3}\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "c.yaml").write_text("base: ../b.yaml\nseed: 4\n")
    cfg = load_config(sub / "c.yaml")
    assert (cfg.seed, cfg.schedule.mle_epochs, cfg.schedule.d_steps) == (4, 7, 3)
    dump_config(cfg, tmp_path / "whole.yaml")  # a run's config.yaml: whole, no base
    assert "base" not in yaml.safe_load((tmp_path / "whole.yaml").read_text())
    assert load_config(tmp_path / "whole.yaml") == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("base: self.yaml\n", "leads back to itself"),
        ("base: missing.yaml\n", "config file not found"),
        ("base: [1]\n", "base: expected the path of another config file"),
    ],
)
def test_bad_bases(tmp_path, text, message):
    (tmp_path / "self.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "self.yaml")


def test_the_schema_marks_what_each_key_does_to_a_run():
    """One place says which keys never change results (report labels and --init-from
    ignore them) and which only the adversarial phase reads (--init-from may change them)."""
    from distributed_seqgan.config import (
        changes_results,
        flatten,
        read_by_adversarial_only,
        to_dict,
    )

    keys = flatten(to_dict(load_config(None)))
    free = {k for k in keys if not changes_results(k)}
    assert {k.split(".")[0] for k in free} == {"run", "pool", "ray", "wandb", "schedule"}
    assert {k for k in free if k.startswith("schedule.")} == {"schedule.checkpoint_every"}
    assert all(k in free for k in keys if k.split(".")[0] in ("run", "pool", "ray", "wandb"))
    adversarial = {k for k in keys if read_by_adversarial_only(k)}
    assert adversarial == {f"schedule.{k}" for k in ("adv_iterations", "g_steps", "rollout_num",
                                                     "d_steps", "adv_eval_every")}  # fmt: skip
    assert changes_results("generator.lr") and changes_results("seed")
    assert changes_results("no.such.key")  # unknown: assume it matters
