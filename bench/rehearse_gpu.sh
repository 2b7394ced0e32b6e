#!/usr/bin/env bash
# The gpu presets' code paths on this CPU, before a GPU window: each chapter NN executed at
# profile gpu with its shape kept (runs per row, groups, sources, epochs) and only its data made
# tiny, trained through worker processes and prefetch as on a GPU (HELPERS_CPU_WORKERS=2).
#   bash bench/rehearse_gpu.sh [NN ...]          (default: 05 04 02 01 03; OUT=/tmp/rehearse)
# Measured on 2 CPU cores: 05 269 s, 04 957 s, 02 686 s (2026-12-06); 01 1,082 s (2026-12-07,
# its training cached from a first try: 169 s cold), 03 539 s (2026-12-07); no cell wrote to stderr.
# On an Intel Xeon with AVX-512 and AMX (2026-12-07, one thread a run): 05 199 s, 04 57 s, 02 59 s,
# 03 480 s, 01 789 s cold; there bf16 autocast was 2x faster than fp32 (a ResNet20 step of 128
# images: 0.18 s vs 0.38 s).
# Chapters 01 and 03 train in fp32 here: their presets' bf16 autocast runs about 10x slower than
# fp32 on an AVX2 CPU without bf16 instructions (a ResNet20 step of 128 images: 7.5 s vs 0.75 s,
# one thread), so 01 had not finished its training after 42 min in bf16; no analysis autocasts,
# and the bf16 training path is rehearsed by 04 and 02 (and tested in tests/test_train.py). Their
# landscape grids, subspace samples and accuracy floor are cut too (how many points, not which
# code runs them).
# Checks that a chapter runs end to end and renders; its verdicts mean nothing at this scale.
# PY=...: another environment. The GPU machines' versions (Python 3.12, torch 2.11.0, numpy
# 2.5.2), in a venv outside the checkout: python3.12 -m venv /work/venv-dev &&
# /work/venv-dev/bin/pip install torch==2.11.0 torchvision==0.26.0 numpy==2.5.2 scipy
# matplotlib seaborn scikit-learn papermill ipykernel (about 5 GB: PyPI's torch is the CUDA
# build); there (2026-12-07, the Xeon):
# 05 217 s, 04 45 s, 02 70 s, 01 846 s, 03 308 s, all rc 0; again after the prose changes of the
# same day's fifth session: 05 201 s, 04 39 s, 02 58 s, 03 348 s, 01 808 s, all rc 0, no stderr.
# On an AMD EPYC with AVX-512 (2026-12-07, after chapter 05's sd_seeds = 24 at gpu), in .venv:
# 05 224 s, 02 74 s, rc 0; 04 69 s, rc 0, after its 4 runs of M = 1 a width (mimo.m1_seeds);
# 02 118 s, rc 0, with 4 ResNet seeds and 4 chains a width, rewound rounds from start_epoch.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-/tmp/rehearse}
export HELPERS_DATA_DIR=${HELPERS_DATA_DIR:-$OUT/data} HELPERS_CPU_WORKERS=${HELPERS_CPU_WORKERS:-2} \
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} HELPERS_PROGRESS=0 MPLBACKEND=Agg
PY=${PY:-.venv/bin/python}
declare -A TINY=(
  [05]="-p group=0 -p n_train=128 -p n_test=500 -p cka_examples=200"
  [04]="-p n_train=256 -p n_test=500 -p epochs=2"
  [02]="-p n_train=300 -p n_test=500 -p rn_n_train=256 -p rn_epochs=3"
  [01]="-p precision=fp32 -p n_train=256 -p n_test=256 -p n_eval=256 -p bn_examples=256 -p hessian_examples=128 -p lanczos_iters=8 -p line_points=5 -p radial_points=5 -p slice_points=3 -p curve_points=5"
  [03]="-p precision=fp32 -p n_train=128 -p n_test=256 -p tsne_examples=200 -p shift_examples=200 -p bn_examples=128 -p samples=2 -p plane_samples=2 -p accuracy_floor=0.0"
)
chapters=(${@:-05 04 02 01 03})
for n in "${chapters[@]}"; do   # every name checked before anything runs
  [[ -n "${TINY[$n]:-}" ]] || { echo "rehearse_gpu.sh: no chapter $n (choose from 05 04 02 01 03)"; exit 2; }
done
mkdir -p "$OUT"
status=0
for n in "${chapters[@]}"; do
    start=$SECONDS
    # shellcheck disable=SC2086
    $PY -m helpers run "$n" --profile gpu -p device=cpu ${TINY[$n]} --out "$OUT/book" > "$OUT/$n.log" 2>&1
    rc=$?
    echo "chapter $n at gpu, tiny data, on the CPU: rc $rc in $((SECONDS - start)) s (log $OUT/$n.log)"
    [[ $rc == 0 ]] || status=1
done
exit $status
