"""The package's shape, checked from its source: imports go down the floors below and never
around in a cycle; ray and wandb stay in the one module each that talks to them; the README's
map names exactly the files that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "distributed_seqgan"

# Lower floors never import higher ones; a part may import within itself.
FLOORS = {
    "__init__": 0, "errors": 0, "seeding": 0,
    "config": 1,
    "infra": 2,  # checkpoints, the run log, W&B, the memory setting
    "models": 3,
    "data": 4,
    "tasks": 5,  # tasks and their evaluation
    "acting": 6,  # rollout engine, workers, pools
    "learning": 7,  # learner, trainer
    "runner": 8,  # train / resume: the Python entry points
    "runs": 9,  # finished run directories: evaluate, sample, MIDI
    "bench": 10,  # only the CLI imports it
    "report": 10,  # only the CLI imports it
    "cli": 11, "__main__": 12,
}  # fmt: skip
ROOT_FILES = {"__init__.py", "__main__.py", "cli.py", "runner.py", "errors.py", "seeding.py"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def package_of(path: Path) -> list[str]:
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    return parts[:-1]


def imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports, at any depth (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("distributed_seqgan"):
                    continue
                base = node.module.split(".")[1:]
            else:
                here = package_of(path)
                base = here[: len(here) - (node.level - 1)] + (node.module or "").split(".")
                base = [b for b in base if b]
            for alias in node.names:  # `from . import x` may name a module
                cand = PKG.joinpath(*base, alias.name)
                full = [*base, alias.name] if cand.with_suffix(".py").exists() else base
                found.add(".".join(full) or "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("distributed_seqgan."):
                    found.add(alias.name.split(".", 1)[1])
    return found


def third_party(path: Path) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


SOURCES = sorted(PKG.rglob("*.py"))
GRAPH = {module_name(p): imports(p) for p in SOURCES}


def test_every_part_has_a_floor():
    parts = {m.split(".")[0] for m in GRAPH}
    assert parts == set(FLOORS), parts ^ set(FLOORS)


def test_imports_only_go_down():
    up = [
        (m, dep)
        for m, deps in GRAPH.items()
        for dep in deps
        if dep.split(".")[0] != m.split(".")[0]
        and FLOORS[dep.split(".")[0]] >= FLOORS[m.split(".")[0]]
    ]
    assert not up, up


def test_no_import_cycles():
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for dep in sorted(GRAPH.get(m, ())):
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*stack, m, dep]))
            if dep not in state:
                visit(dep, [*stack, m])
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [])


def test_the_checker_sees_lazy_and_relative_imports():
    """The graph above must include function-level imports (the CLI's are all lazy)."""
    assert "runner" in GRAPH["cli"] and "bench.harness" in GRAPH["cli"]
    assert "acting.ray_pool" in GRAPH["acting.factory"]
    assert {"tasks", "tasks.base"} <= GRAPH["runs.evaluation"]


def test_ray_and_wandb_each_stay_in_one_module():
    users = {lib: sorted(module_name(p) for p in SOURCES if lib in third_party(p))
             for lib in ("ray", "wandb")}  # fmt: skip
    assert users == {"ray": ["acting.ray_pool"], "wandb": ["infra.wandb_sink"]}


def test_package_root_holds_entry_points_and_shared_modules_only():
    assert {p.name for p in PKG.glob("*.py")} == ROOT_FILES
    assert {p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "acting", "bench", "config", "data", "infra", "learning", "models", "report", "runs",
        "tasks",
    }  # fmt: skip


def test_no_module_imports_its_own_parts_root():
    """A part's ``__init__`` is its face to the floors above; a module inside the part that
    imports it would make the part import itself in a circle."""
    inward = [
        (m, dep) for m, deps in GRAPH.items() if "." in m for dep in deps if dep == m.split(".")[0]
    ]
    assert not inward, inward


def test_readme_map_matches_the_tree():
    """README's map: a part's files on the lines indented under it; names before the
    description (two spaces or more)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```\ndistributed_seqgan/\n", 1)[1].split("```", 1)[0]
    named: set[str] = set()
    folder = ""
    for line in block.splitlines():
        m = re.match(r"^( +)(.+?)(?:\s{2,}|$)", line)
        if m is None:
            continue
        depth = len(m.group(1)) // 2
        for name in re.findall(r"[\w.]+\.py|\w+/", m.group(2)):
            if name.endswith("/"):
                folder = name
            else:
                named.add(name if depth == 1 else folder + name)
    actual = {str(p.relative_to(PKG)) for p in SOURCES if p.name != "__init__.py"}
    assert named == actual, (named - actual, actual - named)


def test_no_source_file_is_ignored_by_git():
    """A package folder whose name an ignore pattern matches (``runs/``, ``report/``)
    would leave new modules out of every commit, so only clones would miss them."""
    import subprocess

    files = [str(p.relative_to(REPO)) for p in [*SOURCES, *REPO.glob("tests/*.py")]]
    res = subprocess.run(["git", "check-ignore", "--no-index", *files], cwd=REPO,
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode == 128:  # not a git checkout (an unpacked sdist): nothing to check
        return
    assert res.stdout.strip() == "", res.stdout
