"""Seconds per epoch of a chapter's real training spec, through ``train.fit`` end to end.

    python bench/bench_fit.py [--chapter 03_modes] [--profile gpu] [--ks 1,6] [--epochs 2]
                              [--deterministic both|on|off] [--json OUT.json]

Where ``bench_train.py`` times bare optimizer steps on synthetic tensors, this times what a
chapter pays: ``fit`` on the chapter's spec (its model, batch, augmentation, optimizer) on the
real dataset, K seeds trained together, test-set snapshots included, with deterministic kernels
on and off. Nothing is cached. The first epoch includes warm-up (cuDNN autotuning, allocator),
so the table reports the mean of the later epochs and the first separately.
"""
from __future__ import annotations

import argparse
import json
import platform

import torch

from bench_train import json_path, positive, positive_ints  # this folder
from helpers import config, train

from helpers.chapters import modes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapter", default="03_modes", choices=("03_modes",),
                    help="the chapter whose training spec is timed (03_modes: modes.specs)")
    ap.add_argument("--profile", default="auto", choices=config.PROFILES)
    ap.add_argument("--ks", default=[1, 6], type=positive_ints, help="K values, e.g. 1,6")
    ap.add_argument("--epochs", type=positive(int), default=2)
    ap.add_argument("--deterministic", default="both", choices=("both", "on", "off"))
    ap.add_argument("--json", default=None, type=json_path)
    a = ap.parse_args()
    P = config.chapter_params(a.chapter, a.profile)
    dev = train.pick_device(P.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else \
        f"CPU {platform.machine()}, {torch.get_num_threads()} threads"
    dets = {"both": (True, False), "on": (True,), "off": (False,)}[a.deterministic]
    print(f"# {a.chapter} at {P.profile}: {P.model}, batch {P.batch_size}, augment {P.augment}, "
          f"on {name}; torch {torch.__version__}\n")
    print("| K | deterministic | first epoch (s) | later epochs (s, mean) | s per model-epoch |")
    print("|---|---|---|---|---|")
    rows = []
    for K in a.ks:
        for det in dets:
            specs = [s.replace(epochs=a.epochs, save_epochs=(), deterministic=det)
                     for s in modes.specs(P, seeds=K)]
            out = train.fit(specs, device=str(dev))
            secs = [e["seconds"] for e in out[0].log]
            later = sum(secs[1:]) / max(1, len(secs) - 1) if len(secs) > 1 else secs[0]
            r = dict(K=K, deterministic=det, first_s=round(secs[0], 2), epoch_s=round(later, 2),
                     s_per_model_epoch=round(later / K, 2), variant=out[0].variant)
            rows.append(r)
            print(f"| {K} | {det} | {r['first_s']:.1f} | {r['epoch_s']:.1f} | {r['s_per_model_epoch']:.2f} |",
                  flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=name, torch=torch.__version__, chapter=a.chapter, profile=P.profile,
                           rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
