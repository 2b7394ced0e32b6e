"""Chapter 05's figures (instability): one function per figure, each returning the figure.

The numbers come from :mod:`helpers.chapters.instability` (``source_intervals``,
``cka_intervals``, ``divergence``, ``depth_divergence``, ``onset_intervals``); these functions
only draw them in the house style (:func:`helpers.plots.style`, :func:`helpers.plots.color`).
Error bars are 95% intervals (:class:`helpers.stats.Estimate`); the one-bit change is drawn in
vermilion (``plots.color(3)``) wherever it stands beside the other sources, and no other source
takes the palette's orange (``plots.color(1)``), which reads as the same hue.
"""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from . import color

BIT = 3      # the one-bit change's colour (vermilion)
OTHER = 0    # every other source's
# the colours of the other sources where each has its own (Figure 2): the palette without the
# bit change's vermilion and the orange beside it (1); yellow (6) last, as it is faint on white
OTHERS = (0, 2, 4, 5, 7, 6)


def _xerr(estimates, scale: float = 1.0) -> np.ndarray:
    """(2, n) distances from each value to its interval's ends, for ``errorbar``."""
    return scale * np.array([[np.nan if e.lo is None else e.value - e.lo for e in estimates],
                             [np.nan if e.hi is None else e.hi - e.value for e in estimates]],
                            dtype=float)


def _bars(ax, names, estimates, colours, xlabel: str, title: str, scale: float = 1.0):
    y = np.arange(len(names))
    ax.barh(y, [scale * e.value for e in estimates], color=colours, alpha=0.85)
    ax.errorbar([scale * e.value for e in estimates], y, xerr=_xerr(estimates, scale),
                fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set(xlabel=xlabel, title=title)
    ax.set_xlim(left=0)


def sources_figure(intervals: dict):
    """Figure 1: per source, the runs' test accuracies (one dot a run, seaborn), and the
    accuracy SD, cross-entropy SD and pairwise disagreement with their simultaneous 95%
    intervals; the one-bit change in vermilion. ``intervals``: ``source_intervals``' output."""
    names = list(intervals)
    colours = [color(BIT if intervals[n]["bitflip"] else OTHER) for n in names]
    fig, axes = plt.subplots(1, 4, figsize=(15, 0.45 * len(names) + 2.4), sharey=True)
    runs = pd.DataFrame([(n, a) for n in names for a in intervals[n]["acc"]],
                        columns=["source", "accuracy"])
    sns.stripplot(data=runs, x="accuracy", y="source", hue="source", palette=colours,
                  order=names, hue_order=names, legend=False, size=6, alpha=0.8, jitter=0.15,
                  ax=axes[0])
    sns.pointplot(data=runs, x="accuracy", y="source", order=names, errorbar=None,
                  color="black", markers="|", markersize=14, linestyle="none", ax=axes[0],
                  label="mean of the runs")
    axes[0].set(xlabel="test accuracy of each run (%)", ylabel="source varied",
                title="Runs (one dot each)")
    axes[0].legend(loc="lower left", fontsize=8)
    est = {k: [intervals[n][k] for n in names] for k in ("acc_sd", "ce_sd", "disagree")}
    _bars(axes[1], names, est["acc_sd"], colours, "accuracy SD over R runs (pp)",
          "Accuracy SD")
    _bars(axes[2], names, est["ce_sd"], colours, "cross-entropy SD over R runs (nats)",
          "Cross-entropy SD")
    _bars(axes[3], names, est["disagree"], colours,
          "mean pairwise disagreement (% of test set)", "Pairwise disagreement")
    for ax in axes[1:]:
        ax.errorbar([], [], xerr=[], fmt="none", ecolor="black", capsize=3,
                    label="simultaneous 95% interval")
    axes[3].legend(loc="lower right", fontsize=8)
    return fig


def cka_figure(cka: dict, n_images: int):
    """Figure 2: mean pairwise linear CKA per layer, one line per source (the one-bit change
    thick, in vermilion; the others in :data:`OTHERS`, no orange among them), with 95% bootstrap
    intervals over runs. ``cka``: ``cka_intervals``' output."""
    fig, ax = plt.subplots(figsize=(7, 4))
    others = itertools.cycle(OTHERS)   # repeats only beyond six other rows
    for i, (name, c) in enumerate(cka.items()):
        layers = list(c)
        x = np.arange(len(layers)) + 0.04 * (i - (len(cka) - 1) / 2)  # side by side
        est = [c[layer] for layer in layers]
        bit = "bit" in name
        ax.errorbar(x, [e.value for e in est], yerr=_xerr(est), marker="o", capsize=2,
                    color=color(BIT if bit else next(others)), label=name,
                    lw=2.5 if bit else 1.2)
    ax.set_xticks(range(len(layers)), layers)
    ax.set(xlabel="layer", ylabel="mean pairwise linear CKA",
           title=f"CKA between runs of each row ({n_images} test images)")
    ax.legend(fontsize=8)
    return fig


def divergence_figure(div: dict, new_init):
    """Figure 3: each bit-flip run against the unperturbed reference, epoch by epoch (thin
    lines; black: their mean): accuracy gap, disagreement, weight distance (log). ``new_init``:
    the final disagreement of a new initialization with the reference (an ``Estimate``; dashed,
    its 95% interval shaded)."""
    ep = div["epochs"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("acc_gap", 100, "|accuracy gap| to the reference (pp)", "Accuracy gap"),
              ("disagree", 100, "disagreement with the reference (%)", "Changed predictions"),
              ("weight_dist", 1, "L2 distance of the weights", "Distance in weight space (log)"))
    for ax, (key, scale, ylabel, title) in zip(axes, panels):
        for i, v in enumerate(div[key]):
            ax.plot(ep, scale * v, color=color(BIT), alpha=0.35,
                    label="one bit-flip run" if i == 0 else None)
        ax.plot(ep, scale * div[key].mean(0), color="black", marker="o",
                label="mean over runs")
        ax.set(xlabel="epoch", ylabel=ylabel, title=title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[2].set_yscale("log")
    axes[1].axhline(100 * new_init.value, color="grey", ls="--",
                    label="new initialization (final)")
    if new_init.has_interval:
        axes[1].axhspan(max(0.0, 100 * new_init.lo), min(100.0, 100 * new_init.hi),
                        color="grey", alpha=0.15, label="its 95% interval")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def depth_figure(dv: dict):
    """Figure 4: per model of Table 8, the bit-flip runs' mean weight distance and |Δ test
    cross-entropy| to the unperturbed run, epoch by epoch (log scales; the loss gap floored at
    1e-12 where it is exactly 0). ``dv``: ``depth_divergence``' output."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, (m, d) in enumerate(dv.items()):
        axes[0].semilogy(d["epochs"], d["weight_dist"].mean(0), marker="o", color=color(i),
                         label=m)
        axes[1].semilogy(d["epochs"][1:], np.maximum(d["ce_gap"].mean(0)[1:], 1e-12),
                         marker="o", color=color(i), label=m)
    axes[0].set(xlabel="epoch", ylabel="L2 distance to the unperturbed run",
                title="Bit change: weight distance")
    axes[1].set(xlabel="epoch", ylabel="|Δ test cross-entropy| (floored at 1e-12)",
                title="Bit change: loss gap")
    for ax in axes:
        ax.legend(title="model")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def onset_figure(onset: dict):
    """Figure 5: accuracy SD, cross-entropy SD and pairwise disagreement at the end of
    training against the onset N (epochs shared exactly before the source turns on), with 95%
    intervals. ``onset``: ``onset_intervals``' output."""
    n = list(onset)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = (("acc_sd", "accuracy SD over R runs (pp)", "Accuracy SD"),
              ("ce_sd", "cross-entropy SD over R runs (nats)", "Cross-entropy SD"),
              ("disagree", "mean pairwise disagreement (%)", "Disagreement"))
    for i, (ax, (key, ylabel, title)) in enumerate(zip(axes, panels)):
        est = [onset[k][key] for k in n]
        ax.errorbar(n, [e.value for e in est], yerr=_xerr(est), marker="o", capsize=3,
                    color=color(i), label="R runs, 95% interval")
        ax.set(xlabel="N: epochs shared exactly before the source turns on", xticks=n,
               ylabel=ylabel, title=title)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    return fig
