#!/usr/bin/env bash
# One command for a lent GPU machine (bare, offline, python3 with torch; see DEVELOPERS.md):
#   here:   bash ../shared/tools/device-wheels.sh pytest     # .whl/: papermill, ipykernel, pytest
#           mkdir -p .devdata && cp ../shared/data/cifar10_jpeg.npz .devdata/
#   device: bash bench/gpu_session.sh [check|chapter NN [PROFILE]]   (carry .whl and .devdata)
# check (default): make gpu-check, tests and benchmark, results in $OUT (or bench/results).
# chapter NN: executes notebooks/NN_*.ipynb cold at PROFILE (default gpu) with a training budget
# of BUDGET minutes (default 8), into $OUT/book (the executed notebook and its claims JSON).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl 2>&1 | tail -2
  export PYTHONPATH=/tmp/site:$PWD
  python3 -m ipykernel install --user --name python3 > /dev/null 2>&1 || true
fi
[[ -f .devdata/cifar10_jpeg.npz ]] && export CIFAR10_PACK=$PWD/.devdata/cifar10_jpeg.npz
export CIFAR10_DOWNLOAD=0 HELPERS_DATA_DIR=${HELPERS_DATA_DIR:-/tmp/helpers-data}
{ date -u; nvidia-smi -L 2>/dev/null; python3 -c "import torch; print('torch', torch.__version__)"; } \
  | tee "$OUT/env.txt"
case "${1:-check}" in
  check)
    start=$SECONDS
    make gpu-check GPU_PY=python3 RESULTS="$OUT" 2>&1 | tee "$OUT/gpu-check.txt"
    echo "gpu-check: $((SECONDS - start)) s" | tee -a "$OUT/gpu-check.txt" ;;
  chapter)
    start=$SECONDS
    python3 -m helpers run "$2" --profile "${3:-gpu}" --budget "${BUDGET:-8}" --out "$OUT/book" 2>&1 \
      | tee "$OUT/chapter-$2.txt"
    echo "chapter $2: $((SECONDS - start)) s" | tee -a "$OUT/chapter-$2.txt" ;;
  *) echo "usage: bash bench/gpu_session.sh [check|chapter NN [PROFILE]]"; exit 2 ;;
esac
