"""D retraining rounds of two code versions, alternated in one sitting: is the CPU path
slower after a change?

Why this way: ``seqgan bench --quick`` times one round per run, so one disturbance moves
its figure by a few percent. Here each version's checkout runs in its own process (one
torch thread, so another run may hold the other core), one warm-up round and then
``--rounds`` timed rounds on the same keyed data, and the two versions alternate
``--pairs`` times; every pair compares like with like. The rounds' mean D loss must agree
to the last bit (the CPU path is meant to compute the same numbers), and the table says
whether it does, and whether D's weights after the last round are bit-identical too; it
also counts the denormal floats in D's Adam state after each round (they slow x86
arithmetic down: ``run.flush_denormal``).

    git worktree add /tmp/before <commit>
    python benchmarks/bench_d_round_ab.py /tmp/before . --pairs 4 --out docs/benchmark-log.md

``--config`` is read inside each checkout (default configs/synthetic.yaml, the paper
sizes), with ``--set`` overrides on top (default: one D epoch per round), and
``--after-set`` overrides for the "after" side only: one checkout against itself with a
setting changed (then the losses need not agree, and the table gives their difference):

    python benchmarks/bench_d_round_ab.py . . --after-set run.flush_denormal=true --rounds 6
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def worker(checkout: str, config: str, overrides: list[str], rounds: int) -> None:
    """In a fresh process: times ``rounds`` D rounds of this checkout's code; one JSON line."""
    sys.path.insert(0, checkout)
    import torch

    from distributed_seqgan.config import load_config
    from distributed_seqgan.infra.malloc import keep_freed_memory
    from distributed_seqgan.learning.learner import Learner

    torch.set_num_threads(1)
    keep_freed_memory()  # as training does
    cfg = load_config(str(Path(checkout) / config), ["run.device=cpu", *overrides])
    if getattr(cfg.run, "flush_denormal", False):  # before any torch work, as training does
        from distributed_seqgan.infra.denormals import flush_denormals

        flush_denormals()
    learner = Learner(cfg)
    g = torch.Generator().manual_seed(0)
    n, t, v = cfg.schedule.generated_num, cfg.generator.seq_len, cfg.generator.vocab_size
    pos = torch.randint(0, v, (n, t), generator=g)  # (N, T)
    neg = torch.randint(0, v, (n, t), generator=g)  # (N, T)
    learner.d_round(pos, neg, "ab", 0)  # warm-up: Adam's state, the allocator
    times, loss, denormals = [], 0.0, []
    for r in range(1, rounds + 1):
        t0 = time.perf_counter()
        loss = learner.d_round(pos, neg, "ab", r)["d_loss"]
        times.append(time.perf_counter() - t0)
        states = [t for st in learner.d_opt.state.values() for t in st.values() if t.ndim]
        tiny = torch.finfo(torch.float32).tiny
        denormals.append(sum(int(((t != 0) & (t.abs() < tiny)).sum()) for t in states))
    weights = hashlib.sha256()
    for t in learner.discriminator.state_dict().values():
        weights.update(t.detach().contiguous().numpy().tobytes())
    print(json.dumps({"times": times, "d_loss": loss.hex(), "denormals": denormals,
                      "weights": weights.hexdigest()}))  # fmt: skip


def code_version(checkout: str) -> str:
    """The checkout's commit, marked when its tracked files have changes."""
    git = ["git", "-C", checkout]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return f"`{checkout}` (not a git checkout)"
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD"]).returncode != 0
    return f"`{head.stdout.strip()}`" + (" with uncommitted changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before", help="checkout of the earlier code version")
    ap.add_argument("after", help="checkout of the later code version")
    ap.add_argument("--config", default="configs/synthetic.yaml")
    ap.add_argument("--set", action="append", default=None, metavar="KEY=VALUE")
    ap.add_argument("--after-set", action="append", default=[], metavar="KEY=VALUE",
                    help="an override for the after side only (repeatable)")  # fmt: skip
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, help="markdown file to append the table to")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    overrides = ["schedule.d_epochs=1"] if args.set is None else args.set
    if args.worker:
        worker(args.worker, args.config, overrides, args.rounds)
        return 0
    sides = {"before": str(Path(args.before).resolve()), "after": str(Path(args.after).resolve())}
    versions = {side: code_version(path) for side, path in sides.items()}
    results: dict[str, list[dict]] = {"before": [], "after": []}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for pair in range(1, args.pairs + 1):
        for side, checkout in sides.items():
            cmd = [sys.executable, __file__, args.before, args.after, "--worker", checkout,
                   "--config", args.config, "--rounds", str(args.rounds)]  # fmt: skip
            for o in overrides + (args.after_set if side == "after" else []):
                cmd += ["--set", o]
            res = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if res.returncode != 0:
                print(res.stderr, file=sys.stderr)
                return 1
            results[side].append(json.loads(res.stdout.strip().splitlines()[-1]))
            print(
                f"pair {pair} {side}: " + " ".join(f"{x:.3f}" for x in results[side][-1]["times"])
            )
    rows = []
    for i, (b, a) in enumerate(zip(results["before"], results["after"], strict=True), 1):
        sb, sa = sum(b["times"]), sum(a["times"])
        rows.append(
            f"| {i} | {' / '.join(f'{x:.3f}' for x in b['times'])} | "
            f"{' / '.join(f'{x:.3f}' for x in a['times'])} | {100 * (sa - sb) / sb:+.2f}% | "
            f"{', '.join(map(str, b['denormals']))} / {', '.join(map(str, a['denormals']))} |"
        )
    losses = [float.fromhex(r["d_loss"]) for side in results.values() for r in side]
    same = len(set(losses)) == 1
    same_w = len({r["weights"] for side in results.values() for r in side}) == 1
    agree = "yes" if same else f"no (max − min {max(losses) - min(losses):.3g})"
    allb = [x for r in results["before"] for x in r["times"]]
    alla = [x for r in results["after"] for x in r["times"]]
    mean_change = 100 * (sum(alla) / len(alla) / (sum(allb) / len(allb)) - 1)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    table = [
        f"### D round, two code versions alternated ({stamp})",
        "",
        f"before: {versions['before']}, after: {versions['after']}; `{args.config}` with "
        f"{', '.join(overrides) or 'no overrides'}"
        + (f", after side also {', '.join(args.after_set)}" if args.after_set else "")
        + "; CPU, one torch thread per process, "
        f"{args.rounds} timed rounds after one warm-up round per process.",
        "",
        "| pair | before, rounds (s) | after, rounds (s) | after − before | Adam denormals "
        "after each round, before / after |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Mean over all rounds: after − before {mean_change:+.2f}%; "
        f"mean D loss identical in every process: {agree}; D's weights after the last round "
        f"identical in every process: {'yes' if same_w else 'no'}.",
    ]
    print("\n".join(table))
    if args.out:
        with args.out.open("a") as f:
            f.write("\n" + "\n".join(table) + "\n")
    return 0 if same or args.after_set else 3


if __name__ == "__main__":
    sys.exit(main())
