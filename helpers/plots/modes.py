"""Chapter 03's figures (modes): one function per figure, each returning its figure.

The shared kinds (heatmaps, t-SNE trajectories, method curves, the diversity plane) live in
:mod:`helpers.plots`; the functions here lay out the chapter's panels, take the chapter's runs
or studies (:mod:`helpers.chapters.modes`) and compute what they draw with the chapter module's
own functions, so a notebook cell shows a figure with one call. Spreads are drawn with the
chapter's intervals (:mod:`helpers.stats`): a t interval over runs, or a bootstrap that
resamples runs for a mean over pairs of runs.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .. import metrics, stats, subspace
from ..chapters import modes as _m
from . import (METHOD_STYLE, color, diversity_plane, heatmap, method_curves, seed_colors,
               shift_curves, tsne_trajectories, tsne_with_samples)

# the shared kinds that only this chapter draws, under the chapter's namespace too
__all__ = ["seed_matrices", "trajectory_matrices", "to_final_curves", "within_vs_across",
           "tsne_runs", "tsne_samples", "ensembles", "plane", "method_panels", "shift_panels",
           "mc_dropout", "intervals_strip", "tsne_trajectories", "tsne_with_samples",
           "diversity_plane", "method_curves", "shift_curves"]


def _seed_names(R) -> list[str]:
    return [str(r.spec.seed_init) for r in R]


def seed_matrices(R):
    """Figure 2 (Fort et al. Fig 3): disagreement (%) and weight cosine between the final
    models of every pair of seeds, side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    names = _seed_names(R)
    heatmap(100 * _m.cross_seed_matrix(R, metrics.disagreement), names,
            "Disagreement between seeds (final models)", "disagreement (% of test set)",
            ax=axes[0], fmt="{:.1f}", axis_label="seed")
    heatmap(_m.cross_seed_matrix(R, metrics.cosine_similarity, what="weights"), names,
            "Weight-space cosine similarity between seeds", "cosine similarity",
            ax=axes[1], vmin=0, vmax=1, axis_label="seed")
    return fig


def trajectory_matrices(run, epochs):
    """Figure 3 (Fort et al. Fig 2a-b): disagreement (%) and weight cosine between the kept
    checkpoints of one run."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.4))
    epochs = list(epochs)
    ticks = [str(e) for e in epochs]
    seed = run.spec.seed_init
    heatmap(100 * _m.trajectory_matrix(run, metrics.disagreement, epochs), ticks,
            f"Disagreement between checkpoints (seed {seed})",
            "disagreement (% of test set)", ax=axes[0], fmt="{:.0f}", axis_label="epoch")
    heatmap(_m.trajectory_matrix(run, metrics.cosine_similarity, epochs, what="weights"),
            ticks, f"Cosine similarity between checkpoints (seed {seed})",
            "cosine similarity", ax=axes[1], vmin=0, vmax=1, axis_label="epoch")
    return fig


def to_final_curves(R):
    """Figure 4: each checkpoint against its own run's final model, one line per seed --
    disagreement (%) with the band of cross-seed disagreements, and weight cosine."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    colors = seed_colors(len(R))
    for i, r in enumerate(R):
        ep = [e for e in r.epochs if e > 0]
        kw = dict(marker="o", ms=3, color=colors[i], label=f"seed {r.spec.seed_init}")
        axes[0].plot(ep, 100 * _m.to_final(r, metrics.disagreement, ep), **kw)
        axes[1].plot(r.epochs, _m.to_final(r, metrics.cosine_similarity, what="weights"),
                     **kw)
    cross = 100 * _m.off_diagonal(_m.cross_seed_matrix(R, metrics.disagreement))
    axes[0].axhspan(cross.min(), cross.max(), color="grey", alpha=0.2,
                    label="across seeds (range)")
    axes[0].set(xlabel="epoch of the checkpoint",
                ylabel="disagreement with the final model (%)",
                title="Each checkpoint vs its own run's final model")
    axes[1].set(xlabel="epoch of the checkpoint",
                ylabel="cosine similarity with the final weights",
                title="Cosine similarity with the final weights")
    axes[0].legend(ncol=2)
    axes[1].legend(ncol=2)
    return fig


def intervals_strip(groups: dict, intervals: dict, ax=None,
                    ylabel: str = "disagreement (% of test set)", title: str = "",
                    xlabel: str = "pairs of models compared"):
    """A seaborn strip plot of several sets of values (``{label: values}``) with, in black,
    each set's mean and its 95% interval (``{label: stats.Estimate}``, made over the units
    the values rest on, which need not be the points drawn)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.6 * len(groups), 4.2))
    df = pd.DataFrame([(k, float(v)) for k, vals in groups.items() for v in vals],
                      columns=["group", "value"])
    sns.stripplot(df, x="group", y="value", hue="group", palette=[color(i) for i in
                  range(len(groups))], alpha=0.7, size=4.5, jitter=0.15, legend=False, ax=ax)
    for i, name in enumerate(groups):
        est = intervals[name]
        err = None
        if est.has_interval:
            err = [[est.value - est.lo], [est.hi - est.value]]
        ax.errorbar(i + 0.3, est.value, yerr=err, fmt="o", color="black", capsize=4, ms=5,
                    label="mean and its 95% interval" if i == 0 else None)
        ax.text(i + 0.38, est.value, f"{est.value:.1f}", va="center", fontsize=9)
    ax.set_xlim(-0.5, len(groups) - 0.2)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(loc="upper left")
    return ax


def within_vs_across(R):
    """Figure 5: every late-checkpoint-to-final disagreement of every run against every
    final-to-final disagreement between runs, each with its mean and 95% interval (a t
    interval over the runs' own means; a bootstrap resampling runs for the pairs)."""
    within = [100 * _m.to_final(r, metrics.disagreement, _m.late_epochs(r)) for r in R]
    dis = 100 * _m.cross_seed_matrix(R, metrics.disagreement)
    names = ("within a trajectory\n(late checkpoint vs final)",
             "across seeds\n(final vs final)")
    groups = {names[0]: np.concatenate(within), names[1]: _m.off_diagonal(dis)}
    ivals = {names[0]: stats.mean_t([w.mean() for w in within]),
             names[1]: stats.pairwise(dis)}
    return intervals_strip(groups, ivals,
                           title="Disagreement: within a trajectory vs across seeds").figure


def tsne_runs(Y, who, when, R, n_examples: int):
    """Figure 6 (Fort et al. Fig 2c): the t-SNE of every run's checkpoints."""
    n = min(n_examples, len(R[0].labels))
    return tsne_trajectories(Y, who, when,
                             labels=[f"seed {r.spec.seed_init}" for r in R],
                             title=f"t-SNE of softmax outputs on {n} test images").figure


def tsne_samples(Y, who, kind, S):
    """Figure 8 (Fort et al. Fig 4): trajectories of the first runs with their samples."""
    runs = S.R[:int(who.max()) + 1]
    n = min(S.P.tsne_examples, len(S.labels))
    return tsne_with_samples(Y, who, kind, labels=[f"seed {r.spec.seed_init}" for r in runs],
                             title=f"t-SNE of trajectories and subspace samples ({n} test "
                             "images)").figure


def ensembles(curve, single_acc):
    """Figure 7: accuracy and NLL of ensembles of m independent runs (spread over subsets)."""
    from . import ensemble_curve

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ensemble_curve(curve, single_acc, ax=axes[0], title="Accuracy of deep ensembles")
    axes[1].errorbar(curve["size"], curve["nll"], yerr=curve["nll_sd"], marker="o",
                     capsize=3, color=color(1), label="ensemble (mean over subsets)")
    axes[1].set(xlabel="ensemble size (independent runs)", ylabel="test NLL (nats)",
                title="Negative log-likelihood", xticks=curve["size"])
    axes[1].legend()
    return fig


def plane(S):
    """Figure 9 (Fort et al. Fig 6): the diversity-accuracy plane around the first run, with
    Appendix D's limits and the fitted D.3 family."""
    pl = _m.plane_summary(S)
    fa, fd = metrics.diversity_family(pl.a_star, 10, pl.e)
    return diversity_plane(pl.points, pl.a_star, metrics.diversity_limits(pl.a_star, 10),
                           family=(fa, fd, pl.e),
                           title=f"Diversity vs accuracy around seed "
                           f"{S.R[0].spec.seed_init} ({S.P.model})").figure


def method_panels(curves: dict):
    """Figure 10 (Fort et al. Fig 8): accuracy and Brier score against ensemble size, one line
    per method (``curves``: :func:`helpers.chapters.modes.method_curves`)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    method_curves(curves, "acc", ax=axes[0], title="Accuracy")
    method_curves(curves, "brier", ax=axes[1], ylabel="Brier score (lower is better)",
                  scale=1.0, title="Brier score")
    axes[1].legend(fontsize=7.5)
    return fig


def shift_panels(rows: list[dict]):
    """Figure 11 (Fort et al. Fig 9): accuracy, Brier score and the members' JS divergence
    against corruption intensity, averaged over the families (``rows``: shift_study), with 95%
    t intervals over the families as error bars."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    iv = {k: _m.shift_interval_by_intensity(rows, k) for k in ("acc", "brier", "js")}
    shift_curves(_m.shift_by_intensity(rows, "acc"), ax=axes[0], intervals=iv["acc"],
                 ylabel="accuracy of the members' average (%)", scale=100, title="Accuracy")
    shift_curves(_m.shift_by_intensity(rows, "brier"), ax=axes[1], intervals=iv["brier"],
                 ylabel="Brier score (lower is better)", title="Brier score")
    js = {k: v for k, v in _m.shift_by_intensity(rows, "js").items() if k != "single"}
    shift_curves(js, ax=axes[2], intervals=iv["js"], title="Diversity of the members",
                 ylabel="Jensen-Shannon divergence between members (nats)")
    axes[0].legend(fontsize=7.5)
    return fig


def mc_dropout(S):
    """Figure 12: disagreement (%) between MC-dropout passes of the first run, between each
    pass and the network, between late checkpoints and the final model, and between runs,
    each with its mean and 95% interval. None when the model has no dropout."""
    if not S.mc:
        return None
    R, r0 = S.R, S.R[0].probs()
    mc = 100 * stats.pair_matrix(metrics.disagreement, S.mc)
    dis = 100 * _m.cross_seed_matrix(R, metrics.disagreement)
    to_net = np.array([100 * metrics.disagreement(p, r0) for p in S.mc])
    within = 100 * _m.to_final(R[0], metrics.disagreement, _m.late_epochs(R[0]))
    names = ("MC dropout\n(pass vs pass)", "MC dropout\n(pass vs network)",
             "trajectory\n(late vs final)", "across seeds\n(final vs final)")
    groups = dict(zip(names, (_m.off_diagonal(mc), to_net, within, _m.off_diagonal(dis))))
    ivals = dict(zip(names, (stats.pairwise(mc, n_resamples=1000),
                             stats.mean_t(to_net, unit="passes"),
                             stats.point(within.mean(), "one run"), stats.pairwise(dis))))
    title = f"MC dropout (p = {S.P.dropout}) among the other pairs of models"
    return intervals_strip(groups, ivals, title=title).figure
