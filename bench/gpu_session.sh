#!/usr/bin/env bash
# One command for a lent GPU machine (bare and offline; its python3 has torch, not papermill):
#   here:   bash ../shared/tools/device-wheels.sh pytest     # .whl/: papermill, ipykernel, pytest
#           mkdir -p .devdata && cp ../shared/data/cifar10_jpeg.npz .devdata/
#   device: bash bench/gpu_session.sh [check|chapter NN [PROFILE]]   (carry .whl and .devdata)
# check (default): make gpu-check, tests and benchmark, results in $OUT (or bench/results).
# chapter NN[,NN...]: executes notebooks/NN_*.ipynb cold at PROFILE (default gpu), one after
# another, with a training budget of BUDGET minutes for all (default 8), into $OUT/book (each
# executed notebook and its claims JSON: two files a chapter of the 8 that come back). If the
# call's limit stops it, call the same command again at once: the machine stays warm for 30 s and
# keeps the runs cache, so training resumes from its checkpoint (seen on an H200, 2026-11-30).
# session NN: CUDA tests (TESTS=0 skips them), a short benchmark, then chapter NN in what is left
# of END_S seconds.
# workers: bench/bench_workers.py (a call's groups in worker processes against one after another).
# Back here: python -m helpers publish <the fetched $OUT>/book, then python -m helpers build.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
usage="usage: bash bench/gpu_session.sh [check|workers|chapter NN[,NN...] [PROFILE]|session NN [PROFILE]]"
case "${1:-check}" in   # bad arguments fail here, before any set-up
  check|workers) ;;
  chapter|session) [[ -n "${2:-}" ]] || { echo "$usage (a chapter number is missing)"; exit 2; } ;;
  *) echo "$usage"; exit 2 ;;
esac
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
  workers)
    start=$SECONDS
    python3 bench/bench_workers.py --json "$OUT/workers.json" 2>&1 | tee "$OUT/workers.txt"
    echo "workers: $((SECONDS - start)) s" | tee -a "$OUT/workers.txt" ;;
  chapter)
    start=$SECONDS
    log="$OUT/chapter-${2//,/-}.txt"
    python3 -m helpers run ${2//,/ } --profile "${3:-gpu}" --budget "${BUDGET:-8}" --out "$OUT/book" 2>&1 \
      | tee "$log"
    echo "chapter $2: $((SECONDS - start)) s" | tee -a "$log" ;;
  session)
    # One lent window (<= 10 min): CUDA tests while the pack decodes, a short benchmark, then
    # chapter NN with the minutes that are left (END_S, BENCH_S: seconds).
    end=${END_S:-560}
    (python3 -c "from helpers import data; d = data.load('auto'); print('data:', d.describe())" \
      >> "$OUT/env.txt" 2>&1 &)
    if [[ ${TESTS:-1} != 0 ]]; then
      timeout 120 python3 -m pytest -q -m cuda -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/tests.txt"
      echo "cuda tests: $SECONDS s" | tee -a "$OUT/tests.txt"
    fi
    while pgrep -f "data.load" > /dev/null; do sleep 1; done
    timeout 200 python3 bench/bench_train.py --budget-s "${BENCH_S:-70}" --json "$OUT/bench.json" 2>&1 \
      | tee "$OUT/bench.txt"
    echo "bench: $SECONDS s" | tee -a "$OUT/bench.txt"
    left=$((end - SECONDS))
    echo "chapter $2 with $left s left" | tee "$OUT/chapter.txt"
    timeout $((left > 30 ? left : 30)) python3 -m helpers run "$2" --profile "${3:-gpu}" \
      --budget "$(awk -v l="$left" 'BEGIN { b = (l - 90) / 60; printf "%.1f", (b > 1 ? b : 1) }')" --out "$OUT/book" 2>&1 | tee -a "$OUT/chapter.txt"
    echo "chapter $2 ended at $SECONDS s (rc ${PIPESTATUS[0]})" | tee -a "$OUT/chapter.txt"
    nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv >> "$OUT/env.txt" 2>&1 ;;
  *) echo "$usage"; exit 2 ;;
esac
