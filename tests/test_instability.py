"""helpers.chapters.instability (chapter 05) and the trainer hooks it relies on, against hand-computed cases."""
import math

import numpy as np
import pytest
import torch

from helpers import models, stats, train

from helpers.chapters import instability

TINY = train.Spec(model="linear", dataset="synthetic", n_train=128, n_test=64, epochs=2, batch_size=32,
                  lr=0.01, augment=True).with_seed(1)


def test_bootstrap_sd_is_the_sample_sd_with_a_small_error():
    sd, err = instability.bootstrap_sd([1.0, 2.0, 3.0, 4.0])
    assert sd == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert 0 < err < sd
    assert instability.bootstrap_sd([5.0, 5.0, 5.0]) == (0.0, 0.0)


def test_condition_number_reproduces_the_papers_figures():
    # seed 001 §4.1: -0.0066514308 -> -0.0066514313 (one float32 ulp), accuracy 90.0 -> 90.12 %,
    # cross-entropy 0.3519 -> 0.34335; the paper: "at least 1.8e7 for cross-entropy and 2.6e8 for accuracy"
    w = np.float32(-0.0066514308)
    dx = abs(float(np.nextafter(w, np.float32(-1))) - float(w))
    assert dx == pytest.approx(4.66e-10, rel=0.01)
    assert instability.condition_number(0.3519 - 0.34335, dx) == pytest.approx(1.8e7, rel=0.05)
    assert instability.condition_number(90.12 - 90.0, dx) == pytest.approx(2.6e8, rel=0.05)


def test_variability_of_identical_models_is_zero_and_of_a_hand_case_is_known():
    labels = np.array([0, 1, 0, 1])
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    same = instability.variability([p, p, p], labels)
    assert same["acc_sd"] == 0 and same["ce_sd"] == 0 and same["disagree"] == 0
    assert same["corr"] == pytest.approx(1.0) and same["ens_gain"] == 0
    q = p.copy()
    q[2] = [0.4, 0.6]  # a second model gets example 2 wrong: accuracies 1.0 and 0.75
    two = instability.variability([p, q], labels)
    assert two["acc_sd"] == pytest.approx(np.std([1.0, 0.75], ddof=1))
    assert two["disagree"] == pytest.approx(0.25)
    assert two["ens_gain"] == pytest.approx(1.0 - 0.875)  # the average (0.5, 0.5) ties -> argmax 0, right


def test_bitflip_moves_one_weight_of_the_first_layer_by_one_ulp():
    spec = TINY.replace(perturb="bitflip:7:-1")
    a = models.first_layer_weight(train.init_model(TINY))[1].view(-1)
    b = models.first_layer_weight(train.init_model(spec))[1].view(-1)
    assert (a != b).sum() == 1 and b[7] < a[7]
    assert b[7] == torch.nextafter(a[7], torch.tensor(-math.inf))
    assert instability.perturbation_size(spec) == pytest.approx(float((a[7] - b[7]).detach()))
    with pytest.raises(ValueError, match="bitflip"):
        train.validate(TINY.replace(perturb="flip:7"))
    with pytest.raises(ValueError, match="range"):
        train.init_model(TINY.replace(perturb="bitflip:99999:+1"))


def test_source_specs_vary_only_their_source():
    base = TINY
    init = instability.source_specs(base, "init", 3, cudnn=False)
    assert [s.seed_init for s in init] == [1, 2, 3] and {s.seed_order for s in init} == {1}
    combo = instability.source_specs(base, "order+aug", 2, cudnn=False)
    assert [(s.seed_order, s.seed_aug, s.seed_init) for s in combo] == [(1, 1, 1), (2, 2, 1)]
    assert instability.source_specs(base, "cudnn", 3, cudnn=False) is None
    gpu = instability.source_specs(base, "cudnn", 3, cudnn=True)
    assert len(set(gpu)) == 3 and all(not s.deterministic for s in gpu)
    flips = instability.source_specs(base, "bitflip", 4, cudnn=False)
    assert len({s.perturb for s in flips}) == 4 and {s.seed_init for s in flips} == {1}
    assert [s.perturb[-2:] for s in flips] == ["+1", "-1", "+1", "-1"]  # up and down in turn
    control = instability.source_specs(base, "control", 3, cudnn=False)
    assert len(set(control)) == 3 and all(s.replace(replica=0) == base for s in control)


def test_a_longer_list_of_bit_flips_starts_with_the_shorter_one():
    short, long = instability.bitflips(TINY, 4, seed=7), instability.bitflips(TINY, 12, seed=7)
    assert long[:4] == short and len(set(long)) == 12
    assert instability.bitflips(TINY, 4, seed=8) != short


def test_table_3s_sd_rows_extend_table_1s_rows_without_training_them_twice():
    from helpers import config, cost
    P = config.chapter_params("05_instability", "smoke", sd_seeds=5)
    with cost.recording("cpu"):
        _, G = instability.main_runs.uncached(P)
    for s in ("init", "bitflip"):
        row, extended = [r.spec for r in G[s]], [r.spec for r in G[f"{s}_sd"]]
        assert len(row) == P.seeds and len(extended) == 5 and extended[:P.seeds] == row
        assert len(set(extended)) == 5
    assert [s.seed_init for s in (r.spec for r in G["init_sd"])] == [1, 2, 3, 4, 5]
    flips = [r.spec for r in G["bitflip_sd"]]
    assert {s.seed_init for s in flips} == {1} and len({s.perturb for s in flips}) == 5
    assert instability.sd_runs(G) == 5
    design = instability.sd_design(P, G)
    assert "5 runs in each of the two rows (the first 3 are Table 1's)" in design
    assert f"{stats.sd_equivalence_power(5, 5):.0%} of the time" in design
    # fewer sd_seeds than R: the rows' own R runs, nothing added
    with cost.recording("cpu"):
        _, G = instability.main_runs.uncached(config.chapter_params("05_instability", "smoke",
                                                                   sd_seeds=2))
    assert len(G["init_sd"]) == len(G["init"]) == 3 and "Table 1's" not in instability.sd_design(P, G)


def test_defaults_of_the_new_fields_keep_existing_cache_keys():
    from helpers import runs
    spec = train.Spec(model="smallcnn", epochs=3)
    assert runs.spec_key(spec, "x") == runs.spec_key(spec.replace(perturb="", onset=0, replica=0), "x")
    assert runs.spec_key(spec, "x") != runs.spec_key(spec.replace(replica=1), "x")


def test_replicas_train_together_and_identically():
    a, b = train.fit([TINY.replace(replica=1), TINY.replace(replica=2)])
    assert all(torch.equal(a.states[2][n], b.states[2][n]) for n in a.states[2])


def test_onset_shares_the_first_epochs_then_diverges():
    specs = [TINY.replace(model="fc1", onset=1, seed_order=s, seed_aug=s, save_epochs=(1,)) for s in (1, 2)]
    a, b = train.fit(specs)
    assert all(torch.equal(a.states[1][n], b.states[1][n]) for n in a.states[1])   # same first epoch
    assert not all(torch.equal(a.states[2][n], b.states[2][n]) for n in a.states[2])  # then apart


def test_cyclic_schedule_restarts_every_cycle():
    s = train.Spec(lr=1.0, epochs=4, schedule="cyclic", milestones=(2,))
    assert train.lr_at(s, 0, 10) == 1.0 and train.lr_at(s, 20, 10) == 1.0
    assert train.lr_at(s, 10, 10) == pytest.approx(0.5) and train.lr_at(s, 19, 10) < 0.01
    with pytest.raises(ValueError, match="milestones"):
        train.validate(s.replace(milestones=()))


def test_layer_features_of_a_resnet_are_the_six_layers_of_fig1():
    net = models.build("resnet14", width=0.25).eval()
    feats = models.layer_features(net, torch.randn(3, 3, 32, 32))
    assert list(feats) == ["conv1", "stage1", "stage2", "stage3", "pool", "logits"]
    x = torch.randn(3, 3, 32, 32)
    assert torch.allclose(models.layer_features(net, x)["logits"], net(x), atol=1e-5)


def test_divergence_and_vanilla_ensembles():
    ens = instability.vanilla_ensembles([np.eye(2)[[0, 1]], np.eye(2)[[1, 1]], np.eye(2)[[0, 0]]], 2, 10)
    assert len(ens) == 3 and np.allclose(ens[0], [[0.5, 0.5], [0, 1]])
    from helpers import runs
    ref, flip = runs.get([TINY.replace(save_epochs=(0, 1, 2)),
                          TINY.replace(save_epochs=(0, 1, 2), perturb="bitflip:3:+1")], progress=False)
    d = instability.divergence(ref, [flip])
    assert list(d["epochs"]) == [0, 1, 2]
    assert 0 < d["weight_dist"][0, 0] < 1e-6  # one ulp apart at initialization
    assert d["weight_dist"][0, -1] < 1e-3      # a linear model stays on its trajectory



# --------------------------------------------------------------------------------------------
# what the notebook shows (helpers.chapters.instability's report functions, plots.instability)


def _fake_run(probs, labels, spec=None):
    from types import SimpleNamespace
    return SimpleNamespace(probs=lambda epoch=None: probs, logits=lambda epoch=None: np.log(probs),
                           labels=labels, spec=spec, accuracy=float(np.mean(probs.argmax(1) == labels)))


def _fake_rows():
    """Three 'sources' of three runs on 6 examples: 'init' diverse, 'bitflip' nearly not."""
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 0, 1, 2])

    def runs(noise):
        return tuple(_fake_run(np.clip(np.eye(3)[labels] + noise * rng.random((6, 3)), 1e-3, None)
                               / (1 + 3 * noise), labels) for _ in range(3))
    return {"init": runs(2.0), "order": runs(1.5), "bitflip": runs(0.3)}


def test_least_diverse_names_every_metric_where_the_bit_change_is_lowest():
    G = _fake_rows()
    rows = {s: instability.run_row(G[s]) for s in G}
    # by hand: bitflip ties order at no disagreement and has the highest correlation, but init's
    # ensemble gain is lower (a loss)
    assert rows["bitflip"]["disagree"] == rows["order"]["disagree"] < rows["init"]["disagree"]
    assert rows["bitflip"]["corr"] > max(rows["order"]["corr"], rows["init"]["corr"])
    assert rows["init"]["ens_gain"] < rows["bitflip"]["ens_gain"]
    words = instability.least_diverse(G, ["init", "order", "bitflip"])
    assert words == "disagreement and correlation"
    assert instability.least_diverse(G, ["init", "order"]) == ""


def test_overlap_sentence_says_whether_the_intervals_share_a_value():
    from helpers import stats
    e = lambda v, lo, hi: stats.Estimate(v, lo, hi)  # noqa: E731
    share = {n: dict(acc_sd=e(1, 0.5, 2), ce_sd=e(1, 0.5, 2), disagree=e(40, 35, 45))
             for n in ("A", "B")}
    assert instability.overlap_sentence(share).count("share a common value") == 3
    apart = dict(share, C=dict(acc_sd=e(5, 3, 9), ce_sd=e(1, 0.5, 2), disagree=e(40, 35, 45)))
    text = instability.overlap_sentence(apart)
    assert "accuracy SD: C's interval lies wholly above A's" in text
    assert text.count("share a common value") == 2


def test_chapter_figures_are_titled_labelled_and_returned():
    import matplotlib
    matplotlib.use("Agg")
    from helpers import plots, stats
    from helpers.plots import instability as figs

    plots.style()
    e = lambda v: stats.Estimate(v, 0.8 * v, 1.2 * v)  # noqa: E731
    intervals = {n: dict(acc=np.array([40.0, 41, 43]), bitflip=n == "bit", acc_sd=e(1.5),
                         ce_sd=e(0.02), disagree=e(40.0)) for n in ("init", "bit")}
    cka = {"init": {"block1": e(0.8), "logits": e(0.9)},
           "Random bit change": {"block1": e(0.85), "logits": e(0.95)}}
    div = dict(epochs=np.array([0, 1, 2]), acc_gap=np.full((2, 3), 0.01),
               disagree=np.full((2, 3), 0.1), weight_dist=np.array([[1e-9, 1, 2], [1e-9, 2, 3]]),
               ce_gap=np.full((2, 3), 0.01))
    onset = {n: dict(acc_sd=e(1.0), ce_sd=e(0.01), disagree=e(30.0)) for n in (0, 1, 3)}
    made = [figs.sources_figure(intervals), figs.cka_figure(cka, 100),
            figs.divergence_figure(div, stats.Estimate(0.4, 0.3, 1.7)),
            figs.depth_figure({"linear": div, "fc1": div}), figs.onset_figure(onset)]
    for fig in made:
        assert isinstance(fig, matplotlib.figure.Figure)
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel()
        assert fig.axes[0].get_ylabel() and any(ax.get_legend() for ax in fig.axes)
    # the new initialization's band (interval 30-170 %) is cut at 100 %
    assert made[2].axes[1].get_ylim()[1] < 110


def test_no_other_line_of_figure_2_shares_the_bit_changes_hue():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.colors import to_hex

    from helpers import plots, stats
    from helpers.plots import instability as figs

    e = lambda v: stats.Estimate(v, 0.9 * v, min(1.0, 1.1 * v))  # noqa: E731
    names = [instability.SOURCE_NAMES[s] for s in
             ("init", "order", "aug", "dropout", "all", "control", "bitflip")]
    fig = figs.cka_figure({n: {"block1": e(0.8), "logits": e(0.9)} for n in names}, 100)
    colours = {c.get_label(): to_hex(c.lines[0].get_color()) for c in fig.axes[0].containers}
    assert colours["Random bit change"] == to_hex(plots.color(figs.BIT))
    others = [c for n, c in colours.items() if n != "Random bit change"]
    assert len(others) == 6 and len(set(others)) == 6
    assert not {to_hex(plots.color(1)), to_hex(plots.color(figs.BIT))} & set(others)  # no orange


def test_snapshot_printout_and_reading_name_the_mean_of_the_cyclic_runs():
    from types import SimpleNamespace
    labels = np.array([0, 1, 0, 1])
    right, wrong = np.eye(2)[labels] * 0.8 + 0.1, np.eye(2)[1 - labels] * 0.8 + 0.1

    def run(p, epochs=(0, 1, 2)):
        return SimpleNamespace(probs=lambda epoch=None: p, logits=lambda epoch=None: np.log(p),
                               labels=labels, epochs=list(epochs),
                               accuracy=float(np.mean(p.argmax(1) == labels)))
    half = right.copy()
    half[:2] = wrong[:2]                      # accuracy 0.5
    S = (run(half), run(half))                # cyclic runs: 50%, snapshot ensembles 50%
    pool = (run(right), run(right), run(half), run(right))   # standard: 100% for the first 2
    acc = instability.snapshot_accuracies(S, pool)
    assert acc == dict(cyclic=50.0, snapshot=50.0, standard=100.0)
    text = instability.snapshot_report(S, pool)
    assert "mean final accuracy of the 2 cyclic runs 50.00%" in text
    assert "of the pool's first 2 (standard) runs 100.00%" in text
    assert "single cyclic-run" not in text
    P = SimpleNamespace(seeds=2)
    r = instability.snapshot_reading(P, S, pool)["t5_reading"]
    assert "the mean final accuracy of the 2 cyclic runs is 50.00%, below the 100.00%" in r
    assert "the snapshot ensemble itself (50.00%) is less accurate than a single standard run" in r


def test_the_linear_models_cross_entropy_sd_is_set_against_rounding():
    ce = np.array([1.5, 1.5 + 2e-7, 1.5 - 2e-7, 1.5])
    note = instability.rounding_note(ce)
    floor = 1.5 * 2.0 ** -24
    assert f"is {floor:.1e}, so this SD is {np.std(ce, ddof=1) / floor:.1f} times" in note
    assert "(1.50)" in note
