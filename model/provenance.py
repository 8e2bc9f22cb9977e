"""Provenance stamps, declared once: the versions of the software stack and the git commit of a source checkout
(run metadata, results manifests, calibration and validation records, ``jjjsim version``)."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

STACK = ("jjjsim", "mesa", "numpy", "pandas", "pyarrow", "scipy")
"""The packages whose versions every record carries."""
_HERE = Path(__file__).resolve().parent


def versions() -> dict[str, str]:
    """The installed version of each package of :data:`STACK` ("not installed" if absent), and Python's."""
    out = {"python": platform.python_version()}
    for pkg in STACK:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=_HERE, capture_output=True, text=True, timeout=5, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def git_commit(short: bool = False) -> str | None:
    """The commit of the source checkout the code runs from, ``+modified`` when tracked files differ from it; None
    outside a checkout (an installed wheel) or without git."""
    try:
        rev = _git("rev-parse", *(["--short"] if short else []), "HEAD")
        if not rev:
            return None
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+modified" if dirty else "")
