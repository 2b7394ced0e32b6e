"""Chapter 01's figures (the loss landscape): each function takes the output of one analysis of
:mod:`helpers.chapters.loss_landscape` and returns the figure, in the house style of
:mod:`helpers.plots`."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import color, mean_interval

TRAJ = ("red", "deepskyblue")  # runs 1 and 2 on the radial plane and along the tunnel


def contour(ax, g: dict, values, title: str, cbar: str, levels=12, cmap="viridis", log=False):
    """A filled contour of ``values`` over a grid's ``xs, ys`` with a labelled colour bar."""
    X, Y = np.meshgrid(g["xs"], g["ys"])
    v = np.asarray(values, dtype=float)
    if log:
        v = np.log10(np.clip(v, 1e-6, None))
    cs = ax.contourf(X, Y, v, levels=levels, cmap=cmap)
    ax.figure.colorbar(cs, ax=ax, label=cbar, shrink=0.85)
    ax.set_title(title)
    ax.grid(False)
    return cs


def _loss_pair(ax, a, line, k=0, alpha=1.0):
    """Train (circles) and test (squares) loss along one line, labelled once (``k == 0``)."""
    ax.plot(a, line["train_loss"], marker="o", color=color(0), alpha=alpha,
            label="train loss" if k == 0 else None)
    ax.plot(a, line["test_loss"], marker="s", color=color(1), alpha=alpha,
            label="test loss" if k == 0 else None)


def lines(LN):
    """Figure 1: train and test loss along the straight lines of
    :func:`helpers.chapters.loss_landscape.lines` (init -> solution, independent pairs,
    children)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    a = LN["init"]["alpha"]
    inits = LN["inits"]
    for k, line in enumerate(inits):
        _loss_pair(axes[0], a, line, k, alpha=1 if k == 0 else 0.35)
    axes[0].set(title=f"Initialization → solution ({len(inits)} runs)",
                xlabel="α (0 = initialization, 1 = solution)", ylabel="cross-entropy (nats)")
    pairs = LN["independent"]
    for k, line in enumerate(pairs):
        _loss_pair(axes[1], a, line, k, alpha=1 if k == 0 else 0.35)
    axes[1].set(title=f"Independent solutions ({len(pairs)} pairs)", xlabel="α (0 = run i, 1 = run j)")
    kids = LN["children"]
    for k, line in enumerate(kids):
        _loss_pair(axes[2], a, line, k, alpha=1 if k == 0 else 0.5)
    axes[2].set(title=f"Two children of one parent ({len(kids)} parents)",
                xlabel="α (0 = child 1, 1 = child 2)")
    for ax in axes:
        ax.legend()
    return fig


def soups(LN):
    """Figure 2: test accuracy of each pair's members (mean), weight average and prediction
    ensemble (:func:`helpers.chapters.loss_landscape.pair_rows`)."""
    from ..chapters.loss_landscape import pair_rows

    names, rows = zip(*pair_rows(LN))
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(10, 0.5 * len(names)), 3.8))
    bars = (("mean_acc", "the two members (mean)", 7), ("soup_acc", "weight average (soup)", 3),
            ("ens_acc", "prediction ensemble", 2))
    for k, (key, label, c) in enumerate(bars):
        ax.bar(x + 0.27 * (k - 1), [100 * r[key] for r in rows], 0.27, label=label,
               color=color(c))
    ax.axhline(10, color="grey", ls=":", label="chance (10 classes)")
    ax.set(xticks=x, ylabel="test accuracy (%)", xlabel="pair of networks",
           title="Averaging weights vs averaging predictions")
    ax.set_xticklabels(names, rotation=45 if len(names) > 8 else 0, ha="right" if len(names) > 8 else "center")
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def radial(RP):
    """Figure 3: test accuracy and agreement with each optimum on the plane through the origin
    and two optima, with both trajectories projected onto it."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    contour(axes[0], RP, 100 * RP["test_acc"], "Test accuracy", "test accuracy (%)")
    for i, ax in enumerate(axes[1:], 1):
        contour(ax, RP, 100 * RP[f"agree{i}"], f"Agreement with optimum {i}",
                f"same prediction as optimum {i} (%)", cmap="magma",
                levels=np.linspace(0, 100, 11))   # a percentage: no level above 100
    for ax in axes:
        for i, tr in enumerate(RP["traj"]):
            ax.plot(tr[:, 0], tr[:, 1], marker=".", color=TRAJ[i],
                    label=f"run {i + 1}'s checkpoints")
        ax.plot([1, 0], [0, 1], "w*", ms=12, mec="k", label="optima")
        ax.set(xlabel="a (coefficient of optimum 1)", ylabel="b (coefficient of optimum 2)")
    axes[0].legend(fontsize=7, loc="upper right")
    return fig


def tunnel(TU):
    """Figure 4: loss along the straight line and the trained Bezier curve (left); along the
    curve, test accuracy and agreement with each end (right). The first pair of runs in full;
    the other pairs' curves and lines (training loss) faint on the left."""
    c, line = TU["curve"], TU["line"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for k, other in enumerate(TU["tunnels"][1:]):
        axes[0].plot(other["line"]["alpha"], other["line"]["train_loss"], color=color(7), alpha=0.35,
                     label="other pairs: line, train loss" if k == 0 else None)
        axes[0].plot(other["curve"]["alpha"], other["curve"]["train_loss"], color=color(0),
                     alpha=0.35, label="other pairs: curve, train loss" if k == 0 else None)
    axes[0].plot(line["alpha"], line["train_loss"], marker="o", color=color(7),
                 label="straight line: train loss")
    axes[0].plot(c["alpha"], c["train_loss"], marker="o", color=color(0),
                 label="Bezier curve: train loss")
    axes[0].plot(c["alpha"], c["test_loss"], marker="s", color=color(1),
                 label="Bezier curve: test loss")
    along = "t (0 = optimum 1, 1 = optimum 2; α on the line)"
    axes[0].set(xlabel=along, ylabel="cross-entropy (nats)",
                title="Loss along the line and the curve")
    for i in range(2):
        axes[1].plot(c["alpha"], 100 * c[f"agree{i}"], marker="o", color=TRAJ[i],
                     label=f"agreement with optimum {i + 1}")
    axes[1].plot(c["alpha"], 100 * c["test_acc"], marker="s", color=color(2),
                 label="test accuracy (curve)")
    axes[1].plot(line["alpha"], 100 * line["test_acc"], ls="--", color=color(7),
                 label="test accuracy (straight line)")
    axes[1].set(xlabel=along, ylabel="% of test images",
                title="Along the curve: accuracy and agreement")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def _seeds(ax, ws, values, c, interval: bool):
    """One dot per seed at each width, and the mean over seeds joined across widths, with its
    95% t interval (``interval``) or without."""
    for w, v in zip(ws, values):
        ax.scatter([w] * len(v), v, color=c, alpha=0.6, s=22, zorder=2)
    means = [float(np.mean(v)) for v in values]
    if interval:
        lo, hi = np.array([mean_interval(v) for v in values]).T
        ax.errorbar(ws, means, yerr=[np.subtract(means, lo), np.subtract(hi, means)], color=c,
                    marker="o", capsize=3, zorder=3, label="mean and its 95% t interval")
    else:
        ax.plot(ws, means, color=c, marker="o", zorder=3, label="mean over seeds")


def _pairs(ax, ws, matrices, c):
    """One dot per pair of seeds at each width, and the mean over pairs with its 95% interval
    from a bootstrap over runs (:func:`helpers.stats.pairwise`)."""
    from .. import stats

    means, lo, hi = [], [], []
    for w, m in zip(ws, matrices):
        v = m[np.triu_indices(len(m), 1)]
        ax.scatter([w] * len(v), v, color=c, alpha=0.6, s=22, zorder=2)
        est = stats.pairwise(m, n_resamples=1000)
        means.append(est.value)
        lo.append(est.lo if est.has_interval else est.value)
        hi.append(est.hi if est.has_interval else est.value)
    ax.errorbar(ws, means, yerr=[np.subtract(means, lo), np.subtract(hi, means)], color=c,
                marker="o", capsize=3, zorder=3,
                label="mean over pairs, 95% bootstrap over runs")


def width_sweep(WS, model: str):
    """Figure 5: per width, the final training loss and the sharpness of every seed (mean with
    its 95% t interval), and the barrier between every pair of seeds (mean with its 95%
    bootstrap interval over runs); ``model`` is named as the prose names it."""
    from ..models import display_name

    rows = {w: r for w, r in WS["rows"].items() if w != "compare"}
    ws = np.array(sorted(rows))
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    _seeds(axes[0], ws, [rows[w]["train_loss"] for w in ws], color(0), interval=True)
    _pairs(axes[1], ws, [rows[w]["barrier_m"] for w in ws], color(1))
    _seeds(axes[2], ws, [rows[w]["sharpness"] for w in ws], color(3),
           interval=min(len(rows[w]["sharpness"]) for w in ws) > 1)
    axes[0].set(ylabel="final training loss (nats)", title="Training loss (dots: seeds)")
    axes[1].set(ylabel="barrier on the line (nats)",
                title="Barrier between independent runs (dots: pairs)")
    axes[2].set(ylabel="top Hessian eigenvalue", title="Sharpness (dots: seeds)")
    for ax in axes:
        ax.set(xscale="log", xlabel=f"width multiplier of {display_name(model)}", xticks=ws,
               xticklabels=[f"{w:g}" for w in ws])
        ax.minorticks_off()
        ax.legend(fontsize=8)
    return fig


def slices(WS):
    """Figure 6: training loss on 2D filter-normalized slices through each solution (star),
    one colour scale for all panels (losses above the 90th percentile clipped; levels at round
    numbers)."""
    from matplotlib.ticker import MaxNLocator

    S = WS["slices"]
    fig, axes = plt.subplots(1, len(S), figsize=(4.6 * len(S), 4))
    top = max(float(np.percentile(g["train_loss"], 90)) for g in S.values())
    bottom = min(float(g["train_loss"].min()) for g in S.values())
    levels = MaxNLocator(12, steps=[1, 2, 5, 10]).tick_values(bottom, top)
    top = float(levels[-1])
    for ax, (name, g) in zip(np.atleast_1d(axes), S.items()):
        contour(ax, g, np.minimum(g["train_loss"], top), name, "training loss (nats)",
                levels=levels)
        ax.plot(0, 0, "w*", ms=12, mec="k")
        ax.set(xlabel="filter-normalized direction 1", ylabel="filter-normalized direction 2")
    return fig


def saddles(SD):
    """Figure 7: the extreme Hessian eigenvalues along training and their ratio (left); the
    Lanczos spectral density at the first and last checkpoint, with their Ritz values as ticks
    along the bottom, where outliers of little weight show even below the density's limit
    (right)."""
    from ..landscape import spectral_density

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    ax = axes[0]
    ax.plot(SD["epochs"], SD["lam_max"], marker="o", color=color(3), label="λ_max (most positive)")
    ax.plot(SD["epochs"], SD["lam_min"], marker="o", color=color(0), label="λ_min (most negative)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="epoch", ylabel="Hessian eigenvalue",
           title="Extreme curvature along training (run 1)")
    ax.set_yscale("symlog", linthresh=0.1)
    ax2 = ax.twinx()
    ax2.plot(SD["epochs"], 100 * SD["ratio"], ls="--", color="black",
             label="|λ_min| / λ_max (right axis)")
    ax2.set_ylabel("|λ_min| / λ_max (%)")
    ax2.grid(False)
    others = SD["runs"][1:]
    for k, r in enumerate(others):
        es = sorted(r["lam"])
        ax.scatter(es, [r["lam"][e][1] for e in es], marker="^", facecolors="none",
                   edgecolors=color(3), label="other runs: λ_max" if k == 0 else None)
        ax.scatter(es, [r["lam"][e][0] for e in es], marker="v", facecolors="none",
                   edgecolors=color(0), label="other runs: λ_min" if k == 0 else None)
    if others:
        ax.set_title(f"Extreme curvature along training (run 1; runs 2-{len(others) + 1} at "
                     "init, smallest gradient, end)", fontsize=9)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8)
    lo = min(r.min() for r in SD["ritz"])
    hi = max(r.max() for r in SD["ritz"])
    xs = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 600)
    rug = axes[1].get_xaxis_transform()   # x in data, y as a fraction of the panel's height
    for k, i in enumerate((0, len(SD["epochs"]) - 1)):
        density = spectral_density(SD["ritz"][i], SD["weights"][i], xs, sigma=0.02 * (hi - lo))
        axes[1].semilogy(xs, np.maximum(density, 1e-6), color=color(0 if i == 0 else 3),
                         label=f"epoch {SD['epochs'][i]}")
        axes[1].plot(SD["ritz"][i], np.full(len(SD["ritz"][i]), 0.03 + 0.05 * k), "|", ms=9,
                     color=color(0 if i == 0 else 3), transform=rug,
                     label=f"epoch {SD['epochs'][i]}: Ritz values")
    axes[1].set(xlabel="Hessian eigenvalue", ylabel="spectral density (log)",
                title="Lanczos spectral density")
    axes[1].set_ylim(bottom=1e-4)
    axes[1].legend()
    return fig


def unit_variance(UV, models, gains):
    """Figure 8: activation RMS through depth at initialization, one panel per architecture
    (``models``), one line per initialization gain (``gains``; 1 is He's)."""
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.8), sharey=True)
    for ax, m in zip(np.atleast_1d(axes), models):
        for i, g in enumerate(gains):
            s = UV[(m, g)]["scales"]
            ax.semilogy(np.arange(len(s)), s, marker=".", color=color(i),
                        label=f"gain {g:g}" + (" (He)" if g == 1 else ""))
        ax.set(title=m, xlabel="layer (0 = stem)")
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("activation RMS at initialization (log)")
    return fig


def flat_minima(FM):
    """Figure 9: test accuracy against sharpness (left) and against the log-volume proxy
    (right), one dot per run coloured by batch size (seaborn)."""
    import pandas as pd
    import seaborn as sns

    df = pd.DataFrame(FM["rows"]).assign(acc=lambda d: 100 * d["test_acc"],
                                         batch=lambda d: [f"batch {b}" for b in d["batch"]])
    batches = sorted(set(r["batch"] for r in FM["rows"]))
    order = [f"batch {b}" for b in batches]
    pal = [color(i) for i in range(len(order))]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, x in zip(axes, ("sharpness", "log_volume")):
        sns.scatterplot(data=df, x=x, y="acc", hue="batch", hue_order=order, palette=pal, s=50,
                        ax=ax)
        ax.legend(fontsize=8, title=None)
    axes[0].set(xlabel="sharpness: top Hessian eigenvalue", ylabel="test accuracy (%)",
                title="Sharpness vs accuracy")
    axes[1].set(xlabel=f"log-volume proxy: −½ Σ log λ over the top {FM['top_k']}",
                ylabel="test accuracy (%)", title="Volume proxy vs accuracy")
    return fig
