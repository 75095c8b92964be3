"""Launching on a cluster, as cluster/README.md tells a user to.

What can run here runs for real: a Ray head started with `ray start --head` (its own ports
and temp dir, token auth on) and a second node joined with `ray start --address`, both on
this machine; `ray job submit` with the README's exact command; a client without the token.
What cannot (no cloud, no Kubernetes, no Docker daemon) is checked from the files: the
`ray up` configs by Ray's own config validation, the KubeRay manifests for what KubeRay
needs, the Dockerfile against the pinned versions.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import pytest
import yaml
from processes import stop
from ray.autoscaler._private.util import prepare_config, validate_config

from distributed_seqgan.infra.tracking import read_metrics

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "cluster"
BIN = Path(sys.executable).parent
PINS = dict(
    line.split("==")
    for line in (REPO / "constraints.txt").read_text().splitlines()
    if "==" in line and not line.startswith("#")
)


# ------------------------------------------------------------------ files: versions
def test_constraints_pin_python_ray_and_torch():
    text = (REPO / "constraints.txt").read_text()
    assert {"ray", "torch"} <= set(PINS)
    assert re.search(r"^# python 3\.11\b", text, re.M)
    run_sh = (REPO / "run.sh").read_text()
    assert "-c constraints.txt" in run_sh and "grep -E '^torch==' constraints.txt" in run_sh


def test_dockerfile_is_the_ray_image_of_the_pinned_versions():
    text = (REPO / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    assert args["RAY_VERSION"] == PINS["ray"] and args["TORCH_VERSION"] == PINS["torch"]
    assert args["PYTHON"] == "py311"  # constraints.txt's python line
    assert re.search(
        r"^FROM rayproject/ray:\$\{RAY_VERSION\}-\$\{PYTHON\}-\$\{VARIANT\}$", text, re.M
    )
    # with the storage extras, so s3:// and gs:// run.storage_path work on every node
    assert '-c constraints.txt ".[s3,gcs]"' in text
    assert {"s3fs", "gcsfs", "fsspec"} <= set(PINS)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 's3 = ["s3fs"]' in pyproject and 'gcs = ["gcsfs"]' in pyproject
    assert "seqgan --help" in text  # the build fails if the command is missing


# ------------------------------------------------------------------ files: ray up
RAY_UP = ["ray-cluster.yaml", "ray-cluster-aws.yaml"]
IN_IMAGE = {"ray", "seqgan"}  # the Ray image's `ray`, and our console script
SHELL_BUILTINS = {"export", "ulimit", "cd"}


@pytest.mark.parametrize("name", RAY_UP)
def test_ray_up_config_passes_rays_own_validation(name):
    cfg = yaml.safe_load((CLUSTER / name).read_text())
    validate_config(prepare_config(cfg))
    head = " ".join(cfg["head_start_ray_commands"])
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head
    for commands in (cfg["head_start_ray_commands"], cfg["worker_start_ray_commands"]):
        assert any("export RAY_AUTH_MODE=token" in c for c in commands)
    assert "--env=RAY_AUTH_MODE=token" in cfg["docker"]["run_options"]
    assert "~/.ray/auth_token" in cfg["file_mounts"]
    # --gpus makes `docker run` fail on a machine without the NVIDIA toolkit: workers only
    docker = cfg["docker"]
    assert not any(
        "--gpus" in o for o in docker["run_options"] + docker.get("head_run_options", [])
    )
    assert "--gpus=all" in docker["worker_run_options"]


def test_on_premise_ray_up_gives_the_autoscaler_its_ssh_key():
    cfg = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    assert cfg["provider"]["type"] == "local" and cfg["auth"]["ssh_private_key"]
    # Ray copies the key to the head, where the autoscaler reads it to set up the workers
    prepared = prepare_config(cfg)
    assert prepared["auth"]["ssh_private_key"] == cfg["auth"]["ssh_private_key"]


def test_aws_ray_up_uses_a_current_ami_and_gives_the_workers_storage_access():
    cfg = yaml.safe_load((CLUSTER / "ray-cluster-aws.yaml").read_text())
    types = cfg["available_node_types"]
    for node in types.values():
        ami = node["node_config"]["ImageId"]
        assert ami.lower() != "latest_dlami"  # Ray's 2021 Ubuntu 18.04 / CUDA 11.2 AMI
        assert ami.startswith("resolve:ssm:/aws/service/deeplearning/ami/x86_64/")
        assert "ubuntu-22.04" in ami and "nvidia-driver" in ami
    # the learner (and its storage mirror) runs on a GPU worker: it needs a profile too
    worker = types["gpu_worker"]["node_config"]
    assert worker["IamInstanceProfile"]["Arn"].endswith(":instance-profile/seqgan-worker")
    readme = (CLUSTER / "README.md").read_text()
    assert "iam:PassRole" in readme and "seqgan-worker" in readme


def test_ray_validation_can_fail():
    cfg = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    cfg["head_start_ray_comands"] = cfg.pop("head_start_ray_commands")
    with pytest.raises(Exception, match="head_start_ray_comands"):
        validate_config(prepare_config(cfg))


@pytest.mark.parametrize("name", RAY_UP)
def test_every_command_ray_up_runs_exists_in_the_image(name):
    cfg = yaml.safe_load((CLUSTER / name).read_text())
    keys = ("initialization_commands", "setup_commands", "head_setup_commands",
            "worker_setup_commands", "head_start_ray_commands", "worker_start_ray_commands")  # fmt: skip
    programs = set()
    for key in keys:
        for command in cfg.get(key, []):
            for part in re.split(r";|&&|\|\|", command):
                if part.strip():
                    programs.add(shlex.split(part)[0])
    assert programs <= IN_IMAGE | SHELL_BUILTINS, programs
    assert cfg["docker"]["image"].split("/")[-1].startswith("distributed-seqgan:")


# ------------------------------------------------------------------ files: KubeRay
def _kuberay(name: str) -> dict:
    return yaml.safe_load((CLUSTER / name).read_text())


def _pods(spec: dict) -> list[dict]:
    return [spec["headGroupSpec"]["template"]["spec"]] + [
        g["template"]["spec"] for g in spec["workerGroupSpecs"]
    ]


@pytest.mark.parametrize("name", ["rayjob.yaml", "raycluster.yaml"])
def test_kuberay_manifests_have_what_kuberay_needs(name):
    doc = _kuberay(name)
    assert doc["apiVersion"] == "ray.io/v1"
    spec = doc["spec"]["rayClusterSpec"] if doc["kind"] == "RayJob" else doc["spec"]
    assert spec["rayVersion"] == PINS["ray"]
    # token auth through the operator (KubeRay >= 1.5.1, Ray >= 2.52), which gives the same
    # token to the pods, the RayJob submitter and its dashboard client; a token set by hand
    # in the pods would not reach the submitter
    assert spec["authOptions"] == {"mode": "token"}
    assert tuple(int(p) for p in spec["rayVersion"].split(".")) >= (2, 52)
    for pod in _pods(spec):
        (container,) = pod["containers"]
        assert re.search(r"/distributed-seqgan:\S+$", container["image"])
        names = {e["name"] for e in container.get("env", [])}
        assert not names & {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"}, names
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/results"}
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "seqgan-results"
        assert pod["securityContext"]["fsGroup"] == 100  # the image's user ray is 1000:100
    for group in spec["workerGroupSpecs"]:
        pod = group["template"]["spec"]
        limits = pod["containers"][0]["resources"]["limits"]
        assert int(limits["nvidia.com/gpu"]) >= 1
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
            "tolerations"
        ]
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        assert env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "seqgan-wandb"
    bounded = [g for g in spec["workerGroupSpecs"] if g["minReplicas"] != g["maxReplicas"]]
    if bounded:  # replica bounds do something only with the autoscaler
        assert spec["enableInTreeAutoscaling"] is True


def test_rayjob_entrypoint_reserves_the_learners_gpu_and_writes_to_the_volume():
    doc = _kuberay("rayjob.yaml")
    spec = doc["spec"]
    words = spec["entrypoint"].split()
    config = words[words.index("--config") + 1]
    assert config.startswith("/") and config.endswith("configs/synthetic.yaml")
    assert "run.out_dir=/results/runs" in words and "run.device=cuda" in words
    assert spec["entrypointNumGpus"] == 1
    # the worked example: 8 workers x 0.25 GPU on the worker pods' other GPUs
    gpus = sum(int(g["replicas"]) for g in spec["rayClusterSpec"]["workerGroupSpecs"])
    workers = int(re.search(r"pool.workers=(\d+)", spec["entrypoint"]).group(1))
    each = float(re.search(r"ray.gpus_per_worker=([\d.]+)", spec["entrypoint"]).group(1))
    assert gpus >= 1 + workers * each


# ------------------------------------------------------------------ a real cluster
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _readme_block(marker: str) -> str:
    """The shell block that follows ``marker`` in cluster/README.md, continuations joined."""
    text = (CLUSTER / "README.md").read_text()
    block = text.split(marker, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return block.replace("\\\n", " ")


# The cluster lives on 127.0.0.2: loopback, so no traffic leaves this machine, but not an
# address Ray rewrites as "localhost" (127.0.0.1 joins would be sent to this machine's
# interface address instead). Each node has its own temp dir, as separate machines would:
# nodes sharing one would also share (and delete) each other's copy of a job's working dir.
IP = "127.0.0.2"


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """A head (1 CPU) and a joined node (2 CPUs), token auth on, this machine only."""
    home = tmp_path_factory.mktemp("home")
    temp_dirs = [tempfile.mkdtemp(prefix="sgr-", dir="/tmp") for _ in range(2)]  # short paths
    port, dash = _free_port(), _free_port()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(home),
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}  # conftest's 0 forbids joining  # fmt: skip
    env.pop("RAY_ADDRESS", None)
    common = [f"--node-ip-address={IP}", "--disable-usage-stats"]
    starts = [
        ["--head", f"--port={port}", f"--dashboard-port={dash}", f"--dashboard-host={IP}",
         f"--ray-client-server-port={_free_port()}", "--num-cpus=1", f"--temp-dir={temp_dirs[0]}"],
        [f"--address={IP}:{port}", "--num-cpus=2", f"--temp-dir={temp_dirs[1]}"],
    ]  # fmt: skip
    try:
        for args in starts:
            res = subprocess.run(
                [BIN / "ray", "start", *args, *common], env=env, capture_output=True, text=True,
                timeout=180,
            )  # fmt: skip
            assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        yield {"env": env, "home": home, "port": port, "dashboard": f"http://{IP}:{dash}"}
    finally:
        stop([*temp_dirs, f":{port}"])  # only what this fixture started (never `ray stop`)
        for d in temp_dirs:
            shutil.rmtree(d, ignore_errors=True)


def _submit(head: dict, extra: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    """The README's check command, as written, against this head."""
    command = _readme_block("<!-- check the cluster -->").strip()
    command = command.replace("http://HEAD_IP:8265", head["dashboard"]) + extra
    lines = [line for line in command.splitlines() if not line.startswith("export ")]
    return subprocess.run(
        ["bash", "-c", "\n".join(lines)], cwd=REPO, env=env or head["env"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_readme_job_submit_runs_the_smoke_config_where_the_readme_says(head):
    """Run twice, as a user checking a cluster again would: each check is its own run."""
    for attempt in (1, 2):
        res = _submit(head)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        runs = sorted((head["home"] / "runs").glob("cluster-check-*"))  # README: ~/runs/...
        assert len(runs) == attempt, runs
    for run_dir in runs:
        events = read_metrics(run_dir)
        assert [e["step"] for e in events if e["phase"] == "adversarial"] == [0, 1, 2]
        assert (run_dir / "checkpoints" / "latest.pt").is_file()
    assert not list(REPO.glob("runs/cluster-check*"))  # never in the submitting checkout


def test_the_jobs_working_dir_leaves_the_local_bulk_behind(tmp_path):
    """`--working-dir .` uploads the checkout by Ray's own packaging, which honours
    .gitignore files (not .git/info/exclude): the venv, runs and the GPU wheel halves
    (~43 MiB after benchmarks/gpu_wheels.sh) stay behind; code and configs go."""
    from ray._private.runtime_env.packaging import create_package

    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    kept = ["distributed_seqgan/cli.py", "configs/smoke.yaml"]
    left = [".gpu-wheels/ray-2.60.0-cp312-cp312-manylinux2014_x86_64.whl", ".venv/bin/python",
            "runs/x-s88/metrics.jsonl"]  # fmt: skip
    for name in kept + left:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    package = tmp_path.parent / f"{tmp_path.name}.zip"
    create_package(str(tmp_path), package, include_parent_dir=False, excludes=[],
                   include_gitignore=True)  # fmt: skip
    with zipfile.ZipFile(package) as z:
        names = set(z.namelist())
    assert set(kept) <= names and not names & set(left), names


def test_job_with_a_failing_config_makes_submit_fail(head):
    res = _submit(head, " --set schedule.mle_epochs=-1")
    assert res.returncode != 0
    assert "schedule.mle_epochs: must be >= 0" in res.stdout + res.stderr


def test_client_without_the_token_gets_one_line_naming_the_fix(head, tmp_path):
    env = {k: v for k, v in head["env"].items() if not k.startswith("RAY_AUTH")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token either
    res = subprocess.run(
        [BIN / "seqgan", "train", "--config", "configs/smoke.yaml", "--set", "pool.backend=ray",
         "--set", f"ray.address={IP}:{head['port']}", "--set", f"run.out_dir={tmp_path}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "token authentication" in lines[0] and "RAY_AUTH_MODE=token" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_submit_without_the_token_is_refused_at_once(head, tmp_path):
    """No retrying a refusal: only the job agent's "not up yet" is waited for."""
    env = {k: v for k, v in head["env"].items() if not k.startswith("RAY_AUTH")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token either
    res = _submit(head, env=env)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "401" in out or "auth" in out.lower(), out[-2000:]
    assert "submit.sh: the head's job agent is not up yet" not in out
    assert not list(tmp_path.glob("runs"))


# ------------------------------------------------------------------ the job-agent wait
class _AgentNotUp(http.server.BaseHTTPRequestHandler):
    """Answers as a Ray 2.60 head does between its dashboard starting and its job agent
    registering (dashboard/modules/job/job_head.py): the version, then for every submit
    "No available agent to submit job". The real race cannot be made to happen on cue."""

    submits = 0

    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/api/version"):
            body = json.dumps({"version": "4", "ray_version": PINS["ray"], "ray_commit": "x"})
            self._reply(200, body.encode(), "application/json")
        else:
            self._reply(404, b"")

    def do_POST(self):
        type(self).submits += 1
        self._reply(500, b"No available agent to submit job, please try again later.")


def test_submit_waits_for_the_job_agent_within_its_bound_then_says_what_to_check():
    server = http.server.HTTPServer(("127.0.0.1", 0), _AgentNotUp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # 10 s: room for a second try even where starting the ray CLI takes seconds (load)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "SEQGAN_SUBMIT_WAIT_S": "10"}
    env.pop("RAY_ADDRESS", None)
    try:
        res = subprocess.run(
            [CLUSTER / "submit.sh", "--address", f"http://127.0.0.1:{server.server_port}",
             "--", "echo", "hi"], env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert res.returncode == 3, res.stdout[-2000:] + res.stderr[-2000:]
    assert "the head's job agent is not up yet; trying again" in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("submit.sh: no job agent answered on the head within 10 s")
    tries = int(re.search(r"\((\d+) tries\)", last).group(1))
    assert tries == _AgentNotUp.submits >= 2  # it tried again, and says how often
    assert "ray status" in last and "8265" in last
