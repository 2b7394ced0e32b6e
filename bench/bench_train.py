"""ResNet20v1 training throughput: the book's trainer at K = 1, 4, 8, 16 (and 32) models, beside a plain loop.

    python bench/bench_train.py [--device auto|cpu|cuda] [--model resnet20] [--rows core|full]
                                [--n-train N] [--budget-s S] [--json OUT.json]

Every row trains through ``helpers.train.fit`` itself (the chapters' code path: one gather and
crop/flip for all K models, the optimizer, test-set snapshot excluded from the timing) for two
epochs of ``--n-train`` images at batch 128 with crops and flips, SGD + momentum; the first epoch
is warm-up (torch.compile, cuDNN autotuning), the second is timed (``train_seconds`` in the log)
and scaled to a CIFAR-10 epoch of 50,000 images. The rows vary K, the precision (fp32 with
deterministic kernels, as chapter 05 trains; tf32; bf16 autocast), how the K models run (a loop
of modules or one vmap call) and torch.compile.

Beside them, in the same process, the *plain loop*: one model, eager, PyTorch's default float32
settings, data already on the device (no DataLoader), a random crop and flip per batch, and a
``loss.item()`` per step for its running loss, as a tutorial writes it. The table gives every
row's images/s over all its models, seconds per model-epoch (the wall time of one CIFAR-10 epoch
of all K models divided by K: 50,000 / images/s) and the ratio to the plain loop; the
JSON keeps the same plus the device and versions. CIFAR-10 is used where it is found (``make
data``), else random images of its shape (throughput does not depend on the pixels).

Targets (issue 13, one H100): <= 0.25 s per model-epoch with 8 or more models together
(>= 200,000 images/s in all) and >= 10x the plain loop's images/s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch
import torch.nn.functional as F

from helpers import data, models, train

EPOCH = 50_000
BATCH = 128

# (K, precision, deterministic, mode, compile): the core set answers the questions in a
# few minutes on one GPU; full adds the remaining combinations.
# Rows not yet measured come first (an H200 window ran five rows on 2026-12-01 before the budget
# ran out: bench/results/2026-12-01-h200/; K = 32 ran 1.2x faster per model than 16). First what
# train.COMPILE_MIN_STEPS and the cost model's eager ESTIMATES need: small groups (chapters 01, 02
# and 04 train groups of 2-4 for a few thousand steps) eager against compiled, and the same
# compiled shape a second time in the process (its warm-up_s: dynamo's cache, expected ~0). A
# 6th field "again" runs a row that ran before; the warm-up of a compiled row is a cold compile
# only for the first compiled row (later ones follow other shapes of the same network).
CORE_GPU = [
    (3, "bf16", False, "vmap", False), (16, "bf16", False, "vmap", False),
    (3, "bf16", False, "vmap", True), (3, "bf16", False, "vmap", True, "again"),  # the repeat
    (16, "fp32", False, "vmap", False), (16, "fp32", False, "vmap", True),
    (16, "bf16", False, "vmap", True),                                      # chapter 03's mode
    (32, "bf16", False, "vmap", True),   # more models a step: the 16-model step is overhead-bound
    (64, "bf16", False, "vmap", True), (32, "bf16", False, "vmap", "reduce-overhead"),
    (8, "bf16", False, "vmap", True), (16, "tf32", False, "vmap", True),
    (16, "fp32", True, "vmap", False), (16, "fp32", True, "loop", False),   # chapter 05's numerics:
    (16, "fp32", True, "loop", "reduce-overhead"), (16, "fp32", True, "vmap", True),  # group=16
    (16, "fp32", True, "loop", True), (1, "fp32", True, "loop", False),     # or a loop
    (8, "bf16", False, "loop", True),
    (16, "bf16", False, "loop", True), (16, "bf16", False, "loop", False),
    (1, "bf16", False, "loop", True), (4, "bf16", False, "loop", True),
    (8, "tf32", False, "loop", True), (8, "bf16", False, "loop", "reduce-overhead"),
    (4, "fp32", True, "loop", False), (8, "fp32", True, "loop", False),
    (4, "bf16", False, "vmap", True),
]
FULL_GPU = CORE_GPU + [
    (k, p, False, m, c) for k in (4, 8, 16) for p in ("fp32", "tf32", "bf16") for m in ("loop", "vmap")
    for c in (False, True)
]
CORE_CPU = [(1, "fp32", True, "loop", False), (4, "fp32", True, "loop", False),
            (4, "fp32", False, "vmap", False)]
FULL_CPU = CORE_CPU + [(1, "bf16", False, "loop", False), (4, "fp32", False, "loop", True)]


def use_random_images(n_train: int) -> None:
    """Make ``dataset='synthetic'`` a set of ``n_train`` images (the book's stand-in has 512)."""
    stand_in = data.synthetic(n_train, 1000)
    data.load.cache_clear()
    data.on_device.cache_clear()
    real_load = data.load.__wrapped__
    data.load = lambda dataset="auto": stand_in if dataset == "synthetic" else real_load(dataset)


def choose_dataset(n_train: int) -> str:
    """CIFAR-10 where it is found with ``n_train`` images, else random images of its shape."""
    try:
        if len(data.load("auto").train_y) >= n_train:
            return "auto"
    except data.DatasetMissing:
        pass
    use_random_images(n_train)
    return "synthetic"


def spec_for(model: str, dataset: str, n_train: int, K: int, precision: str, det: bool,
             epochs: int = 2, n_test: int = 1000) -> list:
    """K seeds of the benchmark's recipe (batch 128, crops and flips, SGD with momentum)."""
    base = train.Spec(model=model, dataset=dataset, n_train=n_train, n_test=n_test, epochs=epochs,
                      batch_size=BATCH, lr=0.1, momentum=0.9, weight_decay=5e-4, augment=True,
                      precision=precision, deterministic=det)
    return [base.with_seed(s) for s in range(K)]


def trainer_row(model, dataset, n_train, device, K, precision, det, mode, compile) -> dict:
    specs = spec_for(model, dataset, n_train, K, precision, det)
    out = train.fit(specs, device=str(device), mode=mode, compile=compile)
    secs = out[0].log[-1]["train_seconds"]
    steps = n_train // BATCH
    ips = K * steps * BATCH / secs
    return dict(K=K, precision=precision, deterministic=det, mode=out[0].mode,
                compile=compile if out[0].compiled else False, images_per_s=round(ips),
                s_per_model_epoch=round(EPOCH / ips, 3), warmup_s=round(out[0].log[0]["train_seconds"], 1))


def plain_loop(model: str, dataset: str, n_train: int, device: torch.device) -> dict:
    """One model as a tutorial trains it, data on the device; returns images/s of epoch 2."""
    d = data.on_device(dataset, str(device), n_train, 1000)
    torch.manual_seed(0)
    net = models.build(model).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(0)
    n = len(d.train_y)
    net.train()
    for epoch in range(2):
        t0 = time.perf_counter()
        running = 0.0
        perm = torch.randperm(n, device=device)
        for i in range(0, n - BATCH + 1, BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = data.random_crop_flip(d.train_x[idx], gen), d.train_y[idx]
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item()
        secs = time.perf_counter() - t0
    ips = (n // BATCH) * BATCH / secs
    return dict(K=1, precision="fp32 (defaults)", deterministic=False, mode="plain loop", compile=False,
                images_per_s=round(ips), s_per_model_epoch=round(EPOCH / ips, 3), warmup_s=None)


# argparse types shared by the bench scripts: a bad value is one line (exit 2) before any work,
# and a --json path is checked before a benchmark runs, not after


def positive(kind):
    def check(text: str):
        try:
            value = kind(text)
        except ValueError:
            what = {"int": "a whole number", "float": "a number"}.get(kind.__name__, kind.__name__)
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value
    check.__name__ = f"positive {kind.__name__}"
    return check


def positive_ints(text: str) -> list[int]:
    """'1,6' -> [1, 6]."""
    return [positive(int)(t) for t in text.split(",")]


def json_path(text: str) -> str:
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist; create it or give "
                                         "another path")
    return text


def common_args(ap: argparse.ArgumentParser, model: str = "resnet20", device: bool = True):
    """--model (a known architecture), --device and --json, as every bench script takes them."""
    ap.add_argument("--model", default=model, choices=models.ARCHITECTURES)
    if device:
        ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--json", default=None, type=json_path, help="write the results here too")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap)
    ap.add_argument("--rows", default="core", choices=("core", "full"))
    ap.add_argument("--n-train", type=positive(int), default=None,
                    help="images per epoch (default 10240 GPU, 1280 CPU)")
    ap.add_argument("--budget-s", type=positive(float), default=None,
                    help="start no row after S seconds (default 270 GPU)")
    a = ap.parse_args()
    device = train.pick_device(a.device)
    gpu = device.type == "cuda"
    n_train = a.n_train if a.n_train is not None else (10240 if gpu else 1280)
    budget = a.budget_s if a.budget_s is not None else (270 if gpu else 900)
    if n_train < BATCH:
        ap.error(f"--n-train {n_train} is less than one batch ({BATCH})")
    rows_spec = {("core", True): CORE_GPU, ("full", True): FULL_GPU,
                 ("core", False): CORE_CPU, ("full", False): FULL_CPU}[(a.rows, gpu)]
    dataset = choose_dataset(n_train)
    name = torch.cuda.get_device_name(device) if gpu else \
        f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"# {a.model} training throughput on {name}; torch {torch.__version__}; "
          f"{n_train} images per timed epoch ({dataset}), batch {BATCH}\n")
    print("| K | precision | deterministic | batching | compile | images/s (all K) | s per model-epoch | x plain |")
    print("|---|---|---|---|---|---|---|---|")
    t_start = time.perf_counter()
    plain = plain_loop(a.model, dataset, n_train, device)
    rows = [plain]

    def show(r):
        r["x_plain"] = round(r["images_per_s"] / plain["images_per_s"], 2)
        how = f"{r['compile']}, warm-up {r['warmup_s']} s" if r["compile"] else "no"
        how += " (again)" if r.get("again") else ""
        print(f"| {r['K']} | {r['precision']} | {r['deterministic']} | {r['mode']} | {how} | "
              f"{r['images_per_s']:,} | {r['s_per_model_epoch']:.3f} | {r['x_plain']:.1f} |", flush=True)

    show(plain)
    skipped = []
    seen = set()
    for row in rows_spec:
        (K, precision, det, mode, compile), again = row[:5], len(row) > 5
        if (row[:5] in seen and not again) or (mode == "vmap" and K == 1):
            continue
        seen.add(row[:5])
        if time.perf_counter() - t_start > budget:
            skipped.append(row)
            continue
        try:
            r = trainer_row(a.model, dataset, n_train, device, K, precision, det, mode, compile)
        except Exception as err:  # a row that cannot run here (memory, an op without a kernel)
            print(f"| {K} | {precision} | {det} | {mode} | {compile} | failed: {type(err).__name__}: "
                  f"{str(err).splitlines()[0][:120] if str(err) else ''} | | |", flush=True)
            continue
        r["again"] = again  # the same row a second time in this process
        rows.append(r)
        show(r)
    if skipped:
        print(f"\n{len(skipped)} rows not run: the {budget:.0f} s budget was spent (--budget-s)")
    best = max(rows[1:], key=lambda r: r["images_per_s"], default=None)
    many = [r for r in rows[1:] if r["K"] >= 8]
    summary = {}
    if best:
        summary = dict(best=best, best_x_plain=best["x_plain"],
                       best_s_per_model_epoch_k8plus=min((r["s_per_model_epoch"] for r in many), default=None),
                       best_images_per_s_k8plus=max((r["images_per_s"] for r in many), default=None))
        print(f"\nbest: {best['images_per_s']:,} images/s ({best['K']} models, {best['precision']}, {best['mode']}, "
              f"compile {best['compile'] or 'no'}), {best['x_plain']:.1f}x the plain loop; "
              f"{best['s_per_model_epoch']:.3f} s per model-epoch")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=name, torch=torch.__version__, model=a.model, n_train=n_train, dataset=dataset,
                           seconds=round(time.perf_counter() - t_start), rows=rows, summary=summary,
                           skipped=[list(s) for s in skipped]), f, indent=1)


if __name__ == "__main__":
    main()
