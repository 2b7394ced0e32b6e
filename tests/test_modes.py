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


def test_sample_reach_is_the_distance_to_the_own_optimum_over_the_gap_to_the_next():
    X = np.array([[0.0, 0], [1, 0], [0, 0], [0, 4], [1.5, 0], [0, 3]])
    who = np.array([0, 0, 1, 1, 0, 1])
    kind = np.array([1, 2, 1, 2, -1, -2])       # last checkpoints: (1, 0) and (0, 4)
    gap = np.hypot(1, 4)
    assert modes.sample_reach(X, who, kind) == pytest.approx([0.5 / gap, 1 / gap])
    assert len(modes.sample_reach(X[:4], who[:4], kind[:4])) == 0   # no samples


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


# ---- the page's prose (captions and the closing section, glued into the page)


def test_epochs_text_joins_runs_of_consecutive_epochs():
    assert modes.epochs_text([30]) == "30"
    assert modes.epochs_text([39, 20, 30, 35, 36, 37, 38]) == "20, 30 and 35-39"
    assert modes.epoch_range(2, 2) == "epoch 2" and modes.epoch_range(10, 40) == "epochs 10-40"


def _two_runs():
    """Two runs of 4 epochs on 20 two-class examples whose final models disagree on half of them
    (the band is 50-50%): epoch 1 disagrees with its own final model on 80-90% (above the band),
    epoch 2 on 40-50% (reaching into it), epoch 3 on 0-5% (below it, and within 5%)."""
    final_a, final_b = np.zeros(20, int), np.r_[np.ones(10, int), np.zeros(10, int)]

    def flip(y, k):   # y with its first k labels flipped
        z = y.copy()
        z[:k] = 1 - z[:k]
        return z

    def run(final, ks):
        p = {0: onehot(final, 2), 4: onehot(final, 2)}
        p.update({e: onehot(flip(final, k), 2) for e, k in zip((1, 2, 3), ks)})
        return FakeRun(p, {e: np.ones(2) for e in p}, 4)
    return [run(final_a, (16, 10, 1)), run(final_b, (18, 8, 0))]


def test_epoch_levels_place_each_epoch_against_the_band_of_cross_seed_disagreement():
    R = _two_runs()
    L = modes.epoch_levels(R)
    assert L["band"] == (50.0, 50.0)
    assert (L["above"], L["inside"], L["below"], L["low"]) == ([1], [2], [3], [3])
    text = modes.figure4_reading(R)
    assert "band: 50.0-50.0%" in text and "stay below the band from epoch 3 on" in text
    assert "those of epoch 2 reach into it" in text and "those of epoch 1 lie above it" in text


def test_figure10_reading_sorts_the_methods_against_the_plain_ensemble():
    base = dict(acc=[0.80, 0.85], brier=[0.30, 0.25])
    curves = {"independent": base,
              "WA": dict(acc=[0.79, 0.84], brier=[0.31, 0.26]),       # worse at every m
              "random": dict(acc=[0.81, 0.86], brier=[0.29, 0.24]),   # better at every m
              "diag": dict(acc=[0.81, 0.84], brier=[0.29, 0.26])}     # mixed
    from helpers import plots
    text = modes.figure10_reading(curves)
    label = lambda k: plots.METHOD_STYLE[k]["label"]   # noqa: E731
    assert f"{label('WA')} scores worse than the plain ensemble at every $m$" in text
    assert f"{label('random')} scores better at every $m$ in both" in text
    assert f"{label('diag')} is better at some sizes" in text


def _facts(**kw):
    base = dict(profile="gpu", model="resnet20", variant="cifar10-jpeg", runs=16, epochs=40,
                schedule="cosine", optimizer="sgd", warmup=2, dropout=0.0, acc_mean=87.6,
                acc_sd=0.23, ensemble_acc=90.3,
                levels=dict(band=(10.2, 11.9), below=[35, 36, 37, 38, 39], inside=[30],
                            above=[1, 2, 3, 5, 10, 20], low=[36, 37, 38, 39]),
                lr_share={e: 0.5 for e in (1, 2, 3, 5, 10, 20, 30, 35, 36, 37, 38, 39)},
                purity_late=0.56, late_from=10, samples_near=60, m1_opt=87.75,
                m1_avg=(87.0, 87.1), wa_acc=86.8,
                swag_epochs=(35, 36, 37, 38, 39, 40), share=(0.48, 0.47, 0.50), batchnorm=True)
    base.update(kw)
    return modes.Facts(**base)


PREFIXES = (modes.ACC, modes.SD, modes.DIS, modes.WITHIN, modes.RATIO, modes.COS, modes.LATE_COS,
            modes.ISLAND, modes.ENSEMBLE, modes.SMALL, modes.NEAR, modes.PLANE, modes.UPPER,
            modes.D3, modes.SECOND, modes.COMPLEMENT, modes.WA, modes.JS, modes.JS_GROWS,
            modes.BRIER, modes.MC, modes.MC_RATIO)


def _table(verdict, untestable=()):
    from helpers import claims, stats
    est = {"holds": stats.Estimate(0.3, 0.2, 0.4, "t", 3, "runs"),
           "differs": stats.Estimate(-0.3, -0.4, -0.2, "t", 3, "runs"),
           "inconclusive": stats.Estimate(0.05, -0.1, 0.2, "t", 3, "runs")}[verdict]
    T = claims.ClaimsTable("03_modes", "gpu", "cifar10-jpeg")
    for p in PREFIXES:
        T.add("source", f"{p}: a row", "1", est, claims.above(0), fmt="{:+.2f}",
              testable=p not in untestable)
    return T


@pytest.mark.parametrize("verdict", ["holds", "differs", "inconclusive"])
def test_the_closing_section_has_a_sentence_for_every_verdict_of_every_row(verdict):
    """Every row the closing section reads is found by its prefix (they are the claims table's
    statements: a renamed row fails here), and each verdict's sentence formats completely."""
    P = config.chapter_params("03_modes", "gpu")
    out = modes.closing_reading(P, _table(verdict), _facts())
    assert set(out) == set(modes.CLOSING_KEYS)
    text = " ".join(out.values())
    assert "a row is " not in text and "{" not in text and "}" not in text.replace("{doc}", "")
    said = {"holds": ("these four rows hold here", "Each seed is its own island"),
            "differs": ("0 of these four rows hold, 4 differ", "so the island row differs"),
            "inconclusive": ("4 are undecided", "own island is undecided")}[verdict]
    assert all(s in text for s in said), text


def test_the_closing_section_names_what_a_small_profile_cannot_test():
    P = config.chapter_params("03_modes", "cpu")
    untestable = (modes.ACC, modes.DIS, modes.WITHIN, modes.MC)
    F = _facts(profile="cpu", model="smallcnn", dropout=0.1, batchnorm=False, epochs=20,
               levels=dict(band=(22.3, 25.2), below=[5, 7, 10, 12], inside=[3], above=[1, 2],
                           low=[]))
    out = modes.closing_reading(P, _table("holds", untestable), F)
    assert "not ResNet20v1: the rows" in out["close_scale"]
    assert "4 rows about ResNet20v1's figures are not testable" in out["close_rest"]
    assert "MC-dropout passes of one network disagree" in out["close_rest"]
    assert "the source's three runs" not in out["close_summary"]
    assert "not testable at this profile." in out["close_trajectory"]
    # the one level in the later half: it opens the list, so it names the checkpoints
    assert "mixes: the checkpoints of epochs 10 and 12 disagree with their final model less" in out["close_trajectory"]


def test_the_claims_rows_the_closing_section_reads_exist_in_the_claims_table():
    """The prefixes match the statements claims_table writes (read from its source, so that this
    runs without training)."""
    import inspect
    source = inspect.getsource(modes.claims_table).replace('"\n          "', "").replace(
        '" "', "")
    flat = " ".join(source.split())
    for p in PREFIXES:
        assert p in flat, p
