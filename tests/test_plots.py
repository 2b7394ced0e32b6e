"""helpers.plots: every figure comes with a title and labelled axes."""
import types

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

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
