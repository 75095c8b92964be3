"""The ``seqgan`` command line. Bad input exits 2 with one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import NoReturn

from .config import load_config
from .errors import Stopped, UserError

DESCRIPTION = """\
SeqGAN (Yu et al., AAAI 2017): an LSTM generator trained by policy gradient with a CNN
discriminator's Monte-Carlo rollout rewards.

commands:
  train        train end to end (MLE pretraining, D pretraining, adversarial training)
               from a YAML config; writes a run directory with config.yaml,
               metrics.jsonl and checkpoints/
  resume       continue a run that stopped (e.g. workers lost for good) from its
               furthest checkpoint; ends exactly as an uninterrupted run would
  sample       print K sequences from a trained run's generator, one per line (text
               tasks: decoded text; --ids for token ids; music: --midi DIR writes .mid files)
  eval         the task's metrics (NLL-oracle, or BLEU, self-BLEU, NLL-test, MSE) of a
               trained run's checkpoint, on fresh samples; prints JSON
  sweep        one config over several seeds (--seeds 88-92), each an ordinary run
               (<name>-s<seed>), --parallel K at a time; finished runs are skipped,
               stopped ones resumed
  report       tables, PNG curves and a markdown summary of one or more runs (seeds,
               rollout counts, ...) overlaid: seqgan report --run R1 --run R2 --out DIR
  oracle-nll   mean per-token NLL under the official oracle LSTM of the sequences in a
               file (one per line, 20 space-separated ids in 0..4999)
  data         list the known data files and where they are found; fetch them
               (seqgan data fetch obama chinese-poems | all)
  bench        time the hot paths at the paper config against this machine's matmul
               ceilings; appends to docs/benchmark-log.md (seqgan bench --help)

Data: files are looked up in data.dir, then $SEQGAN_DATA_DIR, then the cache
($SEQGAN_CACHE_DIR or ~/.cache/distributed_seqgan), and downloaded with sha256
verification if missing (SEQGAN_OFFLINE=1 forbids downloads).
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see: {self.prog} --help)")


PROGRESS_EVERY = dict(
    type=float, default=600.0, metavar="SECONDS",
    help="without a terminal (nohup, a pipe, a job log): a line saying where the run stands "
    "in its plan and its time left, this often (default 600; 0: never)",
)  # fmt: skip


def progress_every(args: argparse.Namespace) -> float:
    if args.progress_every < 0:
        raise UserError("--progress-every must be >= 0 (0: never)")
    return args.progress_every


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="seqgan", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", metavar="{" + ",".join([*COMMANDS, "bench"]) + "}")
    run_help = "run directory written by 'seqgan train'"

    t = sub.add_parser(
        "train", help="train SeqGAN from a config", description="Train SeqGAN end to end."
    )
    t.add_argument("--config", required=True, help="YAML config (see configs/)")
    t.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set schedule.mle_epochs=10 (repeatable)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress output (metrics.jsonl only)")
    t.add_argument("--progress-every", **PROGRESS_EVERY)
    t.add_argument(
        "--init-from", metavar="RUN", default=None,
        help="start from RUN's pretrained generator and discriminator (skip MLE and D "
        "pretraining); the configs may differ only in run, pool, ray, wandb and adversarial "
        "schedule keys (rollout_num, adv_iterations, g_steps, d_steps, ...)",
    )  # fmt: skip

    w = sub.add_parser(
        "sweep", help="one config over several seeds, K runs at a time",
        description="Train one config for each seed, as separate processes, --parallel at a "
        "time. Run directories are <name>-s<seed> under run.out_dir, each with a log of its "
        "events beside it; a finished one is skipped and a started one resumed, so a stopped "
        "sweep continues with the same command.",
    )  # fmt: skip
    w.add_argument("--config", required=True, help="YAML config (see configs/)")
    w.add_argument("--seeds", required=True, help="e.g. 88,89,90 or 88-92")
    w.add_argument("--parallel", type=int, default=1, help="runs at once (default 1)")
    w.add_argument("--name", default=None, help="run name stem (default: run.name or the "
                   "config's file name)")  # fmt: skip
    w.add_argument("--threads", type=int, default=None,
                   help="torch threads per run (default: this machine's cores / --parallel)")  # fmt: skip
    w.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value for every run (repeatable)")  # fmt: skip
    w.add_argument("--status-every", type=float, default=600.0, metavar="SECONDS",
                   help="say each running run's newest log line and where it stands in its "
                   "plan this often (default 600; 0: never); the runs print their progress "
                   "lines twice as often")  # fmt: skip

    r = sub.add_parser(
        "resume",
        help="continue a stopped run from its checkpoint",
        description="Continue a run from its furthest checkpoint (interrupted, "
        "latest, pretrained or mle) with the run's own config.",
    )
    r.add_argument("--run", required=True, help=run_help + ", or its run.storage_path mirror URI")
    r.add_argument("--checkpoint", default=None, help="a checkpoint name (default: furthest)")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument("--progress-every", **PROGRESS_EVERY)

    s = sub.add_parser(
        "sample",
        help="sample from a trained generator",
        description="Print sequences from a run's generator.",
    )
    s.add_argument("--run", required=True, help=run_help)
    s.add_argument("-n", type=int, default=10, help="number of sequences (default 10)")
    s.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    s.add_argument("--checkpoint", default="latest", help="latest | pretrained | mle")
    s.add_argument("--ids", action="store_true", help="text tasks: print token ids, not text")
    s.add_argument(
        "--midi", metavar="DIR", default=None,
        help="music runs: write each sample to DIR/sample-NNNN.mid (needs the music extra)",
    )  # fmt: skip
    s.add_argument(
        "--step-seconds", type=float, default=0.25,
        help="--midi: seconds per time step (default 0.25: an eighth note at 120 bpm)",
    )  # fmt: skip

    e = sub.add_parser(
        "eval",
        help="metrics of a trained run's checkpoint",
        description="Evaluate a run's checkpoint with its task's metrics; prints one JSON object.",
    )
    e.add_argument("--run", required=True, help=run_help)
    e.add_argument("--checkpoint", default="latest", help="latest | pretrained | mle")
    e.add_argument("-n", type=int, default=None, help="samples (default schedule.generated_num)")
    e.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    e.add_argument(
        "--per-sequence", metavar="FILE", default=None,
        help="synthetic task: also write each sample's NLL under the oracle, one per line",
    )  # fmt: skip
    e.add_argument(
        "--temperature", type=float, default=1.0,
        help="sample (and score G) at this temperature: logits / T; below 1 less diverse "
        "(to compare generators at matched self-BLEU; default 1)",
    )  # fmt: skip

    rp = sub.add_parser(
        "report",
        help="tables and curves of runs",
        description="Write summary.md (final values per run, mean ± std over runs that "
        "differ only in seed, every evaluation), one PNG per metric with every run "
        "overlaid, and one CSV per run into --out.",
    )
    rp.add_argument("--run", dest="runs", action="append", required=True,
                    help=run_help + " (repeatable)")  # fmt: skip
    rp.add_argument("--out", required=True, help="directory for the report (created)")
    rp.add_argument("--metrics", default=None, help="comma-separated (default: all logged)")
    rp.add_argument(
        "--label", metavar="KEYS", default=None,
        help="comma-separated config keys that name each run's experiment (runs alike in "
        "them are pooled as seeds), e.g. 'algorithm' for Table 1 (default: every key in "
        "which the runs differ, seed and run/pool/ray/wandb aside)",
    )  # fmt: skip
    rp.add_argument(
        "--reference", action="append", default=[], metavar="LABEL=FILE.csv",
        help="a published curve to draw and compare point by point (columns as a report's "
        "<run>.csv), e.g. docs/official-log.csv (repeatable)",
    )  # fmt: skip
    rp.add_argument(
        "--versus", metavar="KEY", default=None,
        help="a config key the runs sweep (e.g. schedule.rollout_num): versus.png, each "
        "metric's final value and the seconds per adversarial iteration against it",
    )  # fmt: skip
    rp.add_argument(
        "--checkpoints", action="store_true",
        help="text and music runs: also score checkpoints mle and latest and the real data "
        "on fresh samples (slower), with a few decoded samples",
    )  # fmt: skip
    rp.add_argument("-n", type=int, default=None,
                    help="--checkpoints: samples per row (default schedule.generated_num)")  # fmt: skip
    rp.add_argument(
        "--significance", type=int, default=None, metavar="N",
        help="synthetic runs: per-sample oracle NLLs of N samples of each run's final "
        "generator, and Welch's t-test of each label against the first run's (Table 1)",
    )  # fmt: skip
    rp.add_argument("--seed", type=int, default=0, help="sampling seed of the scored samples")
    rp.add_argument("--show", type=int, default=5, help="--checkpoints: samples shown per run")

    o = sub.add_parser(
        "oracle-nll",
        help="NLL of sequences under the official oracle",
        description="Print the mean per-token NLL (nats) under the official oracle LSTM.",
    )
    o.add_argument("file", help="sequences: one per line, space-separated token ids")
    o.add_argument(
        "--data-dir",
        default=None,
        help="directory holding synthetic_oracle/ (else $SEQGAN_DATA_DIR or the cache)",
    )

    dp = sub.add_parser(
        "data",
        help="list or fetch data files",
        description="List the known data files (with where each is found), or "
        "fetch them into the cache with sha256 verification.",
    )
    dp.add_argument("action", choices=["list", "fetch"], nargs="?", default="list")
    dp.add_argument("names", nargs="*", help="registry names, or 'all' (fetch)")
    dp.add_argument("--data-dir", default=None, help="a directory to search first")

    sub.add_parser(
        "bench", help="benchmark the hot paths (see: seqgan bench --help)", add_help=False
    )
    return p


def cmd_train(args: argparse.Namespace) -> int:
    from .runner import train

    cfg = load_config(args.config, args.overrides)
    run_dir = train(cfg, quiet=args.quiet, init_from=args.init_from,
                    progress_every=progress_every(args))  # fmt: skip
    print(f"run directory: {run_dir}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .runs.sweep import (
        available_cores,
        default_threads,
        parse_seeds,
        plan_jobs,
        run_jobs,
        sharing_note,
    )

    if args.parallel < 1:
        raise UserError("--parallel must be >= 1")
    if args.threads is not None and args.threads < 1:
        raise UserError("--threads must be >= 1")
    if args.status_every < 0:
        raise UserError("--status-every must be >= 0 (0: never)")
    # a sweep of hours is mostly read from a file (nohup, a job log): each line as it happens
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    seeds = parse_seeds(args.seeds)
    threads = args.threads or default_threads(args.parallel)
    note = sharing_note(args.parallel, threads, available_cores())
    if note:
        print(note)
    jobs, finished = plan_jobs(
        args.config, args.overrides, seeds, args.name, threads, args.status_every / 2
    )
    for run_dir in finished:
        print(f"already finished: {run_dir}")
    failed = run_jobs(jobs, args.parallel, status_every=args.status_every)
    done = [*finished, *(j.run_dir for j in jobs if j not in failed)]
    if done:
        print("report: seqgan report " + " ".join(f"--run {d}" for d in done) + " --out report/")
    return 1 if failed else 0


def cmd_resume(args: argparse.Namespace) -> int:
    from .runner import resume

    run_dir = resume(args.run, args.checkpoint, quiet=args.quiet,
                     progress_every=progress_every(args))  # fmt: skip
    print(f"run directory: {run_dir}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from .runs.sampling import sample_lines, sample_midis

    if args.step_seconds <= 0:
        raise UserError("--step-seconds must be > 0")
    run = Path(args.run)
    if args.midi is not None:
        for path in sample_midis(run, args.checkpoint, args.n, args.seed, Path(args.midi),
                                 args.step_seconds):  # fmt: skip
            print(path)
        return 0
    lines = sample_lines(run, args.checkpoint, args.n, args.seed, args.ids)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .runs.evaluation import evaluate_checkpoint

    per_sequence = Path(args.per_sequence) if args.per_sequence else None
    metrics = evaluate_checkpoint(
        Path(args.run), args.checkpoint, args.n, args.seed, per_sequence, args.temperature
    )
    print(json.dumps({"run": args.run, "checkpoint": args.checkpoint, **metrics}))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report.make import make_report

    written = make_report(
        [Path(r) for r in args.runs], Path(args.out),
        label_keys=[k for k in args.label.split(",") if k] if args.label else None,
        metrics=[m for m in args.metrics.split(",") if m] if args.metrics else None,
        references=args.reference, checkpoints=args.checkpoints, n=args.n, seed=args.seed,
        show=args.show, versus=args.versus, significance=args.significance,
    )  # fmt: skip
    for path in written:
        print(path)
    return 0


def cmd_oracle_nll(args: argparse.Namespace) -> int:
    from .runs.evaluation import official_oracle_nll

    print(f"{official_oracle_nll(Path(args.file), args.data_dir):.6f}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .data.registry import listing

    for line in listing(args.names, args.action == "fetch", args.data_dir):
        print(line)
    return 0


COMMANDS = {
    "train": cmd_train,
    "resume": cmd_resume,
    "sweep": cmd_sweep,
    "sample": cmd_sample,
    "eval": cmd_eval,
    "report": cmd_report,
    "oracle-nll": cmd_oracle_nll,
    "data": cmd_data,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["bench"]:  # its own parser: see distributed_seqgan/bench/harness.py
            from .bench.harness import main as bench_main

            return bench_main(argv[1:])
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"seqgan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        run_dir = exc.run_dir if isinstance(exc, Stopped) else None
        again = f"; continue it with: seqgan resume --run {run_dir}" if run_dir else ""
        print(f"seqgan: stopped by {signal.Signals(signum).name}{again}", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
