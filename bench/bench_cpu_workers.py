"""On a CPU: runs on one thread each, side by side in worker processes, against one process.

    python bench/bench_cpu_workers.py [--model resnet20] [--runs 4] [--n-train 2048]
                                      [--epochs 1] [--workers N] [--json OUT.json]

Why a CPU's default is what it is (``helpers.runs.cpu_workers``, ``train.CPU_FIT_THREADS``): a
run trained on other threads has other bits, so every fit runs on one thread, and the cores
train a call's runs side by side instead. This times one ``runs.get`` call of ``--runs`` runs
(one group each, as on a CPU), on an empty runs cache, three ways:

* the baseline, as before 2026-12-07: one process, each fit on all of torch's threads;
* one process, each fit on one thread (a script's default);
* ``--workers`` worker processes (default: one per core, at most 8), each fit on one thread (a
  notebook's and the CLI's default), the workers' start included (once per chapter).

The three give the same bits only in the last two (test_train, test_processes).
"""
from __future__ import annotations

import argparse
import json
import sys

import torch

from bench_train import BATCH, common_args, positive  # noqa: E402  (this folder)
import bench_workers  # noqa: E402
from helpers import data, runs, train  # noqa: E402


def timed(specs: list, executor, fit_threads: int) -> float:
    """Wall seconds of one runs.get call, every fit on ``fit_threads`` threads (one run a group,
    as on a CPU), on an empty runs cache (:func:`bench_workers.timed`)."""
    saved, train.CPU_FIT_THREADS = train.CPU_FIT_THREADS, fit_threads
    try:
        return bench_workers.timed(specs, "cpu", executor, group_size=None)
    finally:
        train.CPU_FIT_THREADS = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap, device=False)
    ap.add_argument("--runs", type=positive(int), default=4)
    ap.add_argument("--n-train", type=positive(int), default=2048)
    ap.add_argument("--epochs", type=positive(int), default=1)
    ap.add_argument("--workers", type=positive(int), default=min(runs.usable_cpus(), runs.MAX_CPU_WORKERS))
    a = ap.parse_args()
    dataset, n_train = bench_workers.choose_dataset(a.n_train)
    if n_train < BATCH:
        ap.error(f"--n-train {n_train} is less than one batch ({BATCH})")
    threads = torch.get_num_threads()
    specs = [train.Spec(model=a.model, dataset=dataset, n_train=n_train, n_test=1000, epochs=a.epochs,
                        batch_size=BATCH, lr=0.05, momentum=0.9, augment=True, save_epochs=()).with_seed(s)
             for s in range(a.runs)]
    cpu = data.device_name("cpu").split(" (")[0]
    print(f"# {a.model}: {a.runs} runs of {a.epochs} epoch(s) on {n_train} images ({dataset}); {cpu}, "
          f"{runs.usable_cpus()} cores; torch {torch.__version__}\n")
    print("| how | wall time (s) | vs the baseline |")
    print("|---|---|---|")
    rows, base = [], None
    for how, executor, fit_threads in (
            (f"baseline: one process, fits on {threads} threads", runs.LOCAL, threads),
            ("one process, fits on 1 thread", runs.LOCAL, 1),
            (f"{a.workers} worker processes, fits on 1 thread", runs.ProcessExecutor(a.workers), 1)):
        s = timed(specs, executor, fit_threads)
        base = base or s
        rows.append(dict(how=how, seconds=round(s, 1), speedup=round(base / s, 2)))
        print(f"| {how} | {s:.1f} | {base / s:.2f}x |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=cpu, cores=runs.usable_cpus(), torch=torch.__version__, model=a.model,
                           runs=a.runs, epochs=a.epochs, n_train=n_train, dataset=dataset, rows=rows), f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
