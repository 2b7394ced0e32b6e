"""helpers.chapters.lottery: early stopping, matching extent, seed overlap, and a tiny IMP chain end to end."""
import types

import numpy as np
import pytest
import torch

from helpers import pruning, train

from helpers.chapters import lottery


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "data"))


class FakeRun:
    def __init__(self, probs_by_epoch, labels, spec):
        self._p, self.labels, self.spec = probs_by_epoch, labels, spec
        self.epochs = self.logit_epochs = sorted(probs_by_epoch)

    def probs(self, e=None):
        return self._p[max(self.epochs) if e is None else e]


def onehot(classes, C=2, p=0.9):
    out = np.full((len(classes), C), (1 - p) / (C - 1))
    out[np.arange(len(classes)), classes] = p
    return out


def test_early_stop_picks_minimum_validation_loss_and_reports_test_half():
    labels = np.array([0, 0, 1, 1])  # positions 0, 2 validate; 1, 3 test
    spec = types.SimpleNamespace(n_train=100, batch_size=10, epochs=3)
    p = {0: onehot([1, 1, 0, 0]),
         1: onehot([0, 1, 1, 0]),     # validation right (0, 1), test both wrong
         2: onehot([1, 0, 0, 1]),     # validation wrong, test right
         3: onehot([0, 0, 1, 1])}     # all right but less confident on validation
    p[3][[0, 2]] = [[0.6, 0.4], [0.4, 0.6]]
    es = lottery.early_stop(FakeRun(p, labels, spec))
    assert es["epoch"] == 1 and es["iteration"] == 10      # 100 // 10 steps per epoch
    assert es["acc"] == 0.0 and es["final_acc"] == 1.0


def test_matching_extent_stops_at_the_first_failure():
    density = np.array([1.0, 0.5, 0.25, 0.125, 0.06])
    acc = np.array([60.0, 61.0, 59.0, 55.0, 59.5])
    assert lottery.matching_extent(density, acc, 60.0, 1.5) == 0.25   # 0.06 matches again, but after a failure
    assert lottery.matching_extent(density, acc, 60.0, 0.5) == 0.5
    assert lottery.matching_extent(density[:1], acc[:1], 70.0, 1.0) == 1.0


def test_seed_overlap_on_hand_masks():
    labels = np.array([0, 1, 0, 1])
    spec = types.SimpleNamespace(n_train=10, batch_size=5, epochs=1)
    run = lambda cls: FakeRun({1: onehot(cls)}, labels, spec)  # noqa: E731
    a = [lottery.Round(0, 1.0, None, run([0, 1, 0, 1])),
         lottery.Round(1, 0.5, {"w": torch.tensor([True, True, False, False])}, run([0, 1, 0, 0]))]
    b = [lottery.Round(0, 1.0, None, run([0, 0, 0, 0])),
         lottery.Round(1, 0.5, {"w": torch.tensor([True, False, True, False])}, run([0, 1, 0, 1]))]
    ov = lottery.seed_overlap(a, b)
    assert ov["overlap"].tolist() == [0.5] and ov["random"].tolist() == [0.5]
    assert ov["disagreement"].tolist() == [0.5]    # test positions 1, 3: (1 vs 1), (0 vs 1)
    assert ov["dense_disagreement"] == 1.0         # (1 vs 0), (1 vs 0)


def test_imp_chain_and_controls_on_synthetic_data():
    P = types.SimpleNamespace(model="conv2", width=0.0625, dataset="synthetic", n_train=64, n_test=32, epochs=1,
                              batch_size=32, optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0,
                              schedule="const", warmup_epochs=0, augment=False, es_points=1, precision="fp32",
                              deterministic=True)
    base = lottery.spec_from(P, seed=1)
    chain = lottery.imp(base, 2, dict(conv=0.2, fc=0.5, output=0.2), "layer", "reset")
    assert [rd.round for rd in chain] == [0, 1, 2]
    assert chain[1].density > chain[2].density > 0
    # round 2's mask is contained in round 1's, and pruned weights are zero in the trained run
    assert all(torch.all(chain[1].mask[n] | ~chain[2].mask[n]) for n in chain[2].mask)
    assert lottery.zero_fraction_kept(chain[2]) == 1.0
    # reset: round 2 starts from the masked original initialization
    init = train.init_model(base).state_dict()
    # (a pruned round keeps its final weights only: its start is what the trainer builds from its spec)
    assert chain[2].run.epochs == [1] and chain[2].run.logit_epochs == [1]
    s0 = train.init_model(chain[2].run.spec).state_dict()
    assert all(torch.equal(s0[n], init[n] * m) for n, m in chain[2].mask.items())
    ctrl = lottery.controls(chain)
    re, rm = ctrl["reinit"][1], ctrl["random mask"][1]
    assert re.run.spec.seed_init == 1 + lottery.REINIT_OFFSET and re.run.spec.mask == chain[2].run.spec.mask
    assert pruning.layer_density(rm.mask) == pytest.approx(pruning.layer_density(chain[2].mask))
    assert pruning.overlap(rm.mask, chain[2].mask) < 1.0
    # rewinding starts from the dense run's epoch-1 weights, masked, and trains the epochs
    # after it (as long as the dense run trained in all)
    rb = base.replace(epochs=2, save_epochs=(1,))
    rw = lottery.imp(rb, 1, 0.5, "global", "rewind", rewind_epoch=1)
    s0 = train.init_model(rw[1].run.spec).state_dict()
    e1 = rw[0].run.state(1)
    assert all(torch.equal(s0[n], e1[n] * m) for n, m in rw[1].mask.items())
    assert rw[1].run.spec.start_epoch == 1 and [e["epoch"] for e in rw[1].run.log] == [2]
    # its fresh-init control trains from scratch, all the epochs
    (fresh,) = lottery.control_specs(rw)[0]
    assert fresh.start_epoch == 0 and not fresh.init_from and fresh.epochs == 2


def test_chains_in_lockstep_are_the_chains_alone(monkeypatch):
    from helpers import runs

    P = types.SimpleNamespace(model="conv2", width=0.0625, dataset="synthetic", n_train=64, n_test=32, epochs=1,
                              batch_size=32, optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0,
                              schedule="const", warmup_epochs=0, augment=False, es_points=1, precision="fp32",
                              deterministic=True)
    P.epochs = 2   # rewinding to epoch 1 leaves one to train
    a, b = (lottery.spec_from(P, seed=s).replace(save_epochs=(1,)) for s in (1, 2))
    calls, real = [], runs.get
    monkeypatch.setattr(runs, "get", lambda specs, **kw: calls.append(len(specs)) or real(specs, **kw))
    both = lottery.imp_chains([(a, "reset"), (b, "rewind")], 2, 0.5, "global", rewind_epoch=1)
    assert calls == [2, 2, 2]                      # the dense runs, then each round of both chains at once
    alone = lottery.imp(b, 2, 0.5, "global", "rewind", rewind_epoch=1)
    assert [rd.run.key for rd in alone] == [rd.run.key for rd in both[1]]   # same masks, same starts
    assert [rd.density for rd in alone] == [rd.density for rd in both[1]]
    assert calls[3:] == [1, 1, 1]
    together = lottery.controls_of(both)           # both chains' controls: one call
    assert calls[6:] == [8]                        # 2 chains x 2 rounds x (reinit, random mask)
    for chain, ctrl in zip(both, together):
        reinit, rand = lottery.control_specs(chain)   # what each chain's controls are alone
        variant = chain[0].run.variant
        assert [rd.run.key for rd in ctrl["reinit"]] == [runs.spec_key(s, variant) for s in reinit]
        assert [rd.run.key for rd in ctrl["random mask"]] == [runs.spec_key(s, variant) for s in rand]
        assert [rd.round for rd in ctrl["reinit"]] == [rd.round for rd in ctrl["random mask"]] == [1, 2]


def test_kept_epochs_are_evenly_spaced_and_include_the_start():
    assert lottery.kept_epochs(8, 8) == tuple(range(9))
    assert lottery.kept_epochs(24, 12) == (0,) + tuple(range(2, 25, 2))
    assert lottery.kept_epochs(3, 10) == (0, 1, 2, 3)


# ----------------------------------------------------------------------------------------------
# intervals over seeds (issue 15): per-chain values, disjoint pairs, the seed rule


class R:
    """A stand-in round for chain_values: its density, accuracy and early-stop iteration."""
    def __init__(self, d, acc, it):
        self.density, self.acc, self.it = d, acc, it


def fake_curve(rounds):
    return dict(density=np.array([r.density for r in rounds]), acc=np.array([r.acc for r in rounds]),
                iteration=np.array([r.it for r in rounds]), final_acc=np.array([r.acc for r in rounds]))


def test_chain_values_by_hand(monkeypatch):
    monkeypatch.setattr(lottery, "curve", fake_curve)
    chain = [R(1.0, 0.50, 300), R(0.5, 0.51, 200), R(0.15, 0.495, 300), R(0.05, 0.48, 400)]
    ctrl = {"reinit": [R(0.5, 0.45, 0), R(0.15, 0.40, 0), R(0.05, 0.35, 0)]}
    v = lottery.chain_values(chain, ctrl, tol=1.5)
    assert v["dense"] == pytest.approx(50.0)
    assert v["sparse_gap"] == pytest.approx((-0.5 - 2.0) / 2)     # rounds with <= 20% left
    assert v["extent"] == 0.15                                     # 48.0 < 50 - 1.5 stops it
    assert v["speedup"] == pytest.approx(np.median([300 / 200, 300 / 300]))
    assert v["gain"] == pytest.approx(1.0)                         # matching rounds > 20% left
    assert v["reinit"] == pytest.approx((9.5 + 13.0) / 2)
    # a chain without controls gets NaN there, and a mean over chains skips it
    V = lottery.per_chain([chain, chain], [ctrl], tol=1.5)
    assert V["reinit"][0] == pytest.approx(11.25) and np.isnan(V["reinit"][1])
    assert lottery.stats.mean_t(V["reinit"], "chains").n == 1


def test_disjoint_pairs_are_independent_units():
    assert lottery.disjoint_pairs(4) == [(0, 1), (2, 3)]
    assert lottery.disjoint_pairs(5) == [(0, 1), (2, 3)]
    assert lottery.disjoint_pairs(1) == []


def test_seed_rule_keeps_single_runs_out_of_holds_and_differs():
    from helpers import claims, stats

    T = claims.ClaimsTable(lottery.CHAPTER, "cpu", "synthetic")
    one_run = stats.per_example(np.mean, np.r_[np.ones(90), np.zeros(10)])   # ~0.9, narrow
    r = lottery.seed_row(T, "s", "single", "e", one_run, claims.above(0.5))
    assert r.verdict == claims.INCONCLUSIVE and "single runs" in r.note
    r = lottery.seed_row(T, "s", "single, differs", "e", one_run, claims.below(0.5), note="n")
    assert r.verdict == claims.INCONCLUSIVE and r.note.startswith("n; kept inconclusive")
    chains = stats.mean_t([0.9, 0.92, 0.88, 0.91], "chains")
    assert lottery.seed_row(T, "s", "chains", "e", chains, claims.above(0.5)).verdict == claims.HOLDS
    assert lottery.seed_row(T, "s", "chains", "e", chains, claims.below(0.5)).verdict == claims.DIFFERS
    flat = stats.mean_t([1.0, 1.0, 1.0], "chains")          # no spread: a zero-width interval
    r = lottery.seed_row(T, "s", "flat", "e", flat, claims.above(1.0))
    assert r.verdict == claims.INCONCLUSIVE and "no width" in r.note
    lone = lottery.pairs_jackknife({(0, 1): 1.4}, 2)         # one pair: no interval
    r = lottery.seed_row(T, "s", "lone", "e", lone, claims.above(1.0))
    assert r.verdict == claims.INCONCLUSIVE and "missing" in r.note
    # an undecided row stays as it is
    wide = stats.mean_t([0.2, 0.9], "chains")
    assert lottery.seed_row(T, "s", "wide", "e", wide, claims.above(0.5)).verdict == claims.INCONCLUSIVE


def test_plots_t95_is_the_t_interval_over_chains():
    from helpers.plots import lottery as figs

    lo, hi = figs.t95([1.0, 2.0, 3.0])
    est = lottery.stats.mean_t([1.0, 2.0, 3.0], "chains")
    assert (lo, hi) == (est.lo, est.hi)
    assert figs.t95([2.0]) == (2.0, 2.0)


def test_pairs_jackknife_by_hand():
    from scipy import stats as st

    est = lottery.pairs_jackknife({(0, 1): 1.0, (0, 2): 2.0, (1, 2): 3.0}, 3)
    # leave chain 0 out: pair 1-2 (3.0); chain 1: 0-2 (2.0); chain 2: 0-1 (1.0)
    se = np.sqrt(2 / 3 * ((3 - 2) ** 2 + 0 + (1 - 2) ** 2))
    assert est.value == 2.0 and est.unit == "chains" and est.n == 3
    assert est.hi - est.value == pytest.approx(st.t.ppf(0.975, 2) * se)
    same = lottery.pairs_jackknife({(0, 1): 1.0, (0, 2): 1.0, (1, 2): 1.0}, 3)
    assert same.lo == same.hi == 1.0


# ----------------------------------------------------------------------------------------------
# the glued sentences: each branch is the data's


def test_disagreement_parts_by_hand():
    labels = np.array([0, 1, 2, 0, 1])
    a = np.eye(3)[[0, 1, 0, 1, 2]]      # right, right, wrong, wrong, wrong
    b = np.eye(3)[[0, 2, 1, 1, 1]]      # right, wrong, wrong, wrong, right
    p = lottery.disagreement_parts(a, b, labels)
    # differ at 1 (one right), 2 (both wrong, 0 vs 1), 4 (one right); 3: both wrong, alike
    assert p["total"] == pytest.approx(3 / 5) and p["both_wrong"] == pytest.approx(1 / 5)
    assert p["one_right"] == pytest.approx(2 / 5) and p["either_wrong"] == pytest.approx(4 / 5)
    assert p["acc"] == pytest.approx((2 / 5 + 2 / 5) / 2)


def test_seed_overlap_splits_the_dense_disagreement():
    labels = np.array([0, 1, 0, 1])
    spec = types.SimpleNamespace(n_train=10, batch_size=5, epochs=1)
    run = lambda cls: FakeRun({1: onehot(cls)}, labels, spec)  # noqa: E731
    m = {"w": torch.tensor([True, False])}
    a = [lottery.Round(0, 1.0, None, run([0, 1, 0, 1])),
         lottery.Round(1, 0.5, m, run([0, 1, 0, 1]))]
    b = [lottery.Round(0, 1.0, None, run([0, 0, 0, 0])),
         lottery.Round(1, 0.5, m, run([0, 1, 0, 1]))]
    dp = lottery.seed_overlap(a, b)["dense_parts"]   # test positions 1, 3: a right, b wrong
    assert dp["total"] == 1.0 and dp["both_wrong"] == 0.0 and dp["acc"] == 0.5


def test_end_sentence_counts_the_points_at_the_last_iteration():
    text = lottery.end_sentence(
        {"pruned-ticket": [np.array([330, 264]), np.array([396, 264])],
         "fresh-init control": [np.array([528, 528]), np.array([396, 528])]}, 528)
    assert "iteration 528, the last evaluated" in text and "still falling" in text
    assert "none of the 4 pruned-ticket points and 3 of the 4 fresh-init control points" in text


def test_truncation_reading_reads_the_last_kept_epoch(monkeypatch):
    monkeypatch.setattr(lottery, "curve", fake_curve)
    spec = types.SimpleNamespace(n_train=600, batch_size=60)
    dense = R(1.0, 0.5, 30)
    dense.run = types.SimpleNamespace(logit_epochs=[1, 2, 3], spec=spec)
    chains = [[dense, R(0.5, 0.5, 30), R(0.25, 0.5, 20)]]
    ctrls = [{"reinit": [R(0.5, 0.4, 30), R(0.25, 0.4, 20)],
              "random mask": [R(0.5, 0.4, 10), R(0.25, 0.4, 20)]}]
    text = lottery.truncation_reading(chains, ctrls)["fig1_end"]
    assert "iteration 30," in text                                    # 3 epochs of 10 steps
    assert ("1 of the 2 pruned-ticket points, 1 of the 2 fresh-init control points and none of "
            "the 2 random-mask control points sit there") in text


def test_dense_position_branches():
    every = lottery.dense_position(29.3, {"reset": [33.2, 38.8], "rewound": [36.1, 35.0],
                                          "fresh init": [30.0, 33.5]}, 9.0)
    assert every.startswith("Every pruned ResNet, even the fresh initialization") and \
        "(29.3%; pruned 30.0% to 38.8%)" in every and "under-trained" in every
    sparsest = lottery.dense_position(29.3, {"reset": [33.2, 38.8], "rewound": [36.1, 35.0],
                                             "fresh init": [28.8, 33.5]}, 9.0)
    assert sparsest.startswith("At the sparsest round (9.0% left) every pruned ResNet")
    assert "reset 38.8%, rewound 35.0%, fresh init 33.5%), and 5 of the 6" in sparsest
    assert "under-trained" in sparsest
    below = lottery.dense_position(60.0, {"reset": [55.0], "rewound": [58.0]}, 30.0)
    assert below == "Every pruned ResNet ends below the dense one (60.0%; pruned 55.0% to 58.0%)."
    mixed = lottery.dense_position(56.0, {"reset": [55.0], "rewound": [58.0]}, 30.0)
    assert mixed.startswith("The dense ResNet (56.0%) sits among the pruned ones: 1 of the 2")
    assert "under-trained" not in below + mixed


def test_width_extents_and_sentence(monkeypatch):
    monkeypatch.setattr(lottery, "curve", fake_curve)
    P = types.SimpleNamespace(match_tol=1.5)
    chain = lambda accs: [R(d, a, 0) for d, a in zip((1.0, 0.5, 0.25, 0.1), accs)]  # noqa: E731
    wchains = {0.25: (chain([0.50, 0.50, 0.49, 0.47]),),     # 2 rounds, down to 25%
               0.0625: (chain([0.40, 0.38, 0.39, 0.39]),)}   # falls at once
    ext = lottery.width_extents(P, wchains)
    assert list(ext) == [0.0625, 0.25]
    assert ext[0.0625] == [(0, 1.0, 3)] and ext[0.25] == [(2, 0.25, 3)]
    text = lottery.width_sentence(ext, 1.5)
    assert ("width 0.0625 not even at the first pruned round and width 0.25 down to 25.0% of the "
            "weights (2 of 3 rounds).") in text and "one chain per width" in text
    assert "The widest stays within the tolerance for more rounds than the narrowest, on one" in text
    assert "no further" in lottery.width_sentence({0.5: [(2, 0.3, 3)], 1: [(2, 0.29, 3)]}, 1.0)
    assert "sooner" in lottery.width_sentence({0.5: [(2, 0.3, 3)], 1: [(1, 0.6, 3)]}, 1.0)
    assert "at every round" in lottery.width_sentence({0.5: [(3, 0.1, 3)], 1: [(3, 0.1, 3)]}, 1.0)
    # several chains a width: the count of matching rounds, per chain and on average
    many = lottery.width_sentence({0.5: [(0, 1.0, 3), (1, 0.5, 3)],
                                   1: [(2, 0.25, 3), (3, 0.1, 3)]}, 1.0)
    assert many.startswith("By the section's own criterion (how many pruning rounds")
    assert ("2 chains per width), width 0.5 lasts 0.5 of 3 rounds on average (per chain: 0, 1) "
            "and width 1 lasts 2.5 of 3 rounds on average (per chain: 2, 3).") in many
    assert "for more rounds than the narrowest on average, the direction" in many
    assert "on average, so by this criterion" in lottery.width_sentence(
        {0.5: [(1, 0.5, 3), (2, 0.25, 3)], 1: [(2, 0.25, 3), (1, 0.5, 3)]}, 1.0)


def test_resnet_and_width_values_are_seed_by_seed(monkeypatch):
    """Each seed's rewound network against its own reset and fresh-init networks; each width's
    chains' change from their own dense networks."""
    monkeypatch.setattr(lottery, "curve", fake_curve)
    chain = lambda accs: tuple(R(d, a, 0) for d, a in zip((1.0, 0.3, 0.09), accs))  # noqa: E731
    reset = (chain([0.30, 0.33, 0.31]), chain([0.40, 0.41, 0.36]))
    rewind = (chain([0.30, 0.35, 0.35]), chain([0.40, 0.42, 0.41]))
    reinit = (chain([0.30, 0.31, 0.28])[1:], chain([0.40, 0.38, 0.33])[1:])
    V = lottery.resnet_values(reset, rewind, reinit)
    assert V["rewind - reset"] == pytest.approx([4.0, 5.0])
    assert V["rewind - fresh init"] == pytest.approx([7.0, 8.0])
    assert V["dense"] == pytest.approx([30.0, 40.0])
    W = lottery.width_values({0.5: (chain([0.5, 0.5, 0.45]), chain([0.6, 0.6, 0.58])),
                              0.125: (chain([0.4, 0.35, 0.30]), chain([0.5, 0.5, 0.49]))})
    assert W["drop"][0.5] == pytest.approx([-5.0, -2.0])
    assert W["drop"][0.125] == pytest.approx([-10.0, -1.0]) and list(W) == ["drop"]
    # the curves of the figure: each fresh-init chain starts at its own seed's dense run
    P = types.SimpleNamespace(rn_rewind_epoch=1)
    fresh = lottery.resnet_curves(P, reset, rewind, reinit)["rewind masks, fresh random init"]
    assert [ch[0] for ch in fresh] == [reset[0][0], reset[1][0]] and len(fresh[1]) == 3


def test_dense_position_names_the_tickets_above_dense_apart_from_the_control():
    text = lottery.dense_position(30.5, {"reset": [34.3, 33.4], "rewound": [35.9, 37.0],
                                         "fresh init": [30.0, 28.6]}, 9.0, seeds=6)
    assert text.startswith("On average over the 6 seeds, the reset and rewound tickets end above "
                           "the dense ResNet (30.5%) at every round (reset 33.4%, rewound 37.0% "
                           "at 9.0% left), and the fresh init control ends at 28.6%: ")
    assert "under-trained" in text


def test_dense_position_over_seeds_says_it_is_a_mean():
    text = lottery.dense_position(56.0, {"reset": [55.0], "rewound": [58.0]}, 30.0, seeds=6)
    assert text.startswith("On average over the 6 seeds, the dense ResNet (56.0%) sits among")
    assert "1 of the 2 pruned points (2 curves of 1 round) end above it" in text
    below = lottery.dense_position(60.0, {"reset": [55.0], "rewound": [58.0]}, 30.0, seeds=6)
    assert below.startswith("On average over the 6 seeds, every pruned ResNet ends below")


def test_disagreement_sentence_sets_the_source_aside_at_low_accuracy():
    low = lottery.disagreement_sentence(dict(acc=0.476, either_wrong=0.64, total=0.398,
                                             both_wrong=0.161, one_right=0.237))
    assert "end-of-training predictions" in low and "47.6% accuracy" in low
    assert "at least one of a pair is wrong on 64.0% of the test half, against at most 20%" in low
    assert "16.1 pp are images both get wrong" in low
    assert "not comparable with seed 000's 10%" in low
    high = lottery.disagreement_sentence(dict(acc=0.9, either_wrong=0.15, total=0.1,
                                              both_wrong=0.02, one_right=0.08))
    assert "can be set beside seed 000's 10%" in high and "not comparable" not in high
    assert "(mean over the pairs)" in high
    assert "(mean over all 28 pairs of chains)" in lottery.disagreement_sentence(
        dict(acc=0.9, either_wrong=0.15, total=0.1, both_wrong=0.02, one_right=0.08), 28)


def test_shared_line_note_says_why_two_times_chance():
    note = lottery.shared_line_note(0.061)
    assert note.startswith("< 2x chance is our line") and "16x chance" in note
    assert "too close" in lottery.shared_line_note(0.6)


def _closing_table(resnet_est, units="seeds"):
    """A table with every row closing_reading reads (inconclusive), the ResNet row from
    ``resnet_est`` under the seed rule."""
    import inspect
    import re

    from helpers import claims, stats

    T = claims.ClaimsTable(lottery.CHAPTER, "cpu", "synthetic")
    for p in re.findall(r'say\("([^"]+)"', inspect.getsource(lottery.closing_reading)):
        if p.startswith("ResNet at lr"):
            lottery.seed_row(T, "s", f"{p}: rewind minus reset", "e", resnet_est,
                             claims.above(1.5), fmt="{:+.1f} pp")
        else:
            T.add("s", f"{p}: a row", "e", stats.Estimate(0.1, -0.5, 0.7, "t", 4, units),
                  claims.above(0), fmt="{:+.1f} pp")
    return T


def test_close_resnet_reads_the_interval_over_seeds():
    from helpers import config, stats

    P = config.chapter_params(lottery.CHAPTER, "cpu")
    undecided = stats.mean_t([-1.0, 2.0, 4.0, 1.0, 3.5, 0.5], "seeds")
    text = lottery.closing_reading(P, _closing_table(undecided))["close_resnet"]
    assert ("Whether rewinding beats resetting on the ResNet by the test's margin is undecided: "
            "rewinding minus reset is +1.7 pp on average over the seeds, and the interval "
            "(-0.3 pp to +3.6 pp) straddles the test's bound (> 1.5)") in text
    holds = stats.mean_t([4.0, 5.0, 6.0, 5.5, 4.5, 5.0], "seeds")
    text = lottery.closing_reading(P, _closing_table(holds))["close_resnet"]
    assert text.startswith("On the ResNet, rewinding beats resetting at the sparsest round by "
                           "the test's margin (+5.0 pp on average over the seeds")
    # with one seed the seed rule decides, and the sentence says so
    one = P.replace(rn_seeds=1)
    single = stats.per_example(np.mean, 100 * np.r_[np.ones(60), np.zeros(40)])
    text = lottery.closing_reading(one, _closing_table(single))["close_resnet"]
    assert "is inconclusive by the seed rule: one seed cannot say" in text


def test_close_width_answers_the_sections_criterion(monkeypatch):
    from helpers import config, stats

    monkeypatch.setattr(lottery, "curve", fake_curve)
    P = config.chapter_params(lottery.CHAPTER, "cpu")
    T = _closing_table(stats.mean_t([-1.0, 2.0, 4.0], "seeds"))
    chain = lambda accs: [R(d, a, 0) for d, a in zip((1.0, 0.5, 0.25), accs)]  # noqa: E731
    wchains = {0.0625: (chain([0.40, 0.39, 0.37]), chain([0.40, 0.37, 0.37])),
               0.25: (chain([0.50, 0.495, 0.49]), chain([0.50, 0.49, 0.48]))}
    text = lottery.closing_reading(P, T, wchains)["close_width"]
    assert text.startswith("By the section's own criterion")
    assert "width 0.0625 lasts 0.5 of 2 rounds on average (per chain: 1, 0)" in text
    assert "Whether the widest network loses less" in text       # the row's sentence follows
    assert "is undecided: +0.1 pp, a difference of the two widths' means over their" in text
    assert "section's own" not in lottery.closing_reading(P, T)["close_width"]


def test_control_seeds_stay_clear_of_a_rerun_on_fresh_seeds():
    # a rerun with seed_base=1000 trains chains from seeds 1001..; no control of the published
    # run (nor of the rerun) may start from one of those seeds, nor draw its mask from it
    chains = range(1, 17)
    rounds = range(1, 15)
    published = {s + lottery.REINIT_OFFSET for s in chains} | {
        s + lottery.RANDOM_MASK_OFFSET + r for s in chains for r in rounds}
    fresh_chains = {1000 + s for s in chains}
    fresh_controls = {1000 + s + lottery.REINIT_OFFSET for s in chains} | {
        1000 + s + lottery.RANDOM_MASK_OFFSET + r for s in chains for r in rounds}
    assert not published & fresh_chains and not fresh_controls & set(chains)
    assert not published & fresh_controls


def test_capacity_sentence_says_whether_weights_alone_explain_the_width_row(monkeypatch):
    from helpers import config

    monkeypatch.setattr(lottery, "curve", fake_curve)
    P = config.chapter_params(lottery.CHAPTER, "cpu")
    chain = lambda accs: [R(d, a, 0) for d, a in zip((1.0, 0.25, 0.05), accs)]  # noqa: E731
    wchains = {0.0625: (chain([0.35, 0.34, 0.30]),), 0.25: (chain([0.50, 0.49, 0.47]),)}
    cm = lottery.capacity_match(P, wchains)
    n_lo = lottery.n_weights(lottery.spec_from(P, width=0.0625))
    n_hi = lottery.n_weights(lottery.spec_from(P, width=0.25))
    assert cm["dense_narrow"] == dict(width=0.0625, weights=n_lo, acc=pytest.approx(35.0))
    assert cm["sparse_wide"]["weights"] == pytest.approx(0.05 * n_hi)
    assert 0.05 * n_hi < n_lo          # 5% of a 4x wider network: fewer weights than dense
    text = lottery.capacity_sentence(cm)
    assert "reach 47.0%" in text and "weights' number alone does not explain" in text
    worse = dict(cm, sparse_wide=dict(cm["sparse_wide"], acc=30.0))
    assert "does not separate width from capacity" in lottery.capacity_sentence(worse)
    assert lottery.width_factor(P, wchains) == f"about {n_hi / n_lo:.0f} times"


def test_rewind_sentence_flags_a_late_rewinding_point():
    from helpers import config

    P = config.chapter_params(lottery.CHAPTER, "cpu", rn_epochs=8, rn_rewind_epoch=1)
    spec = lottery.spec_from(P, "rn_")
    steps = lottery.steps_per_epoch(spec)
    text = lottery.rewind_sentence(P, spec)
    assert text.startswith(f"Rewinding goes back to the end of epoch 1: iteration {steps:,} of "
                           f"{8 * steps:,}, 12.5% of training, later than the sources")
    P = config.chapter_params(lottery.CHAPTER, "cpu", rn_epochs=40, rn_rewind_epoch=1)
    assert lottery.rewind_sentence(P, spec).endswith("2.5% of training.")


def test_unfinished_note_counts_controls_still_improving_at_the_end(monkeypatch):
    monkeypatch.setattr(lottery, "curve", fake_curve)
    monkeypatch.setattr(lottery, "end_iteration", lambda run: 500)
    rounds = lambda its: [R(d, 0.3, i) for d, i in zip((0.5, 0.2, 0.1), its)]  # noqa: E731
    chains = [[types.SimpleNamespace(run=None)]]   # end_iteration reads its run
    ctrls = [{"reinit": rounds([200, 500, 500])}, {"reinit": rounds([500, 300, 500])}]
    note = lottery.unfinished_note(chains, ctrls, "reinit")   # the rounds with <= 20% left
    assert note.startswith("3 of the 4 control networks with ≤ 20% left were still improving")
    done = [{"reinit": rounds([500, 300, 400])}]
    assert lottery.unfinished_note(chains, done, "reinit").startswith("every control network")
    assert lottery.unfinished_note(chains, [], "reinit") == ""


def test_pruning_summary_names_each_layers_kind():
    from helpers import models

    net = models.build("conv2", 0.25)
    mask = {n: torch.ones_like(p, dtype=torch.bool) for n, p in net.named_parameters()
            if p.dim() >= 2}
    line = pruning.summary(mask)
    assert "body.0.weight (conv) 100.0%" in line and "fc.weight (output) 100.0%" in line
    assert "head.0.weight (fc)" in line


def test_close_seeds_says_when_tickets_are_closer_than_dense_pairs():
    from helpers import claims, config, stats

    P = config.chapter_params(lottery.CHAPTER, "cpu")

    def seeds_text(lo, hi):
        T = _closing_table(stats.mean_t([-1.0, 2.0, 4.0], "seeds"))
        row = T.find("Tickets of different seeds")
        T.rows[T.rows.index(row)] = claims.Claim(**{
            **row.__dict__, "measured": (lo + hi) / 2, "interval": (lo, hi),
            "verdict": claims.HOLDS})
        return lottery.closing_reading(P, T)["close_seeds"]
    assert "the interval lies below 1" in seeds_text(0.83, 0.93)
    assert "below 1" not in seeds_text(0.85, 1.05)
