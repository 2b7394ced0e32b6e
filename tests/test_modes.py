"""helpers.chapters.modes: the analyses of chapter 03 on small hand-made cases."""
import types

import numpy as np
import pytest

from helpers import config, metrics

from helpers.chapters import modes


class FakeRun:
    """The slice of runs.Run that modes uses: probs/weights by epoch, epochs, labels, spec."""

    def __init__(self, probs_by_epoch, weights_by_epoch, total_epochs):
        self._p, self._w = probs_by_epoch, weights_by_epoch
        self.epochs = sorted(probs_by_epoch)
        self.spec = types.SimpleNamespace(epochs=total_epochs, seed_init=0)

    def probs(self, e=None):
        return self._p[self.spec.epochs if e is None else e]

    def weights(self, e=None):
        return self._w[self.spec.epochs if e is None else e]


def onehot(classes, C=3):
    return np.eye(C)[classes]


def test_trajectory_and_to_final_on_a_hand_case():
    p = {0: onehot([0, 0, 0, 0]), 1: onehot([1, 1, 0, 0]), 2: onehot([1, 1, 1, 0])}
    w = {0: np.array([1.0, 0]), 1: np.array([1.0, 1]), 2: np.array([0.0, 1])}
    run = FakeRun(p, w, 2)
    d = modes.trajectory_matrix(run, metrics.disagreement)
    assert d[0, 1] == 0.5 and d[0, 2] == 0.75 and d[1, 2] == 0.25 and d[1, 1] == 0
    assert np.allclose(modes.to_final(run, metrics.disagreement), [0.75, 0.25, 0])
    assert np.allclose(modes.to_final(run, metrics.cosine_similarity, what="weights"), [0, np.sqrt(0.5), 1])
    assert modes.late_epochs(run) == [1]


def test_off_diagonal_takes_each_pair_once():
    m = np.arange(9.0).reshape(3, 3)
    assert modes.off_diagonal(m).tolist() == [1.0, 2.0, 5.0]


def test_ensemble_curve_hand_case():
    labels = np.array([0, 1])
    a = np.array([[0.9, 0.1], [0.6, 0.4]])   # right, wrong
    b = np.array([[0.4, 0.6], [0.1, 0.9]])   # wrong, right
    curve = modes.ensemble_curve([a, b], labels)
    assert curve["size"].tolist() == [1, 2]
    assert curve["acc"][0] == pytest.approx(0.5) and curve["acc_sd"][0] == pytest.approx(0.0)
    # the average [[.65,.35],[.35,.65]] is right on both
    assert curve["acc"][1] == pytest.approx(1.0)
    assert curve["nll"][1] == pytest.approx(-np.log(0.65))


def test_neighbour_purity_separates_islands_from_a_mix():
    rng = np.random.default_rng(0)
    islands = np.concatenate([rng.normal(c, 0.1, size=(5, 4)) for c in (0, 10, 20)])
    groups = np.repeat([0, 1, 2], 5)
    assert modes.neighbour_purity(islands, groups) == 1.0
    mixed = rng.normal(0, 1, size=(300, 4))
    assert modes.neighbour_purity(mixed, np.arange(300) % 3) < 0.5


def test_prediction_vectors_shape_and_tsne_runs():
    runs = [FakeRun({e: onehot([e % 3] * 4) for e in (1, 2)}, {}, 2) for _ in range(3)]
    X, who, when = modes.prediction_vectors(runs, [1, 2], n_examples=3)
    assert X.shape == (6, 9) and who.tolist() == [0, 0, 1, 1, 2, 2] and when.tolist() == [1, 2] * 3
    Y = modes.tsne(X + np.random.default_rng(0).normal(0, 0.01, X.shape))
    assert Y.shape == (6, 2)


def test_specs_vary_only_the_seeds():
    P = config.chapter_params("03_modes", "smoke")
    specs = modes.specs(P)
    assert len(specs) == P.seeds
    assert len({s.group_key() for s in specs}) == 1
    assert [s.seed_init for s in specs] == list(range(1, P.seeds + 1))
    assert all(s.seed_order == s.seed_init == s.seed_aug == s.seed_dropout for s in specs)


def test_example_subset_is_a_fixed_spread_out_choice_not_a_prefix():
    pick = modes.example_subset(1000, 100)
    assert len(set(pick.tolist())) == 100 and pick.max() > 500          # not the first 100
    assert np.array_equal(pick, modes.example_subset(1000, 100))         # fixed
    assert np.array_equal(modes.example_subset(50, None), np.arange(50))


def test_sample_purity_counts_samples_whose_nearest_checkpoint_is_their_runs():
    # two runs' checkpoints at 0 and 10; samples of run 0 near 0, one sample of run 1 strays to 0
    X = np.array([[0.0], [0.5], [10.0], [10.5], [0.2], [0.3], [9.8], [0.4]])
    who = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    kind = np.array([1, 2, 1, 2, -1, -2, -1, -3])
    assert modes.sample_purity(X, who, kind) == pytest.approx(0.75)
    assert np.isnan(modes.sample_purity(X[:4], who[:4], kind[:4]))


def test_shift_by_intensity_averages_families_per_intensity():
    rows = [dict(family="clean", intensity=0, method="a", acc=0.9)]
    rows += [dict(family=f, intensity=i, method="a", acc=0.9 - 0.1 * i - (0.02 if f == "y" else 0))
             for f in ("x", "y") for i in range(1, 6)]
    out = modes.shift_by_intensity(rows, "acc")
    np.testing.assert_allclose(out["a"], [0.9, 0.79, 0.69, 0.59, 0.49, 0.39])


def test_figure_11_intervals_are_t_intervals_over_the_families():
    from helpers import plots, stats

    rows = [dict(family="clean", intensity=0, method="independent", acc=0.9)]
    rows += [dict(family=f, intensity=i, method="independent", acc=0.9 - 0.1 * i - (0.02 if f == "y" else 0))
             for f in ("x", "y") for i in range(1, 6)]
    lo, hi = modes.shift_interval_by_intensity(rows, "acc")["independent"]
    assert np.isnan(lo[0]) and np.isnan(hi[0])                 # one clean set: no interval
    e = stats.mean_t([0.7, 0.68], unit="families")
    assert (lo[2], hi[2]) == pytest.approx((e.lo, e.hi))
    ax = plots.shift_curves(modes.shift_by_intensity(rows, "acc"), intervals={"independent": (lo, hi)})
    assert len(ax.containers) == 1 and len(ax.containers[0].lines[2][0].get_segments()) == 5
    plots.plt.close("all")


def test_subspace_study_on_a_synthetic_smoke_run():
    S = modes.subspace_study("smoke", dataset="synthetic")
    P = S.P
    assert len(S.plane) == 4 * P.plane_samples
    assert set(S.members) == set(modes.subspace.SAMPLERS)
    for s in modes.subspace.SAMPLERS:
        assert len(S.members[s]) == len(S.R) and S.tried[s] >= S.accepted(s)
        m = S.members[s][0][0]
        assert m.probs.shape == (len(S.labels), 10)
        # a sample is re-created exactly from its seed
        again = modes.subspace.evaluate(S.R[0].model(), m.vector(S), modes._eval_setup(P)[1].test_x)
        np.testing.assert_allclose(again, m.probs, atol=1e-5)
    assert len(np.intersect1d(S.val, S.test)) == 0 and len(S.val) + len(S.test) == len(S.labels)
    assert len(S.wa) == len(S.R) and len(S.mc) == P.mc_samples
    members = modes.method_members(S)
    assert all(v[0].shape == (len(S.test), 10) for v in members.values())


def test_js_per_example_averages_to_the_js_divergence():
    rng = np.random.default_rng(0)
    probs = [rng.dirichlet(np.ones(4), size=50) for _ in range(3)]
    each = modes.js_per_example(probs)
    assert each.shape == (50,) and (each >= -1e-12).all()
    assert each.mean() == pytest.approx(metrics.js_divergence(probs))
    # two one-hot members that disagree: ln 2; identical members: 0
    a, b = onehot([0, 1]), onehot([1, 1])
    np.testing.assert_allclose(modes.js_per_example([a, b]), [np.log(2), 0], atol=1e-12)


def _shift_rows(n=40, seed=0):
    """Rows of shift_study's form for two methods: 'independent' leads 'x' by 0.1 + 0.02 i."""
    rng = np.random.default_rng(seed)
    rows = []
    for fam, inten in [("clean", 0)] + [(f, i) for f in ("f", "g") for i in range(1, 6)]:
        for m, base in (("independent", 0.3 + 0.02 * inten), ("x", 0.2)):
            js = base + rng.normal(0, 0.05, n)
            rows.append(dict(family=fam, intensity=inten, method=m, js=js.mean(),
                             js_each=js, brier=1 - js.mean(), brier_each=1 - js))
    return rows


def test_shift_per_example_means_are_shift_by_intensity():
    rows = _shift_rows()
    E = modes.shift_per_example(rows, "js", ["independent", "x"])
    assert E.shape == (2, 6, 40)
    by = modes.shift_by_intensity(rows, "js")
    np.testing.assert_allclose(E.mean(-1), [by["independent"], by["x"]])


def test_shift_estimate_bootstraps_images_around_the_gap():
    rows = _shift_rows()
    est = modes.shift_estimate(rows, "js", ["independent", "x"], lambda V: modes.js_gap(V).min())
    by = modes.shift_by_intensity(rows, "js")
    assert est.value == pytest.approx((by["independent"] - by["x"]).min())
    assert est.unit == "test examples" and est.n == 40
    assert est.lo < est.value < est.hi and est.lo > 0.03
    growth = modes.shift_estimate(rows, "js", ["independent", "x"],
                                  lambda V: modes.js_gap(V)[-1] - modes.js_gap(V)[0])
    assert growth.lo > 0            # a true growth of 0.1 is found on 40 images
    np.testing.assert_allclose(modes.js_gap(np.array([[1.0, 2], [0.5, 3], [0.8, 1]])),
                               [0.2, -1.0])


def test_exponent_estimate_refits_the_least_squares_exponent():
    a_star, e_true = 0.8, 0.3
    rng = np.random.default_rng(1)
    a, d = metrics.diversity_family(a_star, 10, e_true, rng.uniform(0.01, 0.5, 40))
    a, d = a + rng.normal(0, 0.005, 40), d + rng.normal(0, 0.02, 40)
    est = modes.exponent_estimate(a, d, a_star, 10)
    assert est.value == pytest.approx(metrics.fit_diversity_exponent(a, d, a_star, 10))
    assert est.unit == "subspace samples" and est.n == 40
    assert est.lo <= e_true <= est.hi and est.hi < 1


def test_gap_growth_estimate_resamples_families():
    rows = _shift_rows()
    est = modes.gap_growth_estimate(rows, ["independent", "x"])
    by = modes.shift_by_intensity(rows, "js")
    gap = by["independent"] - by["x"]
    assert est.value == pytest.approx(gap[-1] - gap[0])
    assert est.unit == "corruption families" and est.n == 2
    assert "too narrow" in est.method  # two families: a lower bound on the uncertainty
    # five families that disagree: the interval straddles zero although the mean is positive
    rows = [dict(family="clean", intensity=0, method=m, js=v)
            for m, v in (("independent", 0.3), ("x", 0.2))]
    for f, g in zip("abcde", (0.15, 0.14, 0.16, 0.02, 0.13)):
        rows += [dict(family=f, intensity=5, method="independent", js=0.2 + g),
                 dict(family=f, intensity=5, method="x", js=0.2)]
    est = modes.gap_growth_estimate(rows, ["independent", "x"])
    assert est.value == pytest.approx(0.02) and est.lo < 0 < est.hi
