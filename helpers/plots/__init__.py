"""One house style for every figure: titles, labelled axes with units, legends, readable colours.

Each function draws one kind of figure on a given (or new) matplotlib ``Axes`` and returns it, so
a notebook cell that shows a figure is one call into ``helpers.plots``. This module holds the
house style and the kinds of figure several chapters share (heatmaps, strips, curves, tables);
each chapter's own figures are in a submodule named after its chapter module
(``helpers.plots.modes`` draws chapter 03's), importable as ``from helpers.plots import modes``
next to the chapter module of the same name, or called as ``plots.modes.figure(...)`` after
``from helpers import plots`` (the submodules are loaded on first use).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

# Okabe-Ito: distinguishable for colour-blind readers, and in greyscale by order.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

# The house style: seaborn's white grid with the book's palette, font and sizes.
RC = {
    "figure.dpi": 110, "savefig.dpi": 150, "figure.figsize": (6.4, 4.0),
    "figure.constrained_layout.use": True, "axes.spines.top": False,
    "axes.spines.right": False, "axes.titlesize": 11, "axes.titleweight": "bold",
    "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9, "font.size": 10,
    "legend.fontsize": 9, "legend.title_fontsize": 9, "legend.frameon": False,
    "lines.linewidth": 1.5, "lines.markersize": 5, "grid.linewidth": 0.6,
}


def style() -> None:
    """Apply the book's style (call once per notebook): seaborn's ``whitegrid`` theme with the
    book's palette (:data:`PALETTE`) and the font sizes of :data:`RC`."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  font="DejaVu Sans", rc=RC)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def seed_colors(n: int) -> list[str]:
    """One colour for each of ``n`` runs, none repeated: the book's palette while it is long
    enough, else ``n`` hues evenly spaced around seaborn's HUSL wheel."""
    if n <= len(PALETTE):
        return PALETTE[:n]
    return sns.color_palette("husl", n).as_hex()


def _ax(ax, figsize=None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """``(lo, hi)``: Student's t interval of the mean of independent values (the book's
    :func:`helpers.stats.mean_t`); the mean itself for a single value."""
    from ..stats import mean_t

    e = mean_t(values, confidence=confidence)
    return (e.value, e.value) if e.lo is None else (e.lo, e.hi)


def heatmap(matrix, ticklabels, title: str, cbar_label: str, ax=None, fmt: str = "{:.2f}",
            cmap: str = "viridis", vmin=None, vmax=None, axis_label: str = ""):
    """A square matrix (seaborn's heatmap) with its values written in the cells when it is small
    enough to read (12 rows or fewer); NaN cells are left blank."""
    ax = _ax(ax, (4.6, 4.0))
    m = np.asarray(matrix, dtype=float)
    annot = np.vectorize(fmt.format)(m) if len(m) <= 12 else False
    sns.heatmap(m, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, annot=annot, fmt="",
                annot_kws={"fontsize": 7}, square=True, linewidths=0.5, linecolor="white",
                xticklabels=list(ticklabels), yticklabels=list(ticklabels),
                cbar_kws={"label": cbar_label, "shrink": 0.85})
    ax.tick_params(axis="x", rotation=0 if len(ticklabels) < 8 else 90)
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel(axis_label)
    ax.set_ylabel(axis_label)
    ax.grid(False)
    ax.set_title(title)
    return ax


def training_curves(runs, ax=None, title: str = "Test accuracy along training, one line per seed"):
    """Test accuracy at each kept epoch of each run."""
    ax = _ax(ax)
    colors = seed_colors(len(runs))
    for i, r in enumerate(runs):
        ep = [e["epoch"] for e in r.log if e["test_acc"] is not None]
        acc = [100 * e["test_acc"] for e in r.log if e["test_acc"] is not None]
        ax.plot(ep, acc, marker="o", ms=3, color=colors[i], label=f"seed {r.spec.seed_init}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(ncol=2)
    return ax


def tsne_trajectories(Y, who, when, ax=None, labels=None,
                      title: str = "t-SNE of the checkpoints' softmax outputs"):
    """2-D t-SNE points, one colour per run, marker size growing with epoch, trajectories joined
    (``who``: each point's run, 0 to n - 1)."""
    ax = _ax(ax, (6.0, 5.0))
    colors = seed_colors(int(who.max()) + 1)
    for i in np.unique(who):
        sel = who == i
        order = np.argsort(when[sel])
        y, e = Y[sel][order], when[sel][order]
        size = 12 + 60 * (e - when.min()) / max(1, when.max() - when.min())
        ax.plot(y[:, 0], y[:, 1], color=colors[i], alpha=0.4, lw=1)
        ax.scatter(y[:, 0], y[:, 1], s=size, color=colors[i], edgecolor="white", lw=0.5,
                   label=labels[i] if labels is not None else f"run {i}")
        ax.scatter(y[-1:, 0], y[-1:, 1], s=140, marker="*", color=colors[i], edgecolor="black",
                   lw=0.6)
    ax.set_xlabel("t-SNE dimension 1 (arbitrary units)")
    ax.set_ylabel("t-SNE dimension 2 (arbitrary units)")
    ax.set_title(title)
    ax.legend(title="trajectory (star = final)", loc="best", ncol=2)
    return ax


def ensemble_curve(curve, single_acc, ax=None, title: str = "Ensembles of independently seeded runs"):
    """Accuracy of ensembles of m = 1..R members (mean +- sd over subsets)."""
    ax = _ax(ax)
    size, acc, sd = curve["size"], 100 * curve["acc"], 100 * curve["acc_sd"]
    ax.errorbar(size, acc, yerr=sd, marker="o", capsize=3, color=color(0), label="ensemble (mean over subsets)")
    ax.axhline(100 * np.mean(single_acc), color="grey", ls="--", lw=1, label="mean single model")
    ax.set_xlabel("ensemble size (independent runs)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(size)
    ax.set_title(title)
    ax.legend()
    return ax


def strips(groups: dict, ax=None, ylabel: str = "disagreement (% of test set)", title: str = "",
           xlabel: str = "pairs of models compared", interval: bool = True, colors=None,
           fmt: str = "{:.1f}"):
    """Strip plot (seaborn) of several sets of values (``{label: values}``), one colour each
    (``colors``: a list, else the palette in order), each with its mean marked and written next
    to it; with ``interval`` the mean's 95% t interval (:func:`mean_interval`) is drawn as an
    error bar -- for independent values only (runs, seeds), not for pairs of the same runs."""
    import pandas as pd

    names = list(groups)
    ax = _ax(ax, (1.6 + 1.5 * len(names), 4.0))
    df = pd.DataFrame([(n, float(v)) for n in names for v in np.ravel(groups[n])],
                      columns=["group", "value"])
    pal = list(colors) if colors is not None else [color(i) for i in range(len(names))]
    sns.stripplot(data=df, x="group", y="value", hue="group", order=names, hue_order=names,
                  palette=pal[:len(names)], jitter=0.12, alpha=0.75, size=5.5, legend=False,
                  ax=ax, zorder=1)
    means = [float(np.mean(np.ravel(groups[n]))) for n in names]
    if interval:
        sns.pointplot(data=df, x="group", y="value", order=names, estimator="mean",
                      errorbar=mean_interval, color="black", markers="_", markersize=14,
                      linestyle="none", capsize=0.15, err_kws={"linewidth": 1.5}, ax=ax,
                      zorder=3)
        ax.errorbar([], [], yerr=[], color="black", marker="_", ms=14, capsize=3, ls="none",
                    label="mean and its 95% t interval")
        ax.legend(loc="best")
    else:
        ax.hlines(means, np.arange(len(names)) - 0.25, np.arange(len(names)) + 0.25,
                  color="black", lw=2, zorder=3)
    for i, m in enumerate(means):
        ax.text(i + 0.28, m, fmt.format(m), va="center", fontsize=9)
    ax.set_xlim(-0.5, len(names) - 0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def within_vs_across(within, across, ax=None, ylabel: str = "disagreement (% of test set)",
                     title: str = "Within a trajectory vs across seeds"):
    """Strip plot of within-trajectory against cross-seed values, with their means (pairs of the
    same runs are not independent: no t interval)."""
    return strips({"within a trajectory\n(late checkpoint vs final)": within,
                   "across seeds\n(final vs final)": across}, ax=ax, ylabel=ylabel, title=title,
                  interval=False)


# samplers of helpers.subspace and the other methods of chapter 03 part 2: one colour and marker each
METHOD_STYLE = {
    "independent": dict(color="#D55E00", marker="*", label="independent runs (deep ensemble)"),
    "WA": dict(color="#000000", marker="D", label="weight average of late iterates"),
    "random": dict(color="#0072B2", marker="o", label="random direction"),
    "dropout": dict(color="#E69F00", marker="s", label="dropout on weights"),
    "diag": dict(color="#009E73", marker="^", label="diagonal Gaussian"),
    "lowrank": dict(color="#CC79A7", marker="v", label="low-rank Gaussian"),
    "MC dropout": dict(color="#56B4E9", marker="P", label="MC dropout"),
    "single": dict(color="#7F7F7F", marker="x", label="single model"),
}


def diversity_plane(points, a_star: float, limits, family=None, ax=None, classes: int = 10,
                    title: str = "Diversity versus accuracy around one optimum"):
    """Fort et al. Fig 6: per sampler, accuracy against disagreement with the reference divided
    by (1 - accuracy); independent optima as stars, the reference as a green star, the Appendix D
    limits dashed and, if given, the fitted D.3 curve ``family = (a, d, e)`` dotted."""
    ax = _ax(ax, (6.6, 4.8))
    upper, lower = limits
    lo = min([1 / classes] + [np.min(a) for a, _ in points.values() if len(a)])
    a = np.linspace(max(lo - 0.02, 1 / classes), a_star, 200)
    ax.plot(100 * a, upper(a), "k--", lw=1, label="upper limit (uncorrelated, App. D.1)")
    ax.plot(100 * a, lower(a), "k:", lw=1.3, label="lower limit (perturbed reference, App. D.2)")
    if family is not None:
        fa, fd, e = family
        ok = fa >= a.min()
        ax.plot(100 * fa[ok], fd[ok], color="grey", lw=1.5, alpha=0.8, label=f"App. D.3 family, fitted e = {e:.2f}")
    for name, (acc, nd) in points.items():
        st = METHOD_STYLE[name]
        big = name == "independent"
        ax.scatter(100 * np.asarray(acc), nd, s=170 if big else 26, marker=st["marker"], color=st["color"],
                   edgecolor="black" if big else "white", lw=0.6, zorder=3 if big else 2,
                   label=("independent optima" if big else st["label"]))
    ax.scatter([100 * a_star], [0], s=170, marker="*", color="#009E73", edgecolor="black", lw=0.6, zorder=4,
               label="the reference optimum")
    ax.set_xlabel("test accuracy of the sample (%)")
    ax.set_ylabel("disagreement with reference / (1 - accuracy)")
    ax.set_title(title)
    ax.legend(fontsize=7.5, loc="upper left")
    return ax


def method_curves(curves: dict, key: str = "acc", ax=None, ylabel: str = "test accuracy (%)",
                  scale: float = 100.0, title: str = ""):
    """One line per method of a quantity against ensemble size (Fort et al. Fig 8); ``curves``
    maps a method to :func:`helpers.chapters.modes.ensemble_curve` output."""
    ax = _ax(ax)
    for name, c in curves.items():
        st = METHOD_STYLE[name]
        ax.errorbar(c["size"], scale * c[key], yerr=scale * c[f"{key}_sd"], marker=st["marker"], ms=5,
                    capsize=2, color=st["color"], label=st["label"], lw=2.2 if name == "independent" else 1.3)
    ax.set_xlabel("ensemble size (independent runs; each with its own samples)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(next(iter(curves.values()))["size"])
    ax.set_title(title)
    return ax


def shift_curves(by_intensity: dict, ax=None, ylabel: str = "", scale: float = 1.0, title: str = "",
                 intervals: dict | None = None):
    """One line per method of a quantity against corruption intensity (0 = clean; Fig 9);
    ``intervals`` (``{method: (lo, hi)}``, NaN where none) are drawn as error bars, each method
    shifted a little sideways so that the bars do not hide one another."""
    ax = _ax(ax)
    n = len(by_intensity)
    for k, (name, v) in enumerate(by_intensity.items()):
        st = METHOD_STYLE[name]
        x = np.arange(len(v)) + (0.06 * (k - (n - 1) / 2) if intervals else 0.0)
        ax.plot(x, scale * np.asarray(v), marker=st["marker"], ms=5, color=st["color"],
                label=st["label"], lw=2.2 if name == "independent" else 1.3)
        if intervals and name in intervals:
            lo, hi = (scale * np.asarray(e, dtype=float) for e in intervals[name])
            mid = scale * np.asarray(v, dtype=float)
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.errorbar(x[ok], mid[ok], yerr=[mid[ok] - lo[ok], hi[ok] - mid[ok]], fmt="none",
                        ecolor=st["color"], elinewidth=0.9, capsize=2, alpha=0.7)
    ax.set_xlabel("corruption intensity (0 = clean test set)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(len(v)))
    ax.set_title(title)
    return ax


def tsne_with_samples(Y, who, kind, ax=None, labels=None,
                      title: str = "t-SNE of trajectories and subspace samples"):
    """Fort et al. Fig 4: trajectories as in :func:`tsne_trajectories` (kind >= 0 is the epoch)
    plus subspace samples (kind = -1 - sampler index) as hollow markers in their run's colour."""
    from ..subspace import SAMPLERS

    traj = kind >= 0
    ax = tsne_trajectories(Y[traj], who[traj], kind[traj], ax=ax, labels=labels, title=title)
    colors = seed_colors(int(who[traj].max()) + 1)
    for j, s in enumerate(SAMPLERS):
        sel = kind == -1 - j
        if not sel.any():
            continue
        st = METHOD_STYLE[s]
        ax.scatter(Y[sel, 0], Y[sel, 1], s=30, marker=st["marker"], facecolor="none",
                   edgecolor=[colors[i] for i in who[sel]], lw=1.1)
        ax.scatter([], [], s=30, marker=st["marker"], facecolor="none", edgecolor="grey", label=st["label"])
    ax.legend(fontsize=7.5, loc="best", ncol=2)
    return ax


class TextTable:
    """A table of text cells under ``columns``: HTML in a notebook, aligned plain text elsewhere.
    The first ``left`` columns are left-aligned (labels), the rest right-aligned (numbers)."""

    def __init__(self, columns, rows: list[list[str]], left: int = 1):
        self.columns, self.rows, self.left = tuple(columns), rows, left

    def _repr_html_(self) -> str:
        import html

        style = {True: 'style="text-align:left; padding:3px 8px"', False: 'style="text-align:right; padding:3px 8px"'}
        head = "".join(f"<th {style[i < self.left]}>{html.escape(c)}</th>" for i, c in enumerate(self.columns))
        body = "".join("<tr>" + "".join(f"<td {style[i < self.left]}>{html.escape(v)}</td>"
                                        for i, v in enumerate(r)) + "</tr>" for r in self.rows)
        return f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        widths = [max(len(c), *(len(r[i]) for r in self.rows)) for i, c in enumerate(self.columns)]
        lines = [" | ".join(c.ljust(w) for c, w in zip(self.columns, widths))]
        lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in self.rows]
        return "\n".join(lines)


_CHAPTER_FIGURES = ("loss_landscape", "lottery", "modes", "mimo", "instability")


def __getattr__(name: str):
    """``plots.modes`` and the like: a chapter's figures, imported on first use."""
    if name in _CHAPTER_FIGURES:
        import importlib

        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
