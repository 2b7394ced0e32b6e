"""What a spec trains to is part of every cache key (``train.CODE_VERSION``): a change to the
trainer that changes results must bump it, or the runs cache would serve old results as new.

Two tiny specs are trained on the CPU with one thread (a run's bits depend on the number of
threads: intra-op reductions split differently) and their final weights and test logits are
hashed. A mismatch means training results changed: bump ``train.CODE_VERSION`` on purpose and
record the new digests under the new version below.

The bits also depend on the CPU's vector instructions: ATen and oneDNN pick their kernels by it
(on 2026-12-01 a machine with AVX-512 gave other digests than the AVX2 machines they were
recorded on, with the same code and wheels). So the specs train in a child process with both
pinned to AVX2 (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``), which every x86-64 CPU of the
last decade has. That is not enough on every CPU (see FINGERPRINTS): the digests are recorded per
kind of CPU, all with the AVX2 kernels.
"""
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import train

SPECS = [
    # dropout, augmentation, Adam; the four seeds distinct
    train.Spec(model="smallcnn", dataset="synthetic", n_train=256, n_test=64, epochs=2, batch_size=64,
               optimizer="adam", lr=2e-3, dropout=0.2, augment=True,
               seed_init=1, seed_order=2, seed_aug=3, seed_dropout=4),
    # BN, SGD with momentum and weight decay, cosine with warmup
    train.Spec(model="resnet8", width=0.5, dataset="synthetic", n_train=256, n_test=64, epochs=2,
               batch_size=64, lr=0.05, momentum=0.9, weight_decay=5e-4, schedule="cosine",
               warmup_epochs=0.5, augment=True).with_seed(7),
]
# CODE_VERSION: the digests of every kind of CPU they were recorded on. The pins do not make all
# CPUs agree: on 2026-12-07 an Intel Xeon with AVX-512 gave digests of its own with them (and also
# with MKL_CBWR=AVX2: oneDNN and MKL choose their blocking by vendor and caches too), while the
# AVX-512 machine of 2026-12-01 matched the AVX2 machines'. A code change that changes results
# cannot give another machine's digests, so matching any recorded kind is the test. The torch
# release mattered less: on that Xeon torch 2.11.0 (Python 3.12, numpy 2.5.2: the GPU machines'
# versions) gave the same digests as the book's torch 2.14.1 (Python 3.11).
FINGERPRINTS = {1: {"x86-64, AVX2 (the machines of 2026-11-30 to 12-06)": ["ff53cfb6e07f9ddc", "52d63fd139c15aee"],
                    "Intel Xeon with AVX-512 (2026-12-07)": ["02042e22e5d89b2d", "14fd62640aaa7c6b"]}}


def digest(t: train.Trained) -> str:
    h = hashlib.sha256()
    final = t.states[t.spec.epochs]
    for name in sorted(final):
        h.update(name.encode())
        h.update(final[name].cpu().numpy().tobytes())
    h.update(np.ascontiguousarray(t.logits[t.spec.epochs]).tobytes())
    return h.hexdigest()[:16]


PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "1"}
CHILD = """
import json, sys, torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
from test_fingerprint import SPECS, digest
from helpers import train
print(json.dumps([torch.backends.cpu.get_cpu_capability(),
                  [digest(train.fit([s], device="cpu")[0]) for s in SPECS]]))
"""


def has_avx2() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not has_avx2(), reason="the digests are recorded for x86-64 kernels with AVX2")
def test_training_results_match_the_recorded_fingerprint_of_this_code_version():
    env = dict(os.environ, **PINNED)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(Path(__file__).parent)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    capability, got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert capability == "AVX2", f"the kernels were not pinned to AVX2 (ATen reports {capability})"
    want = FINGERPRINTS.get(train.CODE_VERSION)
    assert want is not None, (f"no fingerprint recorded for CODE_VERSION {train.CODE_VERSION}: "
                              f"add {train.CODE_VERSION}: {{'<this CPU>': {got}}} to FINGERPRINTS")
    assert got in want.values(), (
        f"training results changed: bump train.CODE_VERSION (every cached run is then retrained) and "
        f"record {got} under the new version; or, if this code gives the recorded digests on a "
        f"recorded kind of CPU ({', '.join(want)}), this is a new kind: record {got} for it")
