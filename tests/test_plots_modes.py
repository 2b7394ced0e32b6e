"""helpers.plots.modes (chapter 03's figures) and the sentences the chapter prints, on the
synthetic smoke study: every panel titled and labelled, every text with its numbers."""
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plots, stats  # noqa: E402
from helpers.chapters import modes  # noqa: E402


@pytest.fixture(scope="module")
def study():
    plots.style()
    return modes.subspace_study("smoke", dataset="synthetic")


@pytest.fixture(scope="module")
def plane_study():
    """A study-like object for the plane: three runs of about 70% accuracy, and per sampler
    samples around the first run that flip ever more of its predictions."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 400)

    def flip(pred, share):
        out = pred.copy()
        k = rng.random(len(out)) < share
        out[k] = rng.integers(0, 10, k.sum())
        return np.eye(10)[out]

    runs = [types.SimpleNamespace(probs=lambda e=None, p=flip(y, 0.33): p,
                                  spec=types.SimpleNamespace(seed_init=i + 1))
            for i in range(3)]
    ref = runs[0].probs().argmax(1)
    plane = [types.SimpleNamespace(sampler=s, probs=flip(ref, t))
             for s in modes.subspace.SAMPLERS for t in (0.05, 0.1, 0.2, 0.4)]
    return types.SimpleNamespace(R=runs, labels=y, plane=plane,
                                 P=types.SimpleNamespace(model="smallcnn"))


def labelled(fig):
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    return all(a.get_title() and a.get_xlabel() and a.get_ylabel() for a in axes)


def test_part1_figures_are_titled_and_labelled(study):
    S, R = study, study.R
    figs = [plots.modes.seed_matrices(R), plots.modes.to_final_curves(R),
            plots.modes.trajectory_matrices(R[0], S.P.save_epochs),
            plots.modes.within_vs_across(R)]
    curve = modes.ensemble_curve([r.probs() for r in R], R[0].labels)
    figs.append(plots.modes.ensembles(curve, [0.5] * len(R)))
    X, who, when = modes.prediction_vectors(R, [e for e in S.P.save_epochs if e > 0], 50)
    Y = np.random.default_rng(0).normal(size=(len(X), 2))
    figs.append(plots.modes.tsne_runs(Y, who, when, R, 50))
    assert all(labelled(f) for f in figs)
    assert figs[0].axes[0].get_title().startswith("Disagreement between seeds")
    plt.close("all")


def test_part2_figures_are_titled_and_labelled(study, plane_study):
    S = study
    figs = [plots.modes.plane(plane_study), plots.modes.method_panels(modes.method_curves(S)),
            plots.modes.mc_dropout(S)]
    X, who, kind = modes.tsne_with_samples(S, n_runs=2, per_sampler=2)
    figs.append(plots.modes.tsne_samples(np.zeros((len(X), 2)), who, kind, S))
    assert all(labelled(f) for f in figs)
    plt.close("all")


def test_intervals_strip_draws_the_given_interval_not_the_points_spread():
    est = {"a": stats.Estimate(2.0, 1.0, 4.0, "t"), "b": stats.point(10.0)}
    ax = plots.modes.intervals_strip({"a": [1, 2, 3], "b": [9, 10, 11]}, est, title="t")
    bars = [c for c in ax.containers if hasattr(c, "lines")]
    assert len(bars) == 2
    seg = bars[0].lines[2][0].get_segments()[0]
    assert seg[0][1] == pytest.approx(1.0) and seg[1][1] == pytest.approx(4.0)
    assert ax.get_legend() is not None
    plt.close("all")


def test_texts_quote_the_numbers_they_compute(study):
    S, R = study, study.R
    acc = [100 * modes.metrics.accuracy(r.probs(), r.labels) for r in R]
    assert f"{np.mean(acc):.2f}%" in modes.accuracy_text(R)
    assert "cross-seed disagreement: mean" in modes.cross_seed_text(R)
    assert f"{len(R)} runs" in modes.describe_runs(S.P, R)
    curves = modes.method_curves(S)
    assert len(modes.method_table(curves).rows) == len(curves)
    assert len(modes.sampler_table(S).rows) == len(modes.subspace.SAMPLERS)
    assert "pass vs pass" in modes.mc_text(S)


def test_plane_summary_and_its_text(plane_study):
    S = plane_study
    pl = modes.plane_summary(S)
    assert 0.6 < pl.a_star < 0.8 and len(pl.share) == 2 and len(pl.acc) == 16
    assert f"e = {pl.e:.2f}" in modes.plane_text(S)
    assert f"on average {100 * pl.share.mean():.0f}%" in modes.plane_text(S)
    # runs that share nothing but the labels sit near the uncorrelated limit
    assert 0.8 < pl.share.mean() < 1.2
