"""Unit tests for helpers.metrics: hand-computed cases (expected values derived in comments)
plus the properties each metric must have."""
import math

import numpy as np
import pytest
import torch

from helpers import metrics as M

# Three examples, three classes. argmax of P: [0, 1, 2]; argmax of Q: [0, 2, 2]
P = np.array([[0.7, 0.2, 0.1],
              [0.1, 0.6, 0.3],
              [0.2, 0.2, 0.6]])
Q = np.array([[0.5, 0.3, 0.2],
              [0.1, 0.4, 0.5],
              [0.3, 0.3, 0.4]])
Y = np.array([0, 1, 1])


def random_probs(rng, n, c):
    return M.softmax(rng.normal(size=(n, c)) * 2)


# ---------------------------------------------------------------------------- basics

def test_softmax_hand_and_stable():
    # softmax([0, ln 3]) = [1/4, 3/4]; shifting logits by 1000 must not overflow
    out = M.softmax(np.array([[0.0, math.log(3)], [1000.0, 1000.0 + math.log(3)]]))
    np.testing.assert_allclose(out, [[0.25, 0.75], [0.25, 0.75]])


def test_ensemble_probs():
    # mean of P and Q, first row: [(0.7+0.5)/2, (0.2+0.3)/2, (0.1+0.2)/2] = [0.6, 0.25, 0.15]
    out = M.ensemble_probs([P, Q])
    np.testing.assert_allclose(out[0], [0.6, 0.25, 0.15])
    np.testing.assert_allclose(M.ensemble_probs(np.stack([P, Q])), out)  # stacked (M, N, C)


def test_accuracy():
    # P predicts [0, 1, 2] vs labels [0, 1, 1]: 2 of 3 right; Q predicts [0, 2, 2]: 1 of 3
    assert M.accuracy(P, Y) == pytest.approx(2 / 3)
    assert M.accuracy(Q, Y) == pytest.approx(1 / 3)
    assert M.accuracy(np.array([0, 1, 1]), Y) == 1.0  # 1-D predicted labels


def test_nll():
    # p(y) under P: 0.7, 0.6, 0.2 -> -(ln .7 + ln .6 + ln .2)/3 = (0.35667 + 0.51083 + 1.60944)/3
    assert M.nll(P, Y) == pytest.approx(0.825646, abs=1e-6)
    # a zero probability on the label costs -ln(eps), not infinity
    assert M.nll(np.array([[1.0, 0.0]]), [1], eps=1e-12) == pytest.approx(-math.log(1e-12))


def test_brier():
    # row 1 of P: (0.7-1)^2 + 0.2^2 + 0.1^2 = 0.09+0.04+0.01 = 0.14
    # row 2:      0.1^2 + (0.6-1)^2 + 0.3^2 = 0.01+0.16+0.09 = 0.26
    # row 3 (y=1): 0.2^2 + (0.2-1)^2 + 0.6^2 = 0.04+0.64+0.36 = 1.04   -> mean 1.44/3 = 0.48
    assert M.brier(P, Y) == pytest.approx(0.48)
    onehot = np.eye(4)[[0, 3, 2]]
    assert M.brier(onehot, [0, 3, 2]) == pytest.approx(0.0)
    assert M.brier(np.full((5, 4), 0.25), [0, 1, 2, 3, 0]) == pytest.approx(1 - 1 / 4)


def test_ece_hand():
    # confidences 0.9 (right), 0.9 (wrong), 0.6 (right), 0.6 (right); with 10 bins:
    #   bin (0.8, 0.9]: acc 0.5, conf 0.9 -> 2/4 * 0.4 = 0.2
    #   bin (0.5, 0.6]: acc 1.0, conf 0.6 -> 2/4 * 0.4 = 0.2           ECE = 0.4
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]])
    y = np.array([0, 1, 1, 1])
    assert M.ece(p, y, bins=10) == pytest.approx(0.4)
    # one bin: |mean acc - mean conf| = |0.75 - 0.75| = 0
    assert M.ece(p, y, bins=1) == pytest.approx(0.0)


def test_ece_perfectly_calibrated():
    # 10 examples at confidence 0.8, exactly 8 right; 10 at 0.6, exactly 6 right -> ECE 0
    p = np.array([[0.8, 0.2]] * 10 + [[0.4, 0.6]] * 10)
    y = np.array([0] * 8 + [1] * 2 + [1] * 6 + [0] * 4)
    assert M.ece(p, y) == pytest.approx(0.0, abs=1e-12)
    # the same predictions always right are under-confident: ECE = 0.5*0.2 + 0.5*0.4 = 0.3
    assert M.ece(p, p.argmax(1)) == pytest.approx(0.3)


# ---------------------------------------------------------------------------- two models

def test_disagreement():
    # argmax [0,1,2] vs [0,2,2]: differ on 1 of 3
    assert M.disagreement(P, Q) == pytest.approx(1 / 3)
    assert M.disagreement(P, np.array([0, 2, 2])) == pytest.approx(1 / 3)  # 1-D labels
    assert M.disagreement(np.array([1, 1, 1]), np.array([0, 2, 2])) == 1.0
    assert M.disagreement(P, P) == 0.0
    assert M.disagreement(P, Q) == M.disagreement(Q, P)


def test_normalized_disagreement():
    # d(P, Q) = 1/3, Q (the sample) has accuracy 1/3 -> (1/3)/(2/3) = 0.5
    # the other way round: P has accuracy 2/3 -> (1/3)/(1/3) = 1.0
    assert M.normalized_disagreement(P, Q, Y) == pytest.approx(0.5)
    assert M.normalized_disagreement(Q, P, Y) == pytest.approx(1.0)


def test_cosine_similarity():
    # (1,0,1)·(1,1,0) = 1; norms √2·√2 = 2 -> 0.5
    assert M.cosine_similarity([1.0, 0, 1], [1.0, 1, 0]) == pytest.approx(0.5)
    # any shape is flattened; a list of tensors is concatenated
    w = np.arange(6.0).reshape(2, 3) + 1
    assert M.cosine_similarity(w, w.reshape(-1)) == pytest.approx(1.0)
    assert M.cosine_similarity(w, -w) == pytest.approx(-1.0)
    parts = [torch.ones(2, 2), torch.zeros(3)]
    assert M.cosine_similarity(parts, [1, 1, 0, 0, 0, 0, 0]) == pytest.approx(math.sqrt(2 / 4))


def test_prediction_correlation():
    # a = [1,2,3,4], b = [1,3,2,4]: rank differences d = [0,1,1,0]
    # rho = 1 - 6 Σd² / (n(n²-1)) = 1 - 12/60 = 0.8
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[1.0, 3.0], [2.0, 4.0]])
    assert M.prediction_correlation(a, b) == pytest.approx(0.8)
    # rank-based: a monotone transform of one side does not change rho
    assert M.prediction_correlation(a, np.exp(b)) == pytest.approx(0.8)
    assert M.prediction_correlation(a, -a) == pytest.approx(-1.0)
    # ties get average ranks: [1,1,2] vs [1,2,3] -> ranks [1.5,1.5,3] vs [1,2,3], r = √3/2
    assert M.prediction_correlation([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)


def test_ensemble_gain():
    # labels [0, 1]. a predicts [0, 0] (acc 1/2), b predicts [1, 1] (acc 1/2).
    # mean: row 1 [0.675, 0.325] -> 0 (right), row 2 [0.3, 0.7] -> 1 (right): acc 1.
    # gain = 1 - (1/2 + 1/2)/2 = 0.5
    a = np.array([[0.9, 0.1], [0.6, 0.4]])
    b = np.array([[0.45, 0.55], [0.0, 1.0]])
    y = np.array([0, 1])
    assert M.ensemble_gain(a, b, y) == pytest.approx(0.5)
    assert M.ensemble_gain(a, a, y) == 0.0  # a model ensembled with itself gains nothing


def test_linear_cka_hand():
    # x = [-1, 0, 1] (already centred), y = x²-2/3 centred = [1/3, -2/3, 1/3]: orthogonal -> 0
    x = np.array([[-1.0], [0.0], [1.0]])
    assert M.linear_cka(x, x ** 2) == pytest.approx(0.0, abs=1e-12)
    # X = [x, y] (orthogonal columns with ‖x‖²=2, ‖y‖²=2/3) vs x alone:
    # ‖XᵀX‖_F = √(4 + 4/9), ‖xᵀx‖ = 2, ‖Xᵀx‖² = 4  -> CKA = 4 / (2 √(40/9)) = 3/√10
    X = np.hstack([x, x ** 2])
    assert M.linear_cka(X, x) == pytest.approx(3 / math.sqrt(10))


def test_linear_cka_properties():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 8))
    b = rng.normal(size=(50, 5))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))  # orthogonal
    assert M.linear_cka(a, a) == pytest.approx(1.0)
    assert M.linear_cka(a, 3.0 * a @ q) == pytest.approx(1.0)
    assert M.linear_cka(a, b) == pytest.approx(M.linear_cka(a @ q * 0.1, b))
    assert M.linear_cka(a, b) == pytest.approx(M.linear_cka(b, a))
    assert 0.0 < M.linear_cka(a, b) < 0.5  # unrelated features are far from 1
    # the Gram-matrix path (N < D) gives the same value as the feature path, and (N, ...) inputs
    # are flattened
    wide_a, wide_b = rng.normal(size=(6, 2, 10)), rng.normal(size=(6, 20))
    k, l_ = [z.reshape(6, -1) - z.reshape(6, -1).mean(0) for z in (wide_a, wide_b)]
    direct = np.linalg.norm(k.T @ l_) ** 2 / (np.linalg.norm(k.T @ k) * np.linalg.norm(l_.T @ l_))
    assert M.linear_cka(wide_a, wide_b) == pytest.approx(direct)


def test_js_divergence():
    onehot_a, onehot_b = np.eye(3)[[0, 1]], np.eye(3)[[1, 1]]
    # example 1 disagrees: H([.5,.5]) - 0 = ln 2; example 2 agrees: 0 -> mean ln2/2
    assert M.js_divergence([onehot_a, onehot_b]) == pytest.approx(math.log(2) / 2)
    assert M.js_divergence([np.eye(3)[[0]], np.eye(3)[[1]]]) == pytest.approx(math.log(2))
    assert M.js_divergence([P, P, P]) == pytest.approx(0.0, abs=1e-12)
    # three one-hot members on three different classes: H(uniform) = ln 3
    assert M.js_divergence([np.eye(3)[[i]] for i in range(3)]) == pytest.approx(math.log(3))
    # equals the mean KL to the mixture (the paper's sum divided by M)
    mix = (P + Q) / 2
    kl = lambda p, q: np.sum(p * np.log(p / q), axis=1)  # noqa: E731
    assert M.js_divergence([P, Q]) == pytest.approx(np.mean((kl(P, mix) + kl(Q, mix)) / 2))
    assert M.js_divergence([P, Q]) == pytest.approx(M.js_divergence([Q, P]))


# ---------------------------------------------------------------------------- diversity limits

def test_diversity_limits_closed_forms():
    # a* = 0.9, C = 10. Upper at a = 0.5: d = 1 - 0.45 - 0.5*0.1/9 = 0.544444 -> /(1-0.5) = 1.088889
    # Lower at a = 0.5: d = 9 * 0.4 / 8 = 0.45 -> /0.5 = 0.9
    up, low = M.diversity_limits(0.9, 10)
    assert up(0.5) == pytest.approx(1.088889, abs=1e-5)
    assert low(0.5) == pytest.approx(0.9)
    # the paper's long form of the upper limit
    a = np.linspace(0, 0.9, 10)
    paper = (0.1 * a + (1 - a) * 0.9 + 0.1 * (1 - a) * 8 / 9) / (1 - a)
    np.testing.assert_allclose(up(a), paper)


def test_diversity_limits_properties():
    for a_star, c in [(0.9, 10), (0.7, 10), (0.6, 100), (0.8, 3)]:
        up, low = M.diversity_limits(a_star, c)
        assert low(a_star) == pytest.approx(0.0)
        # both curves meet at chance accuracy, where a random guesser's normalised disagreement is 1
        assert up(1 / c) == pytest.approx(low(1 / c))
        assert up(1 / c) == pytest.approx(1.0)
        a = np.linspace(1 / c, a_star, 50)
        assert np.all(up(a) >= low(a) - 1e-12)
        assert np.all(np.diff(low(a)) < 0)  # more accurate = closer to the reference
        a_all = np.linspace(0, 0.99, 100)
        assert np.all(up(a_all) >= 0)
        lows = low(a_all)
        assert np.isnan(lows[a_all > a_star + 1e-9]).all()
        # p = 1: every prediction flipped; accuracy (1-a*)/(C-1), disagreement exactly 1
        a_min = (1 - a_star) / (c - 1)
        assert low(a_min) == pytest.approx(1 / (1 - a_min))
    with pytest.raises(ValueError):
        M.diversity_limits(0.05, 10)


def test_diversity_family_spans_the_limits_and_fit_recovers_e():
    a_star, c = 0.7, 10
    up, low = M.diversity_limits(a_star, c)
    # e = 1 is the lower limit itself
    a, d = M.diversity_family(a_star, c, 1.0, np.linspace(0, 0.9, 50))
    np.testing.assert_allclose(d, low(a), rtol=1e-9)
    # e < 1 lies above the lower limit (mistakes flip first), but, away from chance, below the upper
    a, d = M.diversity_family(a_star, c, 0.3, np.linspace(0.05, 0.6, 50))
    assert np.all(d > low(a)) and np.all(d < up(a))
    # points drawn from the e = 0.4 curve are fitted with e = 0.4
    a, d = M.diversity_family(a_star, c, 0.4, np.linspace(0.02, 0.8, 30))
    assert M.fit_diversity_exponent(a, d, a_star, c) == pytest.approx(0.4, abs=0.02)


def _reference(rng, y, acc, c):
    """Predictions right with probability acc, else a uniformly random wrong class."""
    right = rng.random(len(y)) < acc
    wrong = (y + rng.integers(1, c, len(y))) % c
    return np.where(right, y, wrong)


def test_diversity_limits_monte_carlo():
    rng = np.random.default_rng(1)
    c, n = 10, 400_000
    y = rng.integers(0, c, n)
    ref = _reference(rng, y, 0.85, c)
    up, low = M.diversity_limits(M.accuracy(ref, y), c)
    for a in (0.3, 0.6, 0.85):
        # upper: an independent predictor of accuracy a
        other = _reference(rng, y, a, c)
        measured = M.normalized_disagreement(ref, other, y)
        assert measured == pytest.approx(float(up(M.accuracy(other, y))), abs=0.01)
    for p in (0.1, 0.4, 0.8):
        # lower: flip each of the reference's predictions to another class with probability p
        flip = rng.random(n) < p
        pert = np.where(flip, (ref + rng.integers(1, c, n)) % c, ref)
        measured = M.normalized_disagreement(ref, pert, y)
        assert measured == pytest.approx(float(low(M.accuracy(pert, y))), abs=0.01)


# ---------------------------------------------------------------------------- many models

def test_mean_pairwise_and_matrix():
    items = [1.0, 2.0, 4.0]
    diff = lambda a, b: abs(a - b)  # noqa: E731
    # pairs: |1-2| = 1, |1-4| = 3, |2-4| = 2 -> mean 2
    assert M.mean_pairwise(diff, items) == pytest.approx(2.0)
    m = M.pairwise_matrix(diff, items)
    np.testing.assert_allclose(m, [[0, 1, 3], [1, 0, 2], [3, 2, 0]])
    sub = lambda a, b: a - b  # noqa: E731
    np.testing.assert_allclose(M.pairwise_matrix(sub, items, symmetric=False),
                               [[0, -1, -3], [1, 0, -2], [3, 2, 0]])
    with pytest.raises(ValueError):
        M.mean_pairwise(diff, [1.0])


def test_pairwise_disagreement_of_copies_is_zero():
    rng = np.random.default_rng(2)
    p = random_probs(rng, 20, 4)
    m = M.pairwise_matrix(M.disagreement, [p, p, random_probs(rng, 20, 4)])
    assert m[0, 1] == 0.0 and np.all(np.diag(m) == 0.0) and m[0, 2] > 0


# ---------------------------------------------------------------------------- torch inputs

def test_torch_tensors_accepted():
    tp, tq = torch.tensor(P, dtype=torch.float32), torch.tensor(Q, dtype=torch.float16)
    ty = torch.tensor(Y)
    assert M.accuracy(tp, ty) == pytest.approx(2 / 3)
    assert M.nll(tp, ty) == pytest.approx(M.nll(P, Y), abs=1e-6)
    assert M.disagreement(tp, tq) == pytest.approx(1 / 3)
    assert M.normalized_disagreement(tp, tq, ty) == pytest.approx(0.5)
    assert M.brier(tp, ty) == pytest.approx(0.48, abs=1e-6)
    assert M.ece(tp, ty) == pytest.approx(M.ece(P, Y), abs=1e-6)
    assert M.ensemble_gain(tp, tq, ty) == pytest.approx(M.ensemble_gain(P, Q, Y))
    assert M.js_divergence([tp, tq]) == pytest.approx(M.js_divergence([P, Q]), abs=1e-3)
    assert M.linear_cka(tp, tp.bfloat16()) == pytest.approx(1.0, abs=1e-2)
    assert M.prediction_correlation(tp, tp * 2) == pytest.approx(1.0)
    w = torch.ones(3, requires_grad=True)
    assert M.cosine_similarity(w, torch.ones(3)) == pytest.approx(1.0)
    assert isinstance(M.softmax(torch.zeros(2, 4)), np.ndarray)
