"""Training throughput of the one trainer: one ResNet20v1 vs K trained together.

    python bench/bench_train.py [--device auto|cpu|cuda] [--ks 1,4] [--steps 20] [--model resnet20]
                                [--modes loop,vmap] [--json OUT.json]

For each K and each way of batching models (``loop``: K modules one after another; ``vmap``: one
stacked call), it times ``--steps`` optimizer steps on CIFAR-10-shaped data (batch 128, crop+flip
augmentation, SGD), after warm-up steps, and reports images/s summed over the K models and
seconds per model-epoch (50,000 images). Data are synthetic tensors of CIFAR-10's shape: the
trainer keeps data on the device, so what is measured is the step itself. Results are printed
as a markdown table (and written as JSON with ``--json``).
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from helpers import data, train

EPOCH = 50_000


def bench(model: str, K: int, mode: str, device: torch.device, steps: int, warmup: int = 3,
          batch: int = 128) -> dict:
    spec = train.Spec(model=model, batch_size=batch, augment=True, deterministic=False)
    nets = [train.init_model(spec.with_seed(s)) for s in range(K)]
    stack = train.Stack(nets, device, mode)
    opt = torch.optim.SGD(stack.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(K * batch * 2, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (K * batch * 2,), device=device)

    def step():
        idx = torch.randint(0, len(x), (K, batch), generator=g).to(device)
        xs = torch.stack([data.random_crop_flip(x[i], g) for i in idx])
        loss = train.cross_entropy(stack.forward(xs), y[idx]).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    ips = K * batch * steps / dt
    out = dict(model=model, K=K, mode=mode, images_per_s=round(ips, 1),
               s_per_model_epoch=round(EPOCH / (ips / K), 2))
    if device.type == "cuda":
        out["peak_mem_GiB"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--ks", default=None, help="comma-separated K values (default: 1,4 on CPU; 1,4,8,16 on GPU)")
    ap.add_argument("--modes", default=None, help="loop,vmap (default: both)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    device = train.pick_device(a.device)
    gpu = device.type == "cuda"
    ks = [int(k) for k in (a.ks or ("1,4,8,16" if gpu else "1,4")).split(",")]
    modes = (a.modes or "loop,vmap").split(",")
    steps = a.steps or (50 if gpu else 10)
    name = torch.cuda.get_device_name(device) if gpu else f"CPU {platform.machine()}, {torch.get_num_threads()} threads"
    print(f"# {a.model} training throughput on {name}; torch {torch.__version__}; {steps} timed steps of batch 128\n")
    rows = []
    print("| K | mode | images/s (all K) | s per model-epoch | speed-up vs K=1 loop |")
    print("|---|---|---|---|---|")
    base = None
    for K in ks:
        for mode in modes:
            if mode == "vmap" and K == 1:
                continue
            r = bench(a.model, K, mode, device, steps)
            base = base or r["images_per_s"]
            r["speedup"] = round(r["images_per_s"] / base, 2)
            rows.append(r)
            print(f"| {K} | {mode} | {r['images_per_s']:.0f} | {r['s_per_model_epoch']:.1f} | {r['speedup']:.2f}x |",
                  flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=name, torch=torch.__version__, steps=steps, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
