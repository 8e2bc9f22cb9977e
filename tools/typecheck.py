"""Type-check the whole package with mypy (``python tools/typecheck.py``; ``make typecheck``; CI runs it).

The source folders are mapped onto the ``jjjsim`` namespace by pyproject's package-dir table (``model/`` is
``jjjsim.model``, ``experiments/`` is ``jjjsim.experiments``, ...), which mypy cannot follow: it would see the
folders as top-level packages and their absolute imports (``jjjsim.model.registry``) as missing. So this builds the
installed layout as a tree of symbolic links under ``build/typecheck/jjjsim`` and runs ``mypy -p jjjsim`` on it
with the settings of ``[tool.mypy]`` in pyproject.toml. Exit status: mypy's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "typecheck"


def build_tree() -> Path:
    """``build/typecheck/jjjsim``: the package as installed, each subpackage a link to its source folder."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
    if TREE.exists():
        shutil.rmtree(TREE)
    top = TREE / "jjjsim"
    top.mkdir(parents=True)
    for f in (ROOT / mapping["jjjsim"]).glob("*.py"):
        (top / f.name).symlink_to(f)
    for name, folder in mapping.items():
        if name != "jjjsim":
            (TREE / name.replace(".", "/")).symlink_to(ROOT / folder, target_is_directory=True)
    return TREE


def main() -> int:
    tree = build_tree()
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "jjjsim"]
    return subprocess.call(cmd, cwd=tree, env={**__import__("os").environ, "MYPYPATH": str(tree)})


if __name__ == "__main__":
    sys.exit(main())
