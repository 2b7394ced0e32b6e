"""Chapter 04's figures (MIMO): each function takes :func:`helpers.chapters.mimo.rows` and
returns the figure, drawn in the house style of :mod:`helpers.plots`."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import stats
from . import _ax, color, mean_interval

KIND_LABEL = {"mimo": "MIMO", "naive": "naive multi-head", "ensemble": "deep ensemble"}


def _pick(table_rows, width, name) -> dict:
    from ..chapters.mimo import pick

    return pick(table_rows, width, name)


def _sd(row, key) -> float:
    """The SD of ``row[key]`` over the row's runs (``row["sd"]``; 0 with one run or none)."""
    sd = row.get("sd", {}).get(key, np.nan)
    return float(sd) if np.isfinite(sd) else 0.0


def _acc_half(row) -> float:
    """Half the width of the 95% t interval (:func:`helpers.plots.mean_interval`) of a row's
    averaged-prediction accuracy (pp) over its runs; 0 for fewer than two runs."""
    acc = [100 * r["acc"] for r in row.get("runs", [])]
    return float(mean_interval(acc)[1] - np.mean(acc)) if len(acc) > 1 else 0.0


def heads(table_rows, width, ax=None, title=None, band: float | None = None):
    """Per-head accuracies (dots) and the averaged prediction's accuracy (a short horizontal
    line: the axis does not start at zero, so no bars) of every model at one width; the dashed
    line is the M = 1 network; every value is a mean over the model's runs. ``band`` (pp): the
    half-width of the 95% interval of a network's difference from the M = 1 network
    (:func:`helpers.chapters.mimo.difference_band`), shaded around it."""
    ax = _ax(ax, (7.5, 4.0))
    sel = [r for r in table_rows if r["width"] == width]
    colour = {"mimo": color(0), "naive": color(1), "ensemble": color(2)}
    done = set()
    for i, r in enumerate(sel):
        label = KIND_LABEL[r["kind"]]
        new = r["kind"] not in done
        ax.hlines(100 * r["acc"], i - 0.32, i + 0.32, color=colour[r["kind"]], lw=3, zorder=2,
                  label=f"{label}: averaged prediction" if new else None)
        half = _acc_half(r)
        if half:   # the mean's 95% t interval over the model's runs
            ax.errorbar(i + 0.36, 100 * r["acc"], yerr=half, color=colour[r["kind"]],
                        capsize=3, lw=1, zorder=2,
                        label="95% interval of the average" if not done else None)
        ax.scatter([i] * len(r["head_acc"]), 100 * np.array(r["head_acc"]),
                   color=colour[r["kind"]], zorder=3, s=18, alpha=0.8,
                   label=f"{label}: each head / member" if new else None)
        done.add(r["kind"])
    base = 100 * _pick(table_rows, width, "MIMO M=1")["acc"]
    ax.axhline(base, color="grey", ls="--", lw=1, label="M = 1 network")
    if band is not None and np.isfinite(band):
        ax.axhspan(base - band, base + band, color="grey", alpha=0.15, lw=0,
                   label="other seeds' reach (95%)")
    lo = min(100 * min(min(r["head_acc"]), r["acc"]) for r in sel)
    hi = max(100 * max(max(r["head_acc"]), r["acc"]) for r in sel)
    if band is not None and np.isfinite(band):
        lo, hi = min(lo, base - band), max(hi, base + band)
    ax.set_ylim(lo - 2, hi + 2)
    ax.set_xticks(range(len(sel)),
                  [r["name"].replace("deep ensemble of ", "ensemble ") for r in sel])
    ax.set_xlabel("model")
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("test accuracy (%; not from 0)")
    ax.set_title(title or f"Heads and their average at width {width:g}")
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return ax.figure


def capacity(table_rows, widths, axes=None, band: float | None = None):
    """Left: the averaged prediction's accuracy minus the M = 1 network's, against the
    backbone's parameters, per model; right: D_dis against parameters, with ±1 SD over the
    model's runs where it has several. Every value is a mean over runs. ``band`` (pp): the
    half-width of the 95% interval of a network's difference from the M = 1 network
    (:func:`helpers.chapters.mimo.difference_band`), shaded around 0."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    names = sorted({r["name"] for r in table_rows if r["name"] != "MIMO M=1"},
                   key=lambda n: (n.startswith("naive"), n.startswith("deep"), n))
    base = {w: _pick(table_rows, w, "MIMO M=1") for w in widths}
    x = [base[w]["params"] for w in widths]
    have = {(r["width"], r["name"]) for r in table_rows}
    for i, name in enumerate(names):  # a model trained at some widths only is drawn there
        ws = [w for w in widths if (w, name) in have]
        sel = [_pick(table_rows, w, name) for w in ws]
        shift = 1 + 0.03 * (i - (len(names) - 1) / 2)   # side by side, not on top of each other
        xs = [base[w]["params"] * shift for w in ws]
        gain = [100 * (r["acc"] - base[w]["acc"]) for r, w in zip(sel, ws)]
        style = dict(marker="o", color=color(i), label=name,
                     ls=":" if name.startswith("deep") else "-")
        # a gain's 95% Welch interval against the M = 1 network's runs; none for a deep
        # ensemble, which is made of those very runs
        err = [0.0 if name.startswith("deep") or len(r.get("runs", [])) < 2 else
               float(stats.diff_t([100 * x["acc"] for x in r["runs"]],
                                  [100 * x["acc"] for x in base[w]["runs"]]).hi - g)
               for r, w, g in zip(sel, ws, gain)]
        axes[0].errorbar(xs, gain, yerr=err, capsize=3, **style)
        axes[1].errorbar(xs, [r["d_dis"] for r in sel], yerr=[_sd(r, "d_dis") for r in sel],
                         capsize=3, **style)
    axes[0].axhline(0, color="grey", lw=1)
    if band is not None and np.isfinite(band):
        axes[0].axhspan(-band, band, color="grey", alpha=0.15, lw=0,
                        label="95% interval of a gain\nthat other seeds could give")
    axes[0].set(xscale="log", xlabel="parameters of the M = 1 network (log scale)",
                ylabel="accuracy minus the M = 1 network's (pp)",
                title="What the extra heads buy, by capacity")
    axes[1].set(xscale="log", xlabel="parameters of the M = 1 network (log scale)",
                ylabel="D_dis (fraction of test set)", title="Diversity between heads (D_dis)")
    for ax in axes:
        ax.set_xticks(x, [f"{v / 1000:.0f}k\n(width {w:g})" for v, w in zip(x, widths)])
        ax.minorticks_off()
    for ax in axes:   # below the panels: inside, they would hide points
        ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return axes[0].figure


def _label_sides(points, min_gap: float) -> list[int]:
    """For labels next to markers ``points`` [(x, y)], a side each (+1 right, -1 left): right
    unless a label already placed on that side at the same x is within ``min_gap`` in y, then
    left (placed from the lowest y up)."""
    sides = [1] * len(points)
    placed: dict = {}
    for i in sorted(range(len(points)), key=lambda k: points[k][1]):
        x, y = points[i]
        for side in (1, -1):
            if all(abs(y - y0) >= min_gap for y0 in placed.get((x, side), [])):
                break
        else:
            side = 1
        sides[i] = side
        placed.setdefault((x, side), []).append(y)
    return sides


def cost(table_rows, ax=None):
    """The averaged prediction's accuracy against training compute (images pushed through the
    network, summed over an ensemble's members), means over runs with ±1 SD over them; marker
    area ~ inference passes, the number next to a marker is M (put on the left where another
    label at the same compute is close)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax = _ax(ax, (8.6, 4.4))
    kinds = {"mimo": ("MIMO (1 pass)", "o"), "naive": ("naive multi-head (1 pass)", "s"),
             "ensemble": ("deep ensemble (M passes)", "D")}
    widths = sorted({r["width"] for r in table_rows})
    # MIMO and the naive control cost the same: set side by side (x times this), not on top
    dodge = {"mimo": 0.95, "naive": 1.05, "ensemble": 1.0}
    labels, computes = [], set()
    for kind, (label, marker) in kinds.items():
        for j, w in enumerate(widths):
            sel = [r for r in table_rows if r["kind"] == kind and r["width"] == w]
            if not sel:  # e.g. the naive control at gpu trains at width 1 only
                continue
            xs = [dodge[kind] * r["train_images"] for r in sel]
            computes |= {r["train_images"] for r in sel}
            ax.scatter(xs, [100 * r["acc"] for r in sel],
                       marker=marker, s=[30 * r["passes"] for r in sel], color=color(j),
                       alpha=0.8, label=f"{label}, width {w:g}")
            ax.errorbar(xs, [100 * r["acc"] for r in sel],
                        yerr=[100 * _sd(r, "acc") for r in sel], fmt="none", color=color(j),
                        alpha=0.8, capsize=2, lw=1)
            labels += [(x, 100 * r["acc"], f"{r['M']}") for x, r in zip(xs, sel)]
    ys = [y for _, y, _ in labels]
    gap = 0.035 * ((max(ys) - min(ys)) or 1.0)   # about a label's height on the axis
    for (x, y, text), side in zip(labels, _label_sides([(x, y) for x, y, _ in labels], gap)):
        ax.annotate(text, (x, y), fontsize=7, xytext=(5 * side, 2), textcoords="offset points",
                    ha="left" if side > 0 else "right")
    ax.set(xscale="log", ylabel="test accuracy of the averaged prediction (%)",
           xlabel="training images processed (log scale;\nsummed over an ensemble's members)",
           title="Accuracy against training cost")
    xs = sorted(computes)   # a tick at every compute a marker sits at
    digits = next(d for d in range(4) if len({f"{x / 1000:,.{d}f}" for x in xs}) == len(xs)
                  or d == 3)                  # as many decimals as tell the ticks apart
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:,.{digits}f}k"))
    ax.set_xlim(xs[0] / 1.25, xs[-1] * 1.25)
    ax.legend(fontsize=7, ncol=1, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax.figure
