"""The dependency rule of the package (README, "Repository"): every import of every module, function-level ones
included, goes down the layers, and the modules' import graph has no cycle.

    layer 0  model, scenarios                 the model and its inputs
    layer 1  experiments                      designs, execution, store, statistics, calibration, sensitivity:
                                              numbers only
    layer 2  viz                              figures of every kind, the report, the apps
    layer 3  experiments.published, cli       the published experiments E1-E7 and the command line

Imports made only for type checking (under ``if TYPE_CHECKING:``) are not run and do not count.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {  # import name -> folder (pyproject's package-dir mapping)
    "jjjsim": ROOT / "jjjsim",
    "jjjsim.model": ROOT / "model",
    "jjjsim.scenarios": ROOT / "scenarios",
    "jjjsim.experiments": ROOT / "experiments",
    "jjjsim.viz": ROOT / "viz",
}
LAYERS = (  # the most specific prefix decides
    ("jjjsim.experiments.published", 3),
    ("jjjsim.cli", 3),
    ("jjjsim.__main__", 3),
    ("jjjsim.viz", 2),
    ("jjjsim.experiments", 1),
    ("jjjsim.model", 0),
    ("jjjsim.scenarios", 0),
    ("jjjsim", 0),  # the package's __init__: its version only
)


def modules() -> dict[str, Path]:
    """Every module of the package, by import name."""
    out: dict[str, Path] = {}
    for name, folder in PACKAGES.items():
        files = [folder / "__init__.py", *folder.glob("*.py")] if name == "jjjsim" else folder.rglob("*.py")
        for f in files:
            if name == "jjjsim" and f.parent != folder:
                continue
            parts = [p for p in f.relative_to(folder).with_suffix("").parts if p != "__init__"]
            out[".".join([name, *parts])] = f
    return out


def _type_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for sub in node.body for n in ast.walk(sub))
    return skip


def imports(mods: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(importer, imported module, line) for every import of a jjjsim module that runs."""
    edges = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        skip = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                edges += [(name, a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "jjjsim"]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "jjjsim":
                    continue
                for a in node.names:  # `from package import module` imports the module
                    edges.append((name, f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target, node.lineno))
    return edges


def layer(module: str) -> int:
    for prefix, n in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return n
    raise AssertionError(f"{module} is in no layer")


def test_every_module_is_found_and_in_a_layer() -> None:
    mods = modules()
    assert {"jjjsim.model.model", "jjjsim.experiments.sweep", "jjjsim.viz.report", "jjjsim.cli"} <= set(mods)
    assert all(layer(m) in (0, 1, 2, 3) for m in mods)


def test_imports_go_down_the_layers() -> None:
    mods = modules()
    up = [
        f"{a} (layer {layer(a)}, line {line}) imports {b} (layer {layer(b)})"
        for a, b, line in imports(mods)
        if layer(b) > layer(a)
    ]
    assert not up, "imports against the dependency rule:\n" + "\n".join(sorted(set(up)))


def test_the_import_graph_has_no_cycle() -> None:
    mods = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b, _ in imports(mods):
        if b in mods and a != b:
            graph[a].add(b)
    # Tarjan's strongly connected components, iteratively
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles = []
    for root in sorted(mods):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        cycles.append(sorted(comp))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from jjjsim.viz.report import write_report", ["jjjsim.viz.report"]),
        ("def f():\n    from ..viz import report", ["jjjsim.viz.report"]),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from jjjsim.viz import report", []),
        ("import jjjsim.viz.figures as f", ["jjjsim.viz.figures"]),
    ],
)
def test_the_parser_finds_function_level_and_relative_imports(tmp_path: Path, source: str, expected: list) -> None:
    """The checker itself: an import inside a function and a relative one are seen; a type-only one is not."""
    f = tmp_path / "probe.py"
    f.write_text(source)
    mods = {**modules(), "jjjsim.experiments.probe": f}
    found = [b for a, b, _ in imports(mods) if a == "jjjsim.experiments.probe"]
    assert found == expected
    assert all(layer(b) > layer("jjjsim.experiments.probe") for b in found)
