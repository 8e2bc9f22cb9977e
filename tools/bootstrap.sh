#!/usr/bin/env bash
# Set up the project's virtual environment: find Python >= 3.12, create .venv, install jjjsim with
# its development extras. Re-running is cheap: it reinstalls only when pyproject.toml changed.
# Environment: PYTHON (interpreter to use), VENV (folder, default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

is_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local cand
  for cand in "${PYTHON:-}" python3 python3.13 python3.12 python; do
    [ -n "$cand" ] && command -v "$cand" >/dev/null 2>&1 && is_ok "$cand" && { command -v "$cand"; return 0; }
  done
  for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    [ -x "$cand" ] && is_ok "$cand" && { echo "$cand"; return 0; }
  done
  return 1
}

if [ -x "$VENV/bin/python" ] && ! is_ok "$VENV/bin/python"; then rm -rf "$VENV"; fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python); then
    found=$(python3 --version 2>&1 || echo "no python3")
    echo "error: jjjsim needs Python >= 3.12 and none was found (python3: ${found}); install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12" >&2
    exit 1
  fi
  echo "Creating $VENV with $PY ($("$PY" --version 2>&1))"
  "$PY" -m venv "$VENV"
fi

stamp="$VENV/.jjjsim-installed"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing jjjsim and its dependencies into $VENV (log: $VENV/install.log)"
  if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
         && "$VENV/bin/python" -m pip install --disable-pip-version-check -e ".[dev,fast]"; } > "$VENV/install.log" 2>&1; then
    tail -n 15 "$VENV/install.log" >&2
    echo "error: installing jjjsim into $VENV failed (full log: $VENV/install.log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
