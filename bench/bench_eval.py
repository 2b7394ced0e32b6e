"""Seconds per evaluation of one sampled weight vector: what chapter 03 part 2 pays per sample.

    python bench/bench_eval.py [--model smallcnn] [--n 10000] [--chunks 1000,250] [--repeats 3]

``helpers.subspace.evaluate`` loads a weight vector, recomputes batch-norm statistics if the
network has any, and runs the test images forward. This times it on random images (the speed does
not depend on the pixels) in the network's default layout and in channels-last, for several chunk
sizes, and prints a Markdown table. Measured on two cores of an AMD EPYC (SmallCNN, 10,000 images):
default layout 2.83 s (1,000-image chunks) / 1.67 s (250); channels-last 1.54 s / 0.74 s.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

from bench_train import positive, positive_ints  # this folder
from helpers import landscape, models, subspace


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smallcnn", choices=models.ARCHITECTURES)
    ap.add_argument("--n", type=positive(int), default=10000)
    ap.add_argument("--chunks", default=[1000, 250], type=positive_ints, help="e.g. 1000,250")
    ap.add_argument("--repeats", type=positive(int), default=3)
    a = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else \
        f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    torch.manual_seed(0)
    x = torch.randn(a.n, 3, 32, 32, device=dev)
    bn_x = x[:1000]
    print(f"# subspace.evaluate: {a.model}, {a.n} images, on {name}; torch {torch.__version__}\n")
    print("| layout | chunk | seconds per evaluation |")
    print("|---|---|---|")
    for layout in ("default", "channels-last"):
        for chunk in a.chunks:
            net = models.build(a.model).to(dev).eval()
            vec = landscape.vector(net)
            if layout == "default":  # the same forward pass without the layout change
                def run():
                    with torch.no_grad():
                        landscape.load_vector(net, vec)
                        if landscape.has_bn(net):
                            landscape.reset_bn(net, bn_x)
                        return torch.cat([torch.softmax(net(x[i:i + chunk]), -1) for i in range(0, len(x), chunk)])
            else:
                def run():
                    return subspace.evaluate(net, vec, x, bn_x, chunk=chunk)
            run()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(a.repeats):
                run()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            print(f"| {layout} | {chunk} | {(time.perf_counter() - t) / a.repeats:.3f} |", flush=True)


if __name__ == "__main__":
    main()
