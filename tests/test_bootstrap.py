"""The set-up script stops with one clear line where no Python >= 3.12 can be found."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bootstrap_without_python312_fails_with_one_line(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "cat", "rm", "sha256sum", "cut"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    fake = bin_dir / "python3"  # an old interpreter: answers --version, fails the version check
    fake.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python 3.11.9"; exit 0; fi\nexit 1\n')
    fake.chmod(0o755)
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
        "VENV": str(tmp_path / "venv"),
    }
    proc = subprocess.run(
        ["/bin/bash", str(ROOT / "tools" / "bootstrap.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Python >= 3.12" in lines[0] and "3.11.9" in lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "venv").exists()


def test_python_version_file_selects_312() -> None:
    assert (ROOT / ".python-version").read_text().strip() == "3.12"
    assert os.access(ROOT / "tools" / "bootstrap.sh", os.X_OK)
