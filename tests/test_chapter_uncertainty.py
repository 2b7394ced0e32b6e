"""The chapter modules' uncertainty helpers (the units behind each claim row), on hand cases."""
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import stats, train

from helpers.chapters import instability, mimo, modes


def _run(spec, probs, labels):
    return SimpleNamespace(spec=spec, probs=lambda epoch=None: probs, labels=labels,
                           key=str(hash(spec)))


def test_the_init_rows_first_run_is_the_reference_and_is_left_out_of_new_inits():
    base = train.Spec(model="linear", dataset="synthetic", epochs=2).with_seed(1)
    labels = np.array([0, 1, 0, 1])
    p0 = np.eye(2)[labels]
    p1 = np.eye(2)[[1, 1, 0, 1]]  # one prediction changed
    ref = _run(base.replace(save_epochs=(0, 1, 2)), p0, labels)
    inits = [_run(s, p, labels) for s, p in zip(instability.source_specs(base, "init", 3, False),
                                                (p0, p1, p1))]
    assert instability.same_training(inits[0], ref)  # seed 1 again: one training, other epochs
    assert not instability.same_training(inits[1], ref)
    G = {"reference": [ref], "init": inits}
    assert instability.new_init_runs(G) == inits[1:]
    e = instability.new_init_disagreement(G)
    assert e.value == pytest.approx(0.25)  # not pulled down by the reference's zero


def test_per_run_probs_builds_the_units_of_a_row():
    labels = np.array([0, 1, 0, 1])
    probs = [np.eye(2)[labels], np.eye(2)[[1, 1, 0, 1]], np.eye(2)[[1, 0, 0, 1]]]
    u = instability.per_run_probs(probs, labels)
    assert u["acc"] == pytest.approx([1.0, 0.75, 0.5])
    assert u["disagree"][0, 1] == pytest.approx(0.25) and u["disagree"][1, 2] == pytest.approx(0.25)
    assert np.isnan(u["disagree"][0, 0])
    assert stats.pair_mean(u["disagree"]) == pytest.approx((0.25 + 0.5 + 0.25) / 3)


def test_mimo_seed_spread_pools_every_network_at_every_width():
    P = SimpleNamespace(widths=(1, 2))
    labels = np.array([0, 1, 0, 1])
    right, one_wrong = np.eye(2)[labels], np.eye(2)[[1, 1, 0, 1]]
    R = {(1, "M=1"): [_run(None, right, labels), _run(None, one_wrong, labels)],
         (2, "M=1"): [_run(None, right, labels), _run(None, right, labels)],
         (1, "M=2"): [_run(None, one_wrong, labels), _run(None, right, labels),
                      _run(None, right, labels)],
         (1, "naive"): [_run(None, right, labels)]}   # one run: no spread, left out
    sd, df = mimo.seed_spread(P, R)
    # squared deviations: 2 x 12.5^2 (M = 1 at width 1) and 16.67^2 + 2 x 8.33^2 (M = 2, mean 91.67)
    ss = 2 * 12.5 ** 2 + (75 - 275 / 3) ** 2 + 2 * (100 - 275 / 3) ** 2
    assert df == 1 + 1 + 2 and sd == pytest.approx(np.sqrt(ss / 4))


def test_modes_neighbour_same_is_the_purity_per_row():
    X = np.array([[0.0, 0], [0.1, 0], [5, 5], [5.1, 5], [0.05, 0.1]])
    who = np.array([0, 0, 1, 1, 1])
    same = modes.neighbour_same(X, who)
    assert same.mean() == pytest.approx(modes.neighbour_purity(X, who))
    assert list(same) == [True, True, True, True, False]
    assert list(modes._by_run(same.astype(float), who)) == pytest.approx([1.0, 2 / 3])
