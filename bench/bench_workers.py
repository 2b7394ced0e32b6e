"""A call's groups trained side by side in worker processes, against one after another.

    python bench/bench_workers.py [--device auto|cpu|cuda] [--model resnet20] [--workers 4]
                                  [--scenario loops|compiled|both] [--n-train N] [--json OUT.json]

What ``helpers.runs.ProcessExecutor`` (the default on a GPU) is for, measured: one
``runs.get`` call of four groups (specs that cannot share a ``train.fit`` call), on an empty runs
cache, trained by the local executor (one group after another in this process) and then by
``--workers`` processes, with the wall time of each, their ratio and, on a GPU, what the cost
model (``helpers.cost``) expected for both. Two scenarios, one epoch of ``--n-train`` images each:

* ``loops``: chapter 05's numerics, fp32 with deterministic kernels, a loop of 4 models per
  group; every step is bound by kernel launches, which processes could overlap.
* ``compiled``: chapters 01 and 04's small groups, bf16 vmap of 2, 3, 4 and 5 models, each
  compiled (``HELPERS_CUDA_COMPILE_MIN_STEPS=0`` here), so each group compiles a shape of its own:
  processes could overlap the compiles. On a CPU nothing is compiled.

Deterministic runs give the same bits either way (``tests/test_processes.py``); this times them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("HELPERS_CUDA_COMPILE_MIN_STEPS", "0")  # before helpers.train reads it

import torch  # noqa: E402

from bench_train import BATCH, common_args, positive  # noqa: E402  (this folder)
from helpers import cost, data, runs, train  # noqa: E402

SCENARIOS = {  # name: (precision, deterministic, the groups' K)
    "loops": ("fp32", True, (4, 4, 4, 4)),
    "compiled": ("bf16", False, (2, 3, 4, 5)),
}


def groups_for(model: str, dataset: str, n_train: int, scenario: str) -> list[list]:
    """The scenario's groups: K seeds each, told apart by their learning rate (another group key),
    so that every group is its own ``train.fit`` call."""
    precision, det, ks = SCENARIOS[scenario]
    out = []
    for i, K in enumerate(ks):
        base = train.Spec(model=model, dataset=dataset, n_train=n_train, n_test=1000, epochs=1,
                          batch_size=BATCH, lr=0.1 + 0.01 * i, momentum=0.9, weight_decay=5e-4,
                          augment=True, precision=precision, deterministic=det, save_epochs=())
        out.append([base.with_seed(s) for s in range(K)])
    return out


COLD = ("HELPERS_DATA_DIR", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")


def timed(specs: list, device: str, executor, group_size: int | None = 16) -> float:
    """Wall seconds of one runs.get call (every group in one chunk; ``group_size=None``: the
    device's default) on an empty runs cache and empty compile caches (inductor's and Triton's, in
    this process and the workers it starts); the decoded dataset is the one
    :func:`choose_dataset` cached."""
    with tempfile.TemporaryDirectory() as folder:
        saved = {k: os.environ.get(k) for k in COLD}
        source = data.data_dir()
        os.environ.update({k: os.path.join(folder, k.lower()) for k in COLD})
        try:
            # the dataset's decoded cache is kept (linked): the workers read it, none decodes again
            data.data_dir().mkdir(parents=True)
            for f in [*source.glob("*.npz"), source / "cifar-10-batches-py"]:
                if f.exists():
                    (data.data_dir() / f.name).symlink_to(f.resolve())
            t0 = time.perf_counter()
            runs.get(specs, device=device, group_size=group_size, progress=False, executor=executor)
            return time.perf_counter() - t0
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def choose_dataset(n_train: int) -> tuple[str, int]:
    """CIFAR-10 where it is found (the workers load it too), else the synthetic stand-in, whose
    512 training images bound ``n_train``."""
    try:
        if len(data.load("auto").train_y) >= n_train:
            return "auto", n_train
    except data.DatasetMissing:
        pass
    return "synthetic", min(n_train, 512)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap)
    ap.add_argument("--workers", type=positive(int), default=4)
    ap.add_argument("--scenario", default="both", choices=("loops", "compiled", "both"))
    ap.add_argument("--n-train", type=positive(int), default=None,
                    help="images per epoch (default 10240 GPU, 256 CPU)")
    a = ap.parse_args()
    device = train.pick_device(a.device)
    gpu = device.type == "cuda"
    n_train = a.n_train if a.n_train is not None else (10240 if gpu else 256)
    if n_train < BATCH:
        ap.error(f"--n-train {n_train} is less than one batch ({BATCH})")
    dataset, n_train = choose_dataset(n_train)
    if dataset != "auto":
        data_dir = os.environ.get("HELPERS_DATA_DIR")  # the workers must find no other source
        print(f"# no CIFAR-10 with {a.n_train or n_train} images{' in ' + data_dir if data_dir else ''}: "
              f"the synthetic stand-in, {n_train} images", file=sys.stderr)
    name = torch.cuda.get_device_name(device) if gpu else \
        f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"# {a.model}: one call of 4 groups, local vs {a.workers} worker processes, on {name}; "
          f"torch {torch.__version__}; {n_train} images, one epoch ({dataset})\n")
    print("| scenario | groups (K) | one after another (s) | side by side (s) | speed-up | "
          "cost model: one after another, side by side (s) |")
    print("|---|---|---|---|---|---|")
    rows = []
    t0 = time.perf_counter()
    for scenario in (("loops", "compiled") if a.scenario == "both" else (a.scenario,)):
        groups = groups_for(a.model, dataset, n_train, scenario)
        specs = [s for g in groups for s in g]
        side = timed(specs, str(device), runs.ProcessExecutor(a.workers))  # first: compiles cold
        serial = timed(specs, str(device), runs.LOCAL)
        model = None
        if gpu:
            shapes = {}
            model = (sum(cost.group_seconds(g, shapes) for g in groups),
                     cost.parallel_seconds(groups, a.workers, {}))
        r = dict(scenario=scenario, ks=[len(g) for g in groups], precision=SCENARIOS[scenario][0],
                 serial_s=round(serial, 1), side_by_side_s=round(side, 1), workers=a.workers,
                 speedup=round(serial / side, 2),
                 model_serial_s=model and round(model[0], 1), model_side_s=model and round(model[1], 1))
        rows.append(r)
        expected = f"{model[0]:.0f}, {model[1]:.0f}" if model else "(a GPU's)"
        print(f"| {scenario} | {', '.join(map(str, r['ks']))} | {serial:.1f} | {side:.1f} | "
              f"{r['speedup']:.2f}x | {expected} |", flush=True)
    print("\nEach call started with empty runs and compile caches (a chapter executed cold).")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=name, torch=torch.__version__, model=a.model, n_train=n_train,
                           dataset=dataset, seconds=round(time.perf_counter() - t0), rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
