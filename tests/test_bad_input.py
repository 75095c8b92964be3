"""Bad input, table-driven: configs, command lines, data files, run directories, checkpoints
and the environment. Each case must exit 2 with one line of ours on stderr (no traceback)
and change nothing: no new file anywhere in the workspace, no earlier run touched.

The command runs in process (``cli.main``, the function behind ``seqgan``), so a hundred
cases cost seconds; tests/test_cli.py runs the same kind of case as a real subprocess.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from distributed_seqgan import cli
from distributed_seqgan.config import load_config
from distributed_seqgan.runner import train

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "smoke.yaml"

# (--set override, the message it must give): every group of the config
CONFIG_CASES: list[tuple[str, str]] = [
    ("schedule.mle_epoch=3", "did you mean 'schedule.mle_epochs'"),
    ("generater.lr=1", "did you mean 'generator'"),
    ("bogus=1", "unknown config key 'bogus'"),
    ("schedule=3", "schedule: expected a mapping"),
    ("seed=-1", "seed: must be >= 0"),
    ("seed=1.5", "seed: expected an integer"),
    ("seed=true", "seed: expected an integer"),
    ("task=txt", "unknown task 'txt'"),
    ("task=3", "task: expected a string"),
    ("algorithm=gail", "algorithm: expected one of"),
    ("algorithm=pg_bleu", "algorithm pg_bleu has no discriminator"),
    ("ss.coin=per_token", "ss.* is set, but algorithm is seqgan"),
    ("ss.eps_decay=0.01", "ss.* is set, but algorithm is seqgan"),
    ("ss.eps_start=1.5", "ss.eps_start: must be <= 1.0"),
    ("run.device=tpu", "run.device: expected one of"),
    ("run.threads=0", "run.threads: must be >= 1"),
    ("run.name=../../escaped", "must be a plain directory name"),
    ("run.name=a/b", "must be a plain directory name"),
    ("run.name=..", "must be a plain directory name"),
    ("run.name=' '", "must be a plain directory name"),
    ("run.storage_path=/mnt/runs", "run.storage_path: expected a URI"),
    ("run.storage_path=nosuch://x/y", "Protocol not known: nosuch"),
    ("run.out_dir=[1]", "run.out_dir: expected a string"),
    ("data.num_positive=0", "data.num_positive: must be >= 1"),
    ("data.num_positive=8", "data.num_positive must be >= schedule.batch_size"),
    ("data.num_test=0", "data.num_test: must be >= 1"),
    ("data.tokenizer=bpe", "data.tokenizer: expected one of"),
    ("data.long_lines=cut", "data.long_lines: expected one of"),
    ("data.min_count=0", "data.min_count: must be >= 1"),
    ("data.max_vocab=2", "data.max_vocab: must be >= 4"),
    ("data.test_fraction=0", "data.test_fraction: must be > 0.0"),
    ("data.test_fraction=1", "data.test_fraction: must be < 1.0"),
    ("data.max_lines=0", "data.max_lines: must be >= 1"),
    ("data.test_path=t.txt", "data.test_path: task synthetic draws its test set from the oracle"),
    ("data.drop_patterns=x", "data.drop_patterns: expected list"),
    ("oracle.kind=fancy", "oracle.kind: expected one of"),
    ("oracle.seed=-3", "oracle.seed: must be >= 0"),
    ("oracle.emb_dim=0", "oracle.emb_dim: must be >= 1"),
    ("generator.vocab_size=1", "generator.vocab_size: must be >= 2"),
    ("generator.emb_dim=0", "generator.emb_dim: must be >= 1"),
    ("generator.hidden_dim=-1", "generator.hidden_dim: must be >= 1"),
    ("generator.seq_len=1", "generator.seq_len: must be >= 2"),
    ("generator.start_token=-1", "generator.start_token: must be >= 0"),
    ("generator.start_token=40", "generator.start_token must be < generator.vocab_size"),
    ("generator.init_std=0", "generator.init_std: must be > 0"),
    ("generator.lr=fast", "generator.lr: expected a number"),
    ("generator.lr=0", "generator.lr: must be > 0"),
    ("generator.grad_clip=-1", "generator.grad_clip: must be > 0"),
    ("discriminator.emb_dim=0", "discriminator.emb_dim: must be >= 1"),
    ("discriminator.filter_sizes=[1,2]", "equally long"),
    ("discriminator.filter_sizes=3", "discriminator.filter_sizes: expected list"),
    ("discriminator.filter_sizes=[0,1,2]", "must all be >= 1"),
    ("discriminator.filter_sizes=[1,2,40]", "largest filter 40 is longer"),
    ("discriminator.num_filters=[a,b,c]", "discriminator.num_filters[0]: expected an integer"),
    ("discriminator.dropout=1.0", "discriminator.dropout: must be < 1.0"),
    ("discriminator.dropout=-0.1", "discriminator.dropout: must be >= 0.0"),
    ("discriminator.l2_reg=-1", "discriminator.l2_reg: must be >= 0.0"),
    ("discriminator.lr=0", "discriminator.lr: must be > 0"),
    ("discriminator.bf16_train=yes please", "discriminator.bf16_train: expected true or false"),
    ("schedule.batch_size=0", "schedule.batch_size: must be >= 1"),
    ("schedule.generated_num=8", "schedule.generated_num must be >= schedule.batch_size"),
    ("schedule.mle_epochs=-1", "schedule.mle_epochs: must be >= 0"),
    ("schedule.mle_epochs=2.5", "schedule.mle_epochs: expected an integer"),
    ("schedule.mle_eval_every=0", "schedule.mle_eval_every: must be >= 1"),
    ("schedule.d_pretrain_rounds=-1", "schedule.d_pretrain_rounds: must be >= 0"),
    ("schedule.d_epochs=0", "schedule.d_epochs: must be >= 1"),
    ("schedule.adv_iterations=-2", "schedule.adv_iterations: must be >= 0"),
    ("schedule.g_steps=0", "schedule.g_steps: must be >= 1"),
    ("schedule.rollout_num=0", "schedule.rollout_num: must be >= 1"),
    ("schedule.rollout_num=1000000000", "needs about"),
    ("schedule.rollout_policy=fast", "schedule.rollout_policy: expected one of"),
    ("schedule.rollout_update_rate=1.5", "schedule.rollout_update_rate: must be <= 1.0"),
    ("schedule.d_steps=-1", "schedule.d_steps: must be >= 0"),
    ("schedule.adv_eval_every=0", "schedule.adv_eval_every: must be >= 1"),
    ("schedule.checkpoint_every=0", "schedule.checkpoint_every: must be >= 1"),
    ("eval.bleu_samples=0", "eval.bleu_samples: must be >= 1"),
    ("eval.self_bleu_samples=1", "eval.self_bleu_samples: must be >= 2"),
    ("pool.backend=spark", "pool.backend: expected one of"),
    ("pool.workers=0", "pool.workers: must be >= 1"),
    ("pool.sample_chunk=0", "pool.sample_chunk: must be >= 1"),
    ("ray.cpus_per_worker=0", "ray.cpus_per_worker: must be > 0.0"),
    ("ray.gpus_per_worker=-1", "ray.gpus_per_worker: must be >= 0.0"),
    ("ray.placement=STRICT", "ray.placement: expected one of"),
    ("ray.placement_timeout_s=0", "ray.placement_timeout_s: must be > 0.0"),
    ("ray.connect_timeout_s=0", "ray.connect_timeout_s: must be > 0.0"),
    ("ray.max_restarts=-1", "ray.max_restarts: must be >= 0"),
    ("ray.shard_timeout_s=0", "ray.shard_timeout_s: must be > 0.0"),
    ("wandb.mode=sometimes", "wandb.mode: expected 'online' | 'offline' | 'disabled' or null"),
    ("wandb.tags=x", "wandb.tags: expected list"),
    ("generator.vocab_size=1000000000", "needs about"),
    ("oracle.kind=official", "generator.vocab_size=40 does not fit the official oracle"),
    ("schedule.mle_epochs", "--set expects key=value"),
    ("=3", "--set expects key=value"),
    ("schedule..mle_epochs=3", "--set expects key=value"),
    ("schedule.mle_epochs=[1", "cannot parse value"),
]

Case = tuple[list[str], str]


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` (symlinks as their target) with a hash of its content."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = "-> " + str(p.readlink())
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Configs, corpora, sequence files and run directories, good and bad."""
    ws = tmp_path_factory.mktemp("ws")
    smoke = SMOKE.read_text()
    (ws / "smoke.yaml").write_text(smoke)
    (ws / "empty.yaml").write_text("")
    (ws / "comments.yaml").write_text("# nothing here\n")
    (ws / "list.yaml").write_text("- 1\n- 2\n")
    (ws / "broken.yaml").write_text("schedule: {mle_epochs: [\n")
    (ws / "notask.yaml").write_text("seed: 3\n")
    (ws / "twice.yaml").write_text("task: synthetic\nseed: 7\nseed: 9\n")
    (ws / "twice-nested.yaml").write_text("task: synthetic\nrun: {device: cpu, device: cuda}\n")
    (ws / "latin1.yaml").write_bytes(b"task: synthetic\n# caf\xe9\n")
    (ws / "loop.yaml").write_text("base: loop.yaml\ntask: synthetic\n")
    (ws / "nobase.yaml").write_text("base: missing.yaml\n")
    (ws / "badbase.yaml").write_text("base: 3\n")
    (ws / "dir.yaml").mkdir()
    (ws / "corpus-empty.txt").write_text("")
    (ws / "corpus-latin1.txt").write_bytes(b"good line here\ncaf\xe9 latin-1 line\n")
    (ws / "corpus-long.txt").write_text(" ".join(["w"] * 40) + "\n" + "a b c\n" * 40)
    (ws / "corpus-one-token.txt").write_text("same same\nsame\n" * 40)
    (ws / "seq-short.txt").write_text("1 2 3\n")
    (ws / "seq-range.txt").write_text(" ".join(["5000"] * 20) + "\n")
    (ws / "seq-words.txt").write_text(" ".join(["x"] * 20) + "\n")
    (ws / "seq-empty.txt").write_text("\n\n")
    (ws / "seq-binary.txt").write_bytes(b"\xff\xfe\x00\x01" * 20)
    (ws / "a-file").write_text("not a directory\n")
    corrupt = ws / "corrupt-data" / "synthetic_oracle"
    corrupt.mkdir(parents=True)
    (corrupt / "oracle_lstm_params.npz").write_bytes(b"not the oracle")
    # an earlier finished run, and damaged copies of it
    runs = ws / "runs"
    done = train(load_config(ws / "smoke.yaml", [f"run.out_dir={runs}", "run.name=done"]), True)
    for name in ("truncated", "garbage", "pickle", "tensor", "nockpt", "noconfig", "torn-middle",
                 "vocab-changed"):  # fmt: skip
        shutil.copytree(done, runs / name)
    ckpt = done / "checkpoints" / "latest.pt"
    (runs / "truncated/checkpoints/latest.pt").write_bytes(ckpt.read_bytes()[:1000])
    (runs / "garbage/checkpoints/latest.pt").write_bytes(b"\x00garbage" * 100)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (runs / "pickle/checkpoints/latest.pt").write_bytes(pickle.dumps({"learner": Evil()}))
    torch.save(torch.zeros(3), runs / "tensor/checkpoints/latest.pt")
    shutil.rmtree(runs / "nockpt/checkpoints")
    (runs / "noconfig/config.yaml").unlink()
    lines = (runs / "torn-middle/metrics.jsonl").read_text().splitlines()
    lines[3] = lines[3][:10]
    (runs / "torn-middle/metrics.jsonl").write_text("\n".join(lines) + "\n")
    (runs / "vocab-changed/config.yaml").write_text(
        (done / "config.yaml").read_text().replace("vocab_size: 40", "vocab_size: 41")
    )
    return ws


def _cases(ws: Path) -> dict[str, tuple[list[str], str, dict[str, str]]]:
    smoke, runs = str(ws / "smoke.yaml"), ws / "runs"
    train_ = ["train", "--config", smoke]
    offline = {"SEQGAN_DATA_DIR": str(ws / "nodata"), "SEQGAN_CACHE_DIR": str(ws / "cache"),
               "SEQGAN_OFFLINE": "1"}  # fmt: skip
    cases: dict[str, tuple[list[str], str, dict[str, str]]] = {
        f"--set {o}": ([*train_, "--set", o], m, {}) for o, m in CONFIG_CASES
    }
    text = ["train", "--config", str(REPO / "configs" / "text.yaml"), "--set"]
    cases |= {
        # config files
        "missing config": (
            ["train", "--config", str(ws / "nope.yaml")],
            "config file not found",
            {},
        ),
        "config is a dir": (
            ["train", "--config", str(ws / "dir.yaml")],
            "config file not found",
            {},
        ),
        "empty config": (["train", "--config", str(ws / "empty.yaml")], "no 'task' key", {}),
        "comments only": (["train", "--config", str(ws / "comments.yaml")], "no 'task' key", {}),
        "no task": (["train", "--config", str(ws / "notask.yaml")], "no 'task' key", {}),
        "list config": (["train", "--config", str(ws / "list.yaml")], "must be a mapping", {}),
        "broken yaml": (["train", "--config", str(ws / "broken.yaml")], "malformed config", {}),
        "duplicate key": (
            ["train", "--config", str(ws / "twice.yaml")],
            "key 'seed' is given twice",
            {},
        ),
        "duplicate nested": (
            ["train", "--config", str(ws / "twice-nested.yaml")],
            "key 'device' is given twice",
            {},
        ),  # fmt: skip
        "non-utf8 config": (["train", "--config", str(ws / "latin1.yaml")], "malformed config", {}),
        "base loop": (["train", "--config", str(ws / "loop.yaml")], "leads back to itself", {}),
        "base missing": (
            ["train", "--config", str(ws / "nobase.yaml")],
            "config file not found",
            {},
        ),
        "base not a path": (["train", "--config", str(ws / "badbase.yaml")], "base: expected", {}),
        # the command line
        "no command": ([], "", {}),
        "unknown command": (["frobnicate"], "invalid choice: 'frobnicate'", {}),
        "train without config": (["train"], "required: --config", {}),
        "unknown option": ([*train_, "--fast"], "unrecognized arguments: --fast", {}),
        "sample -n 0": (["sample", "--run", str(runs / "done"), "-n", "0"], "-n must be >= 1", {}),
        "sample -n word": (
            ["sample", "--run", str(runs / "done"), "-n", "ten"],
            "invalid int value",
            {},
        ),
        "sample -n huge": (
            ["sample", "--run", str(runs / "done"), "-n", str(10**12)],
            "GiB of memory",
            {},
        ),
        "eval -n 1": (["eval", "--run", str(runs / "done"), "-n", "1"], "-n must be >= 2", {}),
        "eval -n huge": (
            ["eval", "--run", str(runs / "done"), "-n", str(10**12)],
            "GiB of memory",
            {},
        ),
        "eval seed word": (
            ["eval", "--run", str(runs / "done"), "--seed", "x"],
            "invalid int value",
            {},
        ),
        "data bad action": (["data", "pull"], "invalid choice: 'pull'", {}),
        "data unknown file": (["data", "fetch", "obamaa"], "unknown data file 'obamaa'", {}),
        "data fetch offline": (["data", "fetch", "obama"], "SEQGAN_OFFLINE is set", offline),
        # sequences files
        "sequences missing": (["oracle-nll", str(ws / "none.txt")], "sequences file not found", {}),
        "sequences short": (
            ["oracle-nll", str(ws / "seq-short.txt")],
            "expected 20 token ids, got 3",
            {},
        ),
        "sequences range": (
            ["oracle-nll", str(ws / "seq-range.txt")],
            "token id 5000 out of range",
            {},
        ),
        "sequences words": (
            ["oracle-nll", str(ws / "seq-words.txt")],
            "expected integer token ids",
            {},
        ),
        "sequences empty": (["oracle-nll", str(ws / "seq-empty.txt")], "no sequences", {}),
        "sequences binary": (
            ["oracle-nll", str(ws / "seq-binary.txt")],
            "not a UTF-8 text file",
            {},
        ),
        "oracle checksum mismatch": (
            ["oracle-nll", str(ws / "seq-short.txt"), "--data-dir", str(ws / "corrupt-data")],
            "checksum mismatch",
            {},
        ),
        "oracle offline": (
            ["oracle-nll", str(ws / "seq-short.txt")],
            "SEQGAN_OFFLINE is set",
            offline,
        ),
        # corpora
        "corpus missing": ([*text, f"data.path={ws / 'nope.txt'}"], "nope.txt", {}),
        "test file missing": (
            [
                *text,
                f"data.path={ws / 'corpus-long.txt'}",
                "--set",
                "generator.seq_len=40",
                "--set",
                f"data.test_path={ws / 'nope-test.txt'}",
            ],
            "text corpus not found: " + str(ws / "nope-test.txt"),
            {},
        ),  # fmt: skip
        "test file for music": (
            [
                "train",
                "--config",
                str(REPO / "configs" / "music-cpu.yaml"),
                "--set",
                "data.test_path=x.txt",
            ],
            "data.test_path: task music uses the Nottingham file's own test split",
            {},
        ),  # fmt: skip
        "corpus empty": ([*text, f"data.path={ws / 'corpus-empty.txt'}"], "no samples", {}),
        "corpus latin-1": ([*text, f"data.path={ws / 'corpus-latin1.txt'}"], "not UTF-8 text", {}),
        "corpus long line": (
            [*text, f"data.path={ws / 'corpus-long.txt'}"],
            "longer than generator.seq_len",
            {},
        ),
        "corpus one token": (
            [*text, f"data.path={ws / 'corpus-one-token.txt'}"],
            "vocabulary has 1 token",
            {},
        ),
        "corpus template as it is": (
            ["train", "--config", str(REPO / "configs" / "text.yaml")],
            "text corpus not found: my_lines.txt",
            {},
        ),
        "corpus neither": (
            [*text, "data.path=null"],
            "exactly one of data.corpus and data.path",
            {},
        ),  # fmt: skip
        "corpus offline": (
            ["train", "--config", str(REPO / "configs" / "poems-cpu.yaml")],
            "SEQGAN_OFFLINE is set",
            offline,
        ),  # fmt: skip
        # where runs go
        "out_dir in /proc": (
            [*train_, "--set", "run.out_dir=/proc/x"],
            "run.out_dir: cannot create",
            {},
        ),
        "out_dir is a file": (
            [*train_, "--set", f"run.out_dir={ws / 'a-file'}"],
            "cannot create",
            {},
        ),
        "out_dir under a file": (
            [*train_, "--set", f"run.out_dir={ws / 'a-file' / 'x'}"],
            "cannot create",
            {},
        ),  # fmt: skip
        "name taken": (
            [*train_, "--set", f"run.out_dir={runs}", "--set", "run.name=done"],
            "already exists and is not empty",
            {},
        ),  # fmt: skip
        # run directories and checkpoints
        "sample no run": (["sample", "--run", str(ws / "norun")], "no such run directory", {}),
        "eval no run": (["eval", "--run", str(ws / "norun")], "no such run directory", {}),
        "resume no run": (["resume", "--run", str(ws / "norun")], "no such run directory", {}),
        "resume finished": (["resume", "--run", str(runs / "done")], "has finished", {}),
        "resume no config": (
            ["resume", "--run", str(runs / "noconfig")],
            "not a run directory (no config.yaml)",
            {},
        ),
        "sample a plain dir": (["sample", "--run", str(ws)], "not a run directory", {}),
        "resume no checkpoints": (
            ["resume", "--run", str(runs / "nockpt")],
            "no usable checkpoint",
            {},
        ),
        "resume unknown checkpoint": (
            ["resume", "--run", str(runs / "done"), "--checkpoint", "best"],
            "checkpoint not found",
            {},
        ),  # fmt: skip
        "resume torn middle": (
            ["resume", "--run", str(runs / "torn-middle"), "--checkpoint", "pretrained"],
            "metrics.jsonl:4: corrupt line",
            {},
        ),  # fmt: skip
        "resume vocab changed": (
            ["resume", "--run", str(runs / "vocab-changed"), "--checkpoint", "mle"],
            "does not fit",
            {},
        ),  # fmt: skip
        "sample truncated": (
            ["sample", "--run", str(runs / "truncated")],
            "latest.pt: corrupt or truncated",
            {},
        ),
        "eval truncated": (
            ["eval", "--run", str(runs / "truncated")],
            "latest.pt: corrupt or truncated",
            {},
        ),
        "resume truncated": (
            ["resume", "--run", str(runs / "truncated"), "--checkpoint", "latest"],
            "latest.pt: corrupt or truncated",
            {},
        ),  # fmt: skip
        "sample garbage": (
            ["sample", "--run", str(runs / "garbage")],
            "latest.pt: corrupt, or not a plain weights checkpoint",
            {},
        ),
        "sample pickle": (
            ["sample", "--run", str(runs / "pickle")],
            "refused without running it",
            {},
        ),
        "eval pickle": (
            ["eval", "--run", str(runs / "pickle")],
            "refused without running it",
            {},
        ),
        "sample tensor": (
            ["sample", "--run", str(runs / "tensor")],
            "not a checkpoint of this project",
            {},
        ),
        "sample bad checkpoint name": (
            ["sample", "--run", str(runs / "done"), "--checkpoint", "x"],
            "checkpoint not found",
            {},
        ),  # fmt: skip
        "resume bad uri": (["resume", "--run", f"file://{ws}/nowhere"], "not found", {}),
        # environment
        "ray unreachable": (
            [
                *train_,
                "--set",
                "pool.backend=ray",
                "--set",
                "ray.address=127.0.0.1:1",
                "--set",
                "ray.connect_timeout_s=5",
            ],
            "nothing answers at 127.0.0.1:1",
            {},
        ),  # fmt: skip
        "wandb online without login": (
            [
                *train_,
                "--set",
                "wandb.enabled=true",
                "--set",
                "wandb.mode=online",
                "--set",
                f"run.out_dir={ws / 'wb'}",
            ],
            "W&B could not start a run",
            {"WANDB_API_KEY": "", "WANDB_MODE": "online", "WANDB_CONFIG_DIR": str(ws / "wbcfg")},
        ),  # fmt: skip
        "cuda without gpu": ([*train_, "--set", "run.device=cuda"], "no CUDA device", {}),
    }
    return cases


def test_there_are_at_least_a_hundred_cases(workspace):
    assert len(_cases(workspace)) >= 100


def test_bad_input_is_one_line_exit_2_and_touches_nothing(workspace, capsys, monkeypatch):
    monkeypatch.chdir(workspace)  # a relative run.out_dir would land here
    before = _files(workspace)
    failures = []
    for name, (argv, message, env) in _cases(workspace).items():
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            try:
                code = cli.main(argv)
            except BaseException as exc:  # a traceback: the failure this test exists to find
                code = f"raised {type(exc).__name__}: {str(exc)[:200]}"
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        if name == "no command":  # prints the help, exit 2
            ok = code == 2 and "usage: seqgan" in out
        else:
            ok = (code == 2 and len(lines) == 1 and lines[0].startswith("seqgan: error: ")
                  and message in lines[0] and "Traceback" not in err)  # fmt: skip
        after = _files(workspace)
        if after != before:
            changed = sorted(set(after.items()) ^ set(before.items()))[:4]
            failures.append((name, "changed files", changed))
            before = after
        if not ok:
            failures.append((name, code, err[-300:] or out[-200:]))
    assert not failures, "\n".join(map(repr, failures))
