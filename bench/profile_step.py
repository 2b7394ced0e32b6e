"""Where a training step's time goes: a profile of ``train.fit`` on a group of K models.

    python bench/profile_step.py [--device auto|cpu|cuda] [--k K] [--precision P]
                                 [--compile 1|0|reduce-overhead] [--n-train N] [--json OUT.json]

Defaults: on a GPU 16 models in bf16, compiled (chapter 03's step); on a CPU 4 in fp32, eager.

The benchmark (``bench_train.py``) says how fast a step is; this says why. It fits the group once
to warm up (compiling, cuDNN's autotuning), then fits the same shape again for one epoch under
``torch.profiler`` (a shape compiled once is not compiled again in the process). It prints:

* the wall time of that epoch, and on a GPU the time its kernels kept the device busy (the sum of
  the kernel times against the profiled fit's wall time, an upper bound where kernels overlap):
  a busy share well under 1 means the step waits on the host (launches, Python), and CUDA graphs
  or fewer kernels would help; near 1, the kernels themselves are the cost;
* kernel launches a step, and the operators that took the most device (or CPU) time.

ResNet20v1, batch 128, crops and flips, SGD with momentum, as ``bench_train.py`` trains it.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
from torch.profiler import ProfilerActivity, profile

from bench_train import (BATCH, choose_dataset, common_args, positive,  # this folder
                         spec_for)
from helpers import train


def summarize(prof, wall_s: float, fit_s: float, steps: int, gpu: bool, top: int = 15) -> dict:
    """Busy share (of ``fit_s``, the profiled fit's wall time), launches a step and the top
    operators of a finished profile; ``wall_s``: the fit's training time alone."""
    events = prof.key_averages()
    if gpu:  # the kernels themselves: device-side events that are not user annotations
        kernels = [e for e in prof.events() if str(getattr(e, "device_type", "")).endswith("CUDA")
                   and not getattr(e, "is_user_annotation", False)]
        busy_s = sum(_get(e, "device_time_total", "cuda_time_total") for e in kernels) / 1e6
        launches = len(kernels)
    else:
        busy_s, launches = float("nan"), sum(e.count for e in events)
    # ranked by self time: inclusive times would fill the list with nested wrappers
    keys = ("self_device_time_total", "self_cuda_time_total") if gpu else ("self_cpu_time_total",)
    rows = sorted(events, key=lambda e: _get(e, *keys), reverse=True)[:top]
    return dict(wall_s=round(wall_s, 3), steps=steps, ms_per_step=round(1e3 * wall_s / steps, 3),
                busy_share=round(busy_s / fit_s, 3) if gpu else None,
                launches_per_step=round(launches / steps, 1),
                top=[dict(name=e.key, calls=e.count, ms=round(_get(e, *keys) / 1e3, 2)) for e in rows])


def _get(event, *names) -> float:
    """The first of ``names`` that the profiler's event has (they were renamed across versions)."""
    for n in names:
        if hasattr(event, n):
            return float(getattr(event, n))
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap)
    ap.add_argument("--k", type=positive(int), default=None, help="models together (default 16 GPU, 4 CPU)")
    ap.add_argument("--precision", default=None, choices=train.PRECISIONS,
                    help="default bf16 GPU, fp32 CPU")
    ap.add_argument("--compile", default=None,
                    choices=("1", "0", "default", "reduce-overhead", "max-autotune",
                             "max-autotune-no-cudagraphs"),
                    help="1, 0 or a torch.compile mode (default 1 GPU, 0 CPU)")
    ap.add_argument("--n-train", type=positive(int), default=None,
                    help="images an epoch (default 5120 GPU, 512 CPU)")
    a = ap.parse_args()
    device = train.pick_device(a.device)
    gpu = device.type == "cuda"
    n_train = a.n_train if a.n_train is not None else (5120 if gpu else 512)
    a.k = a.k or (16 if gpu else 4)
    a.precision = a.precision or ("bf16" if gpu else "fp32")
    a.compile = a.compile or ("1" if gpu else "0")
    compile_ = {"1": True, "0": False}.get(a.compile, a.compile)
    if n_train < BATCH:
        ap.error(f"--n-train {n_train} is less than one batch ({BATCH})")
    dataset = choose_dataset(n_train)  # random images of CIFAR-10's shape where it is missing
    # n_test: one batch, so that the fit's test-set snapshots barely show in the profile
    group = spec_for(a.model, dataset, n_train, a.k, a.precision, False, epochs=1, n_test=BATCH)
    steps = train.total_steps(group[0], n_train)
    t = time.perf_counter()
    first = train.fit(group, device=str(device), mode="vmap", compile=compile_)[0]
    warm_s = time.perf_counter() - t
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    with profile(activities=activities) as prof:
        t = time.perf_counter()
        out = train.fit(group, device=str(device), mode="vmap", compile=compile_)[0]
        if gpu:
            torch.cuda.synchronize()
        fit_s = time.perf_counter() - t
    # the profiled fit's own training time (its test-set snapshots excluded)
    wall_s = out.log[-1]["train_seconds"]
    s = summarize(prof, wall_s, fit_s, steps, gpu)
    name = torch.cuda.get_device_name(device) if gpu else "CPU"
    print(f"# {a.model} x {a.k} ({a.precision}, vmap, compile {first.compiled and a.compile}) on {name}, "
          f"torch {torch.__version__}; warm-up fit {warm_s:.1f} s, profiled epoch of {steps} steps "
          f"{fit_s:.1f} s with the profiler on")
    print(f"{s['ms_per_step']:.2f} ms a step; {s['launches_per_step']:.0f} "
          f"{'kernels' if gpu else 'operator calls'} a step"
          + (f"; device busy {100 * s['busy_share']:.0f}% of the wall time" if gpu else ""))
    for r in s["top"]:
        print(f"  {r['ms']:10.2f} ms  {r['calls']:6d} calls  {r['name'][:90]}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=name, torch=torch.__version__, model=a.model, K=a.k, precision=a.precision,
                           compile=a.compile, compiled=first.compiled, n_train=n_train, dataset=dataset,
                           warmup_s=round(warm_s, 1), **s), f, indent=1)


if __name__ == "__main__":
    main()
