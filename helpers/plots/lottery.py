"""Chapter 02's figures (lottery tickets): each function draws one figure from the chapter's
gates' results (:mod:`helpers.chapters.lottery`) and returns it.

Where several IMP chains (seeds) give a value at the same sparsity, the figure shows every
chain's value (dots) and their mean with its 95% t interval over the chains (error bars): the
spread the claims table's intervals are about.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from .. import models
from ..chapters import lottery
from . import color, mean_interval

X_LABEL = "weights remaining (%, log scale)"


def sparsity_axis(ax) -> None:
    """A log-scale x axis of "weights remaining (%)", dense on the left, with plain percent ticks."""
    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    ticks = [t for t in (100, 50, 30, 20, 10, 5, 3, 2, 1, 0.5) if min(lo, hi) <= t <= max(lo, hi)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    if lo < hi:
        ax.invert_xaxis()
    ax.set_xlabel(X_LABEL)


# seaborn's ``errorbar`` for a mean over chains: the house t interval (the mean with one chain)
t95 = mean_interval


def long_table(groups: dict) -> pd.DataFrame:
    """One row per (curve, chain, round): density; early-stop accuracy (%), its change from the
    chain's own dense network (pp) and iteration; final accuracy (%). ``groups``: ``{curve
    name: [rounds of chain 1, rounds of chain 2, ...]}``."""
    rows = []
    for name, chains in groups.items():
        for i, rounds in enumerate(chains):
            c = lottery.curve(list(rounds))
            rows += [dict(curve=name, chain=i + 1, density=100 * d, acc=100 * a,
                          change=100 * (a - c["acc"][0]), iteration=it, final_acc=100 * f)
                     for d, a, it, f in zip(c["density"], c["acc"], c["iteration"],
                                            c["final_acc"])]
    return pd.DataFrame(rows)


def _means_with_dots(df: pd.DataFrame, y: str, ax, palette: dict, estimator="mean",
                     errorbar=t95) -> None:
    """Every chain's value (dots) and the mean over chains with its 95% t interval (or another
    seaborn ``estimator`` and ``errorbar``)."""
    sns.scatterplot(data=df, x="density", y=y, hue="curve", palette=palette, alpha=0.35, s=16,
                    legend=False, ax=ax)
    sns.lineplot(data=df, x="density", y=y, hue="curve", style="curve", palette=palette,
                 estimator=estimator, errorbar=errorbar, err_style="bars", markers=True,
                 dashes=False, err_kws=dict(capsize=3), ax=ax)


def accuracy_and_speed(P, chains, ctrls):
    """Figure 1: test accuracy at early stop and the early-stopping iteration against sparsity,
    for the tickets (every chain) and the two controls (the chains that have them)."""
    n = len(ctrls)
    groups = {f"ticket (reset to θ0), {len(chains)} chains": [list(ch) for ch in chains],
              f"same mask, fresh random init, {n} chains":
                  [[ch[0]] + list(ct["reinit"]) for ch, ct in zip(chains, ctrls)],
              f"random mask, same init, {n} chains":
                  [[ch[0]] + list(ct["random mask"]) for ch, ct in zip(chains, ctrls)]}
    df = long_table(groups)
    palette = {g: color(i) for i, g in enumerate(groups)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    dense = df[df.density == 100].groupby("chain").acc.first().mean()
    axes[0].axhspan(dense - P.match_tol, dense + P.match_tol, color="grey", alpha=0.2,
                    label=f"dense (mean) ± {P.match_tol} pp")
    _means_with_dots(df, "acc", axes[0], palette)
    # an early-stopping iteration at the end of training is only a lower bound (the network
    # was still improving), so no interval that runs past it: the median and the range
    _means_with_dots(df, "iteration", axes[1], palette, estimator="median",
                     errorbar=("pi", 100))
    last = lottery.end_iteration(chains[0][0].run)
    axes[1].axhline(last, color="grey", ls=":", lw=1,
                    label=f"end of training ({last:,}): still improving")
    axes[0].set(ylabel="test accuracy at early stop (%)", title="Test accuracy vs sparsity")
    axes[1].set(ylabel="iteration of minimum validation loss",
                title="Early-stopping iteration vs sparsity (median, range)")
    return _finish(fig, axes)


def resnet(P, reset, rewind, reinit):
    """Figure 2: final test accuracy of the ResNet's reset, rewound and re-initialized
    subnetworks against sparsity: every seed (dots) and the mean over seeds with its 95% t
    interval."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups = {f"{name}, {len(chains)} seeds": chains
              for name, chains in lottery.resnet_curves(P, reset, rewind, reinit).items()}
    df = long_table(groups)
    d = df[df.density == 100].groupby("chain").final_acc.first().mean()
    ax.axhspan(d - P.match_tol, d + P.match_tol, color="grey", alpha=0.2,
               label=f"dense (mean) ± {P.match_tol} pp")
    _means_with_dots(df, "final_acc", ax, {g: color(i) for i, g in enumerate(groups)})
    ax.set(ylabel="final test accuracy (%)",
           title=f"{models.display_name(P.rn_model)} (width {P.rn_width:g}): reset vs rewind")
    return _finish(fig, [ax])


def widths(P, wchains):
    """Figure 3: the tickets of several widths against sparsity, absolute and relative to each
    chain's own dense accuracy: every chain (dots) and the mean over a width's chains with its
    95% t interval."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    groups = {f"width {w} ({lottery.n_weights(chains[0][0].run.spec):,} weights), "
              f"{len(chains)} chains": chains for w, chains in wchains.items()}
    df = long_table(groups)
    palette = {g: color(i) for i, g in enumerate(groups)}
    axes[1].axhspan(-P.match_tol, P.match_tol, color="grey", alpha=0.2,
                    label=f"± {P.match_tol} pp")
    _means_with_dots(df, "acc", axes[0], palette)
    _means_with_dots(df, "change", axes[1], palette)
    axes[0].set(ylabel="test accuracy at early stop (%)", title="Tickets at several widths")
    axes[1].set(ylabel="change from own dense accuracy (pp)",
                title="Relative to each chain's dense network")
    return _finish(fig, axes)


def _finish(fig, axes):
    """The sparsity axis and a legend on every panel; the figure."""
    for ax in axes:
        sparsity_axis(ax)
        ax.legend(fontsize=8)
    return fig


def seed_pairs(chains):
    """Figure 4: for the disjoint pairs of chains (1-2, 3-4, ...), the survivors the two
    tickets share against two random masks, and the two tickets' disagreement against the two
    dense networks'."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    if len(chains) < 2:
        for ax in axes:
            ax.text(0.5, 0.5, "one chain: nothing to compare (set seeds >= 2)",
                    ha="center", transform=ax.transAxes)
        return fig
    pv = lottery.pair_values(chains)
    for k, (i, j) in enumerate(lottery.disjoint_pairs(len(chains))):
        ov = pv["overlaps"][(i, j)]
        x, name = 100 * ov["density"], f"chains {i + 1} and {j + 1}"
        axes[0].plot(x, ov["overlap"] / ov["random"], marker="o", color=color(k), label=name)
        axes[1].plot(x, 100 * ov["disagreement"], marker="o", color=color(k),
                     label=f"tickets, {name}")
        axes[1].axhline(100 * ov["dense_disagreement"], color=color(k), ls=":",
                        label=f"dense networks, {name}")
    axes[0].axhline(1, ls="--", color="grey", label="two random masks (chance, 1x)")
    axes[0].axhline(lottery.SHARED_LINE, ls=":", color="black",
                    label=f"the claims table's line ({lottery.SHARED_LINE:g}x)")
    axes[0].set_ylim(0, max(1.15 * axes[0].get_ylim()[1], 1.2 * lottery.SHARED_LINE))
    axes[0].set(ylabel="survivors shared / chance (x)",
                title="Overlap of the masks found from two seeds")
    axes[1].set(ylabel="disagreement (% of test half)",
                title="Do two seeds' tickets compute the same function?")
    axes[1].set_ylim(0, 1.12 * axes[1].get_ylim()[1])   # headroom: the dense lines can top it
    for ax in axes:
        sparsity_axis(ax)
        ax.legend(fontsize=8)
    return fig
