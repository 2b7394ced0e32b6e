"""Pruning: magnitude and random masks, their density and overlap (pure tensor work).

A *mask* is a dict ``{parameter name: bool tensor}`` over the prunable weights of a network (the
weights of its convolutions and linear layers: every parameter with two or more dimensions;
biases and batch-norm parameters are never pruned, as in Frankle & Carbin 2019, seed 003).
``True`` keeps a weight.

* :func:`magnitude_mask` -- one round of magnitude pruning: remove a fraction of the *surviving*
  weights with the smallest magnitude, either globally (one threshold over all layers, the
  paper's choice for ResNet / VGG) or layer by layer at per-kind rates (conv / fc / output, the
  paper's choice for Conv-2/4/6 and LeNet).
* :func:`random_mask_like` -- the random-pruning control: in every layer, the same number of
  surviving weights as a given mask, at random positions.
* :func:`density`, :func:`layer_density`, :func:`overlap`, :func:`expected_random_overlap`,
  :func:`jaccard` -- what fraction survives, and how much two masks share against what two
  random masks of the same per-layer sparsity would share by chance.

Masks and states to rewind to are stored by the runs cache (:func:`helpers.runs.store`, named by
the SHA-256 of their content); the trainer's ``Spec.mask`` and ``Spec.init_from`` hold such
names, so a mask is part of a run's cache key.

Iterative magnitude pruning (train, prune, reset or rewind, retrain) needs trained runs, so it
lives with the chapter's analyses in ``helpers.chapters.lottery``; this module is pure tensor work.
"""
from __future__ import annotations

import numpy as np
import torch

KINDS = ("conv", "fc", "output")


def prunable(named) -> list[str]:
    """Names of the prunable weights (dim >= 2) of a module or a ``{name: tensor}`` dict, in order."""
    items = named.named_parameters() if isinstance(named, torch.nn.Module) else named.items()
    return [n for n, t in items if t.dim() >= 2]


def layer_kinds(named) -> dict:
    """``{name: 'conv' | 'fc' | 'output'}`` for the prunable weights: 4-D weights are convolutions,
    2-D weights fully connected, and the last 2-D weight in order is the output layer."""
    items = dict(named.named_parameters()) if isinstance(named, torch.nn.Module) else dict(named)
    names = prunable(items)
    kinds = {n: "conv" if items[n].dim() == 4 else "fc" for n in names}
    linear = [n for n in names if kinds[n] == "fc"]
    if linear:
        kinds[linear[-1]] = "output"
    return kinds


def full_mask(named) -> dict:
    """The dense network's mask: every prunable weight kept."""
    items = dict(named.named_parameters()) if isinstance(named, torch.nn.Module) else dict(named)
    return {n: torch.ones_like(items[n], dtype=torch.bool) for n in prunable(items)}


def _n_prune(n_alive: int, rate: float) -> int:
    return int(round(rate * n_alive))


def magnitude_mask(weights: dict, mask: dict | None = None, rate: float | dict = 0.2,
                   scope: str = "global") -> dict:
    """One round of magnitude pruning: the new mask after removing a fraction of the survivors.

    ``weights`` -- the trained weights ``{name: tensor}`` (extra entries, e.g. biases, are ignored
    unless named in ``mask``); ``mask`` -- the current mask (None: dense); ``rate`` -- the fraction
    of the surviving weights to remove: a float, or with ``scope='layer'`` a dict of rates by kind
    (``{'conv': 0.1, 'fc': 0.2, 'output': 0.1}``, Frankle & Carbin's Conv-2/4/6 rates) or by name.
    ``scope='global'`` ranks all surviving weights of all layers together; ``'layer'`` ranks
    within each layer. Ties at the threshold are broken by position (the first ones go), so the
    number removed is exact.
    """
    mask = full_mask({n: weights[n] for n in prunable(weights)}) if mask is None else mask
    names = list(mask)
    if scope == "global":
        if not isinstance(rate, (int, float)):
            raise ValueError("global pruning takes one rate (a float)")
        scores = torch.cat([weights[n].detach().abs().flatten().double() for n in names])
        alive = torch.cat([mask[n].flatten() for n in names])
        k = _n_prune(int(alive.sum()), float(rate))
        new = _drop_smallest(scores, alive, k)
        out, i = {}, 0
        for n in names:
            m = mask[n].numel()
            out[n] = new[i:i + m].view_as(mask[n])
            i += m
        return out
    if scope == "layer":
        kinds = layer_kinds({n: weights[n] for n in names})
        out = {}
        for n in names:
            r = rate if isinstance(rate, (int, float)) else rate.get(n, rate.get(kinds[n]))
            if r is None:
                raise ValueError(f"no pruning rate for layer {n} (kind {kinds[n]}); give one of {KINDS} or its name")
            alive = mask[n].flatten()
            k = _n_prune(int(alive.sum()), float(r))
            out[n] = _drop_smallest(weights[n].detach().abs().flatten().double(), alive, k).view_as(mask[n])
        return out
    raise ValueError(f"unknown scope {scope!r}; choose one of: global, layer")


def _drop_smallest(scores: torch.Tensor, alive: torch.Tensor, k: int) -> torch.Tensor:
    """``alive`` with the ``k`` live entries of smallest score set to False (ties: first in order)."""
    new = alive.clone()
    if k <= 0:
        return new
    idx = torch.nonzero(alive).flatten()
    order = torch.argsort(scores[idx], stable=True)
    new[idx[order[:k]]] = False
    return new


def random_mask_like(mask: dict, seed: int = 0) -> dict:
    """A random mask with, in every layer, exactly as many survivors as ``mask`` has there."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for n, m in mask.items():
        keep = int(m.sum())
        perm = torch.randperm(m.numel(), generator=gen)
        flat = torch.zeros(m.numel(), dtype=torch.bool)
        flat[perm[:keep]] = True
        out[n] = flat.view_as(m)
    return out


def density(mask: dict) -> float:
    """Fraction of the prunable weights that survive."""
    return sum(int(m.sum()) for m in mask.values()) / sum(m.numel() for m in mask.values())


def layer_density(mask: dict) -> dict:
    return {n: int(m.sum()) / m.numel() for n, m in mask.items()}


def overlap(mask_a: dict, mask_b: dict) -> float:
    """Fraction of ``mask_a``'s survivors that also survive in ``mask_b``: |a ∩ b| / |a|."""
    both = sum(int((mask_a[n] & mask_b[n]).sum()) for n in mask_a)
    return both / max(1, sum(int(m.sum()) for m in mask_a.values()))


def jaccard(mask_a: dict, mask_b: dict) -> float:
    """|a ∩ b| / |a ∪ b| over all prunable weights."""
    both = sum(int((mask_a[n] & mask_b[n]).sum()) for n in mask_a)
    either = sum(int((mask_a[n] | mask_b[n]).sum()) for n in mask_a)
    return both / max(1, either)


def expected_random_overlap(mask_a: dict, mask_b: dict | None = None) -> float:
    """The :func:`overlap` that two independent random masks with these per-layer survivor counts
    would have on average: sum_l a_l b_l / n_l over sum_l a_l (a_l, b_l survivors in layer l of
    n_l weights). With one mask, b = a; for one global density d it is just d."""
    mask_b = mask_a if mask_b is None else mask_b
    num = sum(int(mask_a[n].sum()) * int(mask_b[n].sum()) / mask_a[n].numel() for n in mask_a)
    return num / max(1, sum(int(m.sum()) for m in mask_a.values()))


@torch.no_grad()
def apply(net: torch.nn.Module, mask: dict) -> torch.nn.Module:
    """Multiply the masked parameters of ``net`` by their masks, in place."""
    params = dict(net.named_parameters())
    for n, m in mask.items():
        params[n].mul_(m.to(params[n].device, params[n].dtype))
    return net



def summary(mask: dict) -> str:
    """One line: overall density and per-layer densities, each layer with its kind
    (:func:`layer_kinds`: the rate it is pruned at)."""
    kinds = layer_kinds(mask)
    per = ", ".join(f"{n} ({kinds.get(n, '?')}) {100 * d:.1f}%"
                    for n, d in layer_density(mask).items())
    return f"{100 * density(mask):.2f}% remaining ({per})"


def rounds_to(target: float, rate: float) -> int:
    """Rounds of pruning at ``rate`` per round until at most ``target`` of the weights remain."""
    return int(np.ceil(np.log(target) / np.log(1 - rate) - 1e-9))
