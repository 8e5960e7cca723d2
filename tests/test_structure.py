"""The source's shape, read from the checkout (no servers, no TensorFlow): no import circles, one
import style, and jobs/config.py as the only reader of GANCTL_* variables.

Modules are found through pyproject's package-dir (ganctl.jobs is jobs/, ganctl.cli is cli/, ...).
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
# Every folder of source a reader opens; bench/ is not installed but imports the package.
SOURCE_DIRS = ("jobs", "worker", "cli", "ganctl", "alembic", "bench", "web")
ONLY_READER = ROOT / "jobs" / "config.py"
# Fault injection for the reliability tests, documented in worker/hooks.py: not a setting.
TEST_HOOKS = {"GANCTL_TEST_CRASH_AT_EPOCH"}


def _modules(prefix: str = "ganctl") -> dict[str, Path]:
    """{dotted name: file} of the installed package's modules under `prefix`."""
    out = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [package, *path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            if name not in out and (name == prefix or name.startswith(prefix + ".")):
                out[name] = path
    return out


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `path` imports, wherever the statement stands: at module level,
    inside a function (a lazy import) or under `if TYPE_CHECKING:`. A reader follows each of them
    the same way, so each counts. `from a.b import c` counts a.b and, if it is a module, a.b.c.
    A parent package that Python runs implicitly first (ganctl.jobs.store for store.repo) does not:
    a package's __init__ re-exporting its own modules is no circle a reader stumbles on."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # resolve relative imports too, though test_imports_are_absolute forbids them
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                module = ".".join([*base[: len(base) - node.level + 1], *([module] if module else [])])
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return {m for m in found if m in known and m != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of `graph` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_lazy_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    src = ROOT / "jobs" / "train.py"  # imports tensorboard inside run(): a lazy edge
    assert "ganctl.jobs.tensorboard" in _imported("ganctl.jobs.train", src, set(_modules()))


@pytest.mark.parametrize("prefix", ["ganctl.jobs", "ganctl"])
def test_no_import_circles(prefix):
    modules = _modules(prefix)
    assert "ganctl.jobs.quality.scoring" in modules and "ganctl.jobs.data" in modules
    graph = {name: _imported(name, path, set(modules)) for name, path in modules.items()}
    circle = _cycle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_every_jobs_module_imports():
    for name in _modules("ganctl.jobs"):
        importlib.import_module(name)


def _sources():
    for folder in (*SOURCE_DIRS, "tests"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_imports_are_absolute():
    """One style: `from ganctl.jobs.spec import TrainSpec`, `from bench.common import ...`."""
    relative = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in _sources()
                for node in ast.walk(ast.parse(path.read_text(), str(path)))
                if isinstance(node, ast.ImportFrom) and node.level]
    assert relative == []


def _is_environ(node) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ")


def _env_reads(path: Path) -> list[tuple[int, str]]:
    """(line, name) of each GANCTL_* variable the file reads from the environment:
    os.environ.get/setdefault/pop(NAME), os.environ[NAME], os.getenv(NAME), NAME in os.environ,
    where NAME is a string literal or a module-level constant holding one."""
    tree = ast.parse(path.read_text(), str(path))
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                 for t in n.targets if isinstance(t, ast.Name)}

    def name_of(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    reads = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in ("get", "setdefault", "pop") and _is_environ(f.value):
                key = node.args[0]
            elif (isinstance(f, ast.Attribute) and f.attr == "getenv") or (
                    isinstance(f, ast.Name) and f.id == "getenv"):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value) and isinstance(node.ctx, ast.Load):
            key = node.slice
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            key = node.left
        name = name_of(key) if key is not None else None
        if name and name.startswith("GANCTL_") and name not in TEST_HOOKS:
            reads.append((node.lineno, name))
    return sorted(reads)


def test_the_reader_finder_sees_each_form(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text('import os\nfrom os import environ, getenv\nVAR = "GANCTL_X"\n'
                   'os.environ.get("GANCTL_A")\nos.getenv("GANCTL_B")\nos.environ["GANCTL_C"]\n'
                   'getenv(VAR)\n"GANCTL_D" in environ\nos.environ.get("HOME")\n'
                   'os.environ.get("GANCTL_TEST_CRASH_AT_EPOCH")\n')
    assert _env_reads(src) == [(4, "GANCTL_A"), (5, "GANCTL_B"), (6, "GANCTL_C"), (7, "GANCTL_X"),
                               (8, "GANCTL_D")]


@pytest.mark.parametrize("folder", SOURCE_DIRS)
def test_only_config_reads_ganctl_variables(folder):
    """Every GANCTL_* setting is a field of jobs/config.py's Settings, read there alone."""
    found = [f"{path.relative_to(ROOT)}:{line} reads {name}" for path in sorted((ROOT / folder).rglob("*.py"))
             if path != ONLY_READER for line, name in _env_reads(path)]
    assert found == []
