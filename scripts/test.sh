#!/usr/bin/env bash
# The test command: set up .venv (once) and run every test of every distribution.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest exit 5 = no tests collected (e.g. a -k filter matching nothing): not a failure.
[ "$rc" -eq 5 ] && { echo "no tests collected"; exit 0; }
exit "$rc"
