"""helpers.plots: the house style, and every figure comes with a title and labelled axes."""
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats as st  # noqa: E402

from helpers import plots  # noqa: E402


def labelled(ax):
    return bool(ax.get_title()) and bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_every_plot_is_titled_and_labelled():
    plots.style()
    m = np.array([[0, 0.1], [0.1, 0]])
    assert labelled(plots.heatmap(m, ["1", "2"], "t", "c", axis_label="seed"))
    run = types.SimpleNamespace(log=[dict(epoch=1, test_acc=0.5), dict(epoch=2, test_acc=None)],
                                spec=types.SimpleNamespace(seed_init=1))
    assert labelled(plots.training_curves([run]))
    Y = np.random.default_rng(0).normal(size=(4, 2))
    assert labelled(plots.tsne_trajectories(Y, np.array([0, 0, 1, 1]), np.array([1, 2, 1, 2])))
    curve = dict(size=np.array([1, 2]), acc=np.array([0.5, 0.6]), acc_sd=np.array([0.01, 0.0]))
    ax = plots.ensemble_curve(curve, [0.5, 0.5])
    assert labelled(ax) and ax.get_legend() is not None
    assert labelled(plots.within_vs_across([1, 2], [10, 11]))
    plt.close("all")


def test_seed_colors_never_repeat_and_keep_the_palette_while_it_lasts():
    assert plots.seed_colors(3) == plots.PALETTE[:3]
    for n in (len(plots.PALETTE) + 1, 16):
        assert len(set(plots.seed_colors(n))) == n
    Y = np.random.default_rng(0).normal(size=(32, 2))
    who = np.repeat(np.arange(16), 2)
    ax = plots.tsne_trajectories(Y, who, np.tile([1, 2], 16))
    stars = [c for c in ax.collections if c.get_sizes()[0] == 140]
    assert len({matplotlib.colors.to_hex(c.get_facecolor()[0]) for c in stars}) == 16
    plt.close("all")


def test_the_style_is_seaborns_theme_with_the_books_palette():
    plots.style()
    rc = matplotlib.rcParams
    cycle = [matplotlib.colors.to_hex(c["color"]) for c in rc["axes.prop_cycle"]]
    assert cycle[:len(plots.PALETTE)] == [c.lower() for c in plots.PALETTE]
    assert rc["axes.titlesize"] == plots.RC["axes.titlesize"] and rc["axes.grid"]
    assert not rc["axes.spines.top"] and plots.color(len(plots.PALETTE)) == plots.PALETTE[0]


def test_heatmap_writes_its_values_and_labels_its_colour_bar():
    m = np.array([[np.nan, 12.345], [12.345, np.nan]])
    ax = plots.heatmap(m, ["a", "b"], "Disagreement", "disagreement (%)", fmt="{:.1f}",
                       axis_label="seed")
    assert sorted(t.get_text() for t in ax.texts) == ["12.3", "12.3"]  # NaN cells left blank
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert ax.collections[0].colorbar.ax.get_ylabel() == "disagreement (%)"
    big = plots.heatmap(np.eye(13), [str(i) for i in range(13)], "t", "c", axis_label="epoch")
    assert not big.texts  # too many cells to write in
    plt.close("all")


def test_strips_draw_each_mean_with_its_95_percent_t_interval():
    vals = {"a": [1.0, 2.0, 3.0, 2.5], "b": [5.0, 6.0, 5.5]}
    ax = plots.strips(vals, title="Per-run values", ylabel="accuracy (%)", xlabel="group")
    assert labelled(ax) and ax.get_legend() is not None
    assert "95%" in ax.get_legend().get_texts()[0].get_text()
    drawn = [line.get_xydata() for line in ax.lines]  # error bars: (x, y) with NaN breaks
    for x, v in enumerate(vals.values()):
        h = st.t.ppf(0.975, len(v) - 1) * np.std(v, ddof=1) / np.sqrt(len(v))
        want = [np.mean(v) - h, np.mean(v) + h]
        spans = [[y[x_ == x].min(), y[x_ == x].max()] for x_, y in (d.T for d in drawn)
                 if (x_ == x).sum() >= 2]
        assert any(s == pytest.approx(want) for s in spans), f"no interval drawn for group {x}"
    assert plots.mean_interval([4.0]) == (4.0, 4.0)  # one value: no interval
    none = plots.strips(vals, title="t", interval=False)
    assert none.get_legend() is None
    plt.close("all")
