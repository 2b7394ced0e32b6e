"""Metrics on predictions and weights: the numbers every chapter's claims are made of.

Each function is pure: arrays in, a float (or an array) out, nothing cached, nothing trained.
Inputs may be numpy arrays or torch tensors (on any device); they are converted once to float64
numpy with :func:`_np`, so a cell like ``metrics.disagreement(model_a(x), model_b(x))`` just works.

Conventions (the book uses them everywhere):

* predictions have shape ``(N, C)`` -- probabilities, unless the argument name says ``logits``;
* labels are integers of shape ``(N,)``;
* logarithms are natural.

Every docstring names the section of a source document (``/work/shared/seeds``, see its README)
that defines the quantity, so a number in a chapter can be traced back to where it is explained:
seed 004 is Fort, Hu & Lakshminarayanan, "Deep Ensembles: A Loss Landscape Perspective";
seed 001 is Summers & Dinneen, "On Nondeterminism and Instability in Neural Network Optimization".
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import rankdata


# --------------------------------------------------------------------------------------------
# conversion


def _np(x) -> np.ndarray:
    """A numpy or torch array (any device, any float dtype) as a float64 numpy array."""
    if hasattr(x, "detach"):  # a torch tensor; torch itself is never imported here
        x = x.detach().cpu()
        x = x.double() if x.is_floating_point() else x
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def _labels(y) -> np.ndarray:
    """Integer labels of shape (N,)."""
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    return np.asarray(y).astype(np.int64).reshape(-1)


def _pred(x) -> np.ndarray:
    """Predicted classes: the argmax of (N, C) predictions, or a 1-D array of labels as is."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        x = x.double() if x.is_floating_point() else x
        x = x.numpy()
    x = np.asarray(x)
    return x.astype(np.int64) if x.ndim == 1 else x.argmax(axis=-1)


def _flat(w) -> np.ndarray:
    """A weight vector: any shape flattened; a list/tuple of tensors is concatenated in order."""
    if isinstance(w, (list, tuple)):
        return np.concatenate([_np(p).reshape(-1) for p in w])
    return _np(w).reshape(-1)


def _entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) along the last axis, with 0 log 0 = 0."""
    return -(p * np.log(np.clip(p, 1e-300, None))).sum(axis=-1)


# --------------------------------------------------------------------------------------------
# basics


def softmax(logits, axis: int = -1) -> np.ndarray:
    """Probabilities from logits, numerically stable (the max is subtracted before exp)."""
    z = _np(logits)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def ensemble_probs(list_of_probs) -> np.ndarray:
    """The ensemble's prediction: the mean of the members' probabilities, shape (N, C).

    This is how a deep ensemble predicts in seed 004 (§2, §5: p̄ = (1/M) Σ_m p_θm). Accepts a list
    of (N, C) arrays or one stacked (M, N, C) array.
    """
    return np.mean(np.stack([_np(p) for p in list_of_probs]), axis=0)


def accuracy(probs, labels) -> float:
    """Fraction of examples whose argmax equals the label, in [0, 1].

    ``probs`` may also be a 1-D array of predicted labels.
    """
    return float(np.mean(_pred(probs) == _labels(labels)))


def nll(probs, labels, eps: float = 1e-12) -> float:
    """Mean cross-entropy -log p(y|x) in nats (the "cross-entropy" of seed 001 Table 1 and the
    negative log-likelihood of seed 004 §5). Probabilities are clipped at ``eps`` so that a
    confident mistake costs -log(eps) rather than infinity."""
    p, y = _np(probs), _labels(labels)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, None))))


def brier(probs, labels) -> float:
    """Brier score: mean over examples of Σ_c (p_c - onehot(y)_c)², as in seed 004 §5 (Fig 9,
    following Ovadia et al. 2019 and Brier 1950). 0 for a perfect prediction, 1 - 1/C for the
    uniform one, 2 for a confident mistake."""
    p, y = _np(probs), _labels(labels)
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(((p - onehot) ** 2).sum(axis=1)))


def ece(probs, labels, bins: int = 15) -> float:
    """Expected calibration error (Guo et al. 2017; the calibration measure behind seed 004 §5).

    Examples are grouped by their top-1 confidence into ``bins`` equal-width bins
    ((0, 1/bins], (1/bins, 2/bins], ...); ECE = Σ_b |B_b|/N · |acc(B_b) - conf(B_b)|.
    """
    p, y = _np(probs), _labels(labels)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    idx = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_b = idx == b
        if in_b.any():
            total += in_b.mean() * abs(correct[in_b].mean() - conf[in_b].mean())
    return float(total)


# --------------------------------------------------------------------------------------------
# how different are two models?


def disagreement(probs_a, probs_b) -> float:
    """Fraction of examples on which the two predicted classes differ, seed 004 §4.1:
    (1/N) Σ_n [f(x_n; θ1) ≠ f(x_n; θ2)]. Also the "pairwise disagree" of seed 001 §3.1.

    Either argument may be (N, C) predictions (argmax is taken) or 1-D predicted labels.
    """
    return float(np.mean(_pred(probs_a) != _pred(probs_b)))


def normalized_disagreement(probs_a, probs_b, labels) -> float:
    """Disagreement divided by the error rate of ``probs_b``: d / (1 - acc_b).

    Seed 004 §4.3 (the diversity axis of Fig 6) divides d_diff by (1 - a), "where a is the
    accuracy of the sampled solution", so that a weak model is not credited with diversity merely
    for making many mistakes. Call it as ``normalized_disagreement(reference, sample, labels)``;
    :func:`diversity_limits` and :func:`diversity_family` use the same normalisation. NaN when
    ``probs_b`` makes no mistake (the ratio is undefined).
    """
    err = 1.0 - accuracy(probs_b, labels)
    return disagreement(probs_a, probs_b) / err if err > 0 else float("nan")


def cosine_similarity(w_a, w_b) -> float:
    """cos(θ1, θ2) = θ1·θ2 / (‖θ1‖ ‖θ2‖) of two weight vectors, seed 004 §4.1 (Fig 2a, Fig 3).

    Any shape is flattened; a list/tuple of tensors (e.g. ``list(model.parameters())``) is
    concatenated in order first.
    """
    a, b = _flat(w_a), _flat(w_b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def prediction_correlation(logits_a, logits_b) -> float:
    """Spearman's ρ between two models' logits flattened to N·C values, seed 001 §3.1
    ("Pairwise Corr." in its tables). Computed as the Pearson correlation of the ranks
    (ties get their average rank), which is Spearman's definition."""
    ra = rankdata(_np(logits_a).reshape(-1))
    rb = rankdata(_np(logits_b).reshape(-1))
    return float(np.corrcoef(ra, rb)[0, 1])


def ensemble_gain(probs_a, probs_b, labels) -> float:
    """Accuracy of the two-model ensemble minus the mean accuracy of the two, seed 001 §3.1 Eq. 1
    ("Ensemble Δ"): f((S_i + S_j)/2) - (f(S_i) + f(S_j))/2 with f = accuracy and the ensemble
    predicting by averaged probabilities."""
    pair = ensemble_probs([probs_a, probs_b])
    return accuracy(pair, labels) - 0.5 * (accuracy(probs_a, labels) + accuracy(probs_b, labels))


def linear_cka(features_a, features_b) -> float:
    """Linear centered kernel alignment of two representations of the same N examples
    (Kornblith et al. 2019, used in seed 001 §3.1 and Table 3).

    With X (N, D1) and Y (N, D2) column-centred:  CKA = ‖XᵀY‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F).
    Trailing dimensions of (N, ...) inputs are flattened. It is 1 for identical inputs and
    invariant to orthogonal transforms and isotropic scaling of either representation. When N is
    smaller than the feature dimension the same value is computed from the N×N Gram matrices
    (‖XᵀY‖²_F = tr(XXᵀ YYᵀ)), which is cheaper.
    """
    x = _np(features_a)
    y = _np(features_b)
    x = x.reshape(len(x), -1)
    y = y.reshape(len(y), -1)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    if len(x) < max(x.shape[1], y.shape[1]):
        k, l_ = x @ x.T, y @ y.T
        return float((k * l_).sum() / (np.linalg.norm(k) * np.linalg.norm(l_)))
    cross = np.linalg.norm(x.T @ y) ** 2
    return float(cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def js_divergence(list_of_probs) -> float:
    """Generalised Jensen-Shannon divergence of M members, averaged over examples (nats).

    Per example: JS = H(p̄) - (1/M) Σ_m H(p_m) = (1/M) Σ_m KL(p_m ‖ p̄), with p̄ the members' mean.
    Seed 004 §5 (Fig 9, right) writes the sum Σ_m KL(p_m ‖ p̄) without the 1/M; we use the usual
    normalised form so that the value lies in [0, ln M] and does not grow with the number of
    members (multiply by M to get the paper's scale). 0 for identical members, ln 2 for two one-hot
    members that disagree.
    """
    p = np.stack([_np(q) for q in list_of_probs])  # (M, N, C)
    return float(np.mean(_entropy(p.mean(axis=0)) - _entropy(p).mean(axis=0)))


# --------------------------------------------------------------------------------------------
# the diversity-accuracy plane


def diversity_limits(a_star: float, C: int):
    """The two idealised curves of seed 004 Appendix D (dashed lines of Fig 6), as functions of a.

    A reference solution has accuracy a* on a C-class problem; another function has accuracy a.
    Both curves give the *normalised* disagreement d_diff / (1 - a), a being the other function's
    accuracy, as on the plane's vertical axis (:func:`normalized_disagreement`). Returns
    ``(upper, lower)``, two vectorised callables.

    Upper, D.1 (predictions uncorrelated with the reference's, given the label):
        they agree only if both are right (a a*) or both wrong with the same wrong class
        ((1-a)(1-a*)/(C-1)), so  d_up(a) = 1 - a a* - (1-a)(1-a*)/(C-1)
        (= (1-a*)a + (1-a)a* + (1-a*)(1-a)(C-2)/(C-1), the paper's form).
    Lower, D.2 (the reference's predictions, each flipped to another class with probability p):
        a(p) = a*(1-p) + p(1-a*)/(C-1) and d = p, so inverting,
        d_low(a) = (C-1)(a* - a) / (C a* - 1)    (the paper's Eq. 2).

    Before normalising both are straight lines in a that meet at chance, a = 1/C, where
    d = 1 - 1/C (so the normalised value there is 1); on [1/C, a*] the upper lies above the lower,
    which is 0 at a = a*. The upper curve is defined for a in [0, 1); the lower only for flip
    probabilities p in [0, 1], i.e. a in [(1-a*)/(C-1), a*], and is NaN outside. Requires
    1/C < a* < 1.
    """
    if not 1.0 / C < a_star < 1.0:
        raise ValueError(f"diversity_limits needs 1/C < a_star < 1, got a_star={a_star}, C={C}")
    a_min = (1.0 - a_star) / (C - 1)  # accuracy after flipping every prediction (p = 1)

    def upper(a):
        a = np.asarray(a, dtype=np.float64)
        d = 1.0 - a * a_star - (1.0 - a) * (1.0 - a_star) / (C - 1)
        return d / (1.0 - a)

    def lower(a):
        a = np.asarray(a, dtype=np.float64)
        d = (C - 1) * (a_star - a) / (C * a_star - 1.0)
        ok = (a >= a_min - 1e-12) & (a <= a_star + 1e-12)
        return np.where(ok, d / (1.0 - a), np.nan)

    return upper, lower


def diversity_family(a_star: float, C: int, e: float, p=None):
    """Seed 004 Appendix D.3: the one-parameter family between the limits, as a curve in p.

    A correct prediction of the reference flips (to another class) with probability p_+ = p, a
    wrong one with probability p_- = p^e, so e < 1 means the reference's *mistakes* are the less
    stable ones. Then
        accuracy      a(p) = a* (1 - p_+) + (1 - a*) p_- / (C - 1)
        disagreement  d(p) = a* p_+ + (1 - a*) p_-
    (the source's Eqs. 3-4 print these two under each other's names; with e = 1 only this reading
    gives back the lower limit D.2, a(p) = a*(1-p) + p(1-a*)/(C-1) and d = p). Returns
    ``(a, d / (1 - a))`` over ``p`` (default 400 points in [0, 1]).
    """
    p = np.linspace(0.0, 1.0, 400) if p is None else np.asarray(p, dtype=np.float64)
    p_minus = p ** e
    a = a_star * (1 - p) + (1 - a_star) * p_minus / (C - 1)
    d = a_star * p + (1 - a_star) * p_minus
    return a, d / (1 - a)


def fit_diversity_exponent(acc, ndis, a_star: float, C: int, grid=None) -> float:
    """The exponent e of :func:`diversity_family` that best fits points (accuracy, normalised
    disagreement) of the diversity-accuracy plane: least squares over the points of each one's
    distance to the curve, minimised over ``grid`` (default e in [0.02, 3], 300 values; points
    that are not finite are ignored, NaN if none is left). The
    source fits e = 0.22 to ResNet20v1 subspace samples on CIFAR-100 (Fig S6)."""
    acc, ndis = np.asarray(acc, dtype=np.float64), np.asarray(ndis, dtype=np.float64)
    ok = np.isfinite(acc) & np.isfinite(ndis)
    if not ok.any():
        return float("nan")
    acc, ndis = acc[ok], ndis[ok]
    grid = np.linspace(0.02, 3.0, 300) if grid is None else np.asarray(grid)
    p = np.linspace(0.0, 1.0, 2000)
    costs = []
    for e in grid:
        a, d = diversity_family(a_star, C, e, p)
        dist = (acc[:, None] - a[None]) ** 2 + (ndis[:, None] - d[None]) ** 2
        costs.append(dist.min(1).sum())
    return float(grid[int(np.argmin(costs))])


# --------------------------------------------------------------------------------------------
# many models


def mean_pairwise(fn, items) -> float:
    """Mean of fn(items[i], items[j]) over all unordered pairs i < j -- the "average pairwise"
    statistics of seed 001 §3.1 (disagreement, correlation, ensemble gain, CKA)."""
    items = list(items)
    if len(items) < 2:
        raise ValueError("mean_pairwise needs at least two items")
    return float(np.mean([fn(a, b) for a, b in itertools.combinations(items, 2)]))


def pairwise_matrix(fn, items, symmetric: bool = True) -> np.ndarray:
    """(n, n) matrix M[i, j] = fn(items[i], items[j]), diagonal included (fn(x, x)); the
    similarity heat maps of seed 004 Fig 2-3. With ``symmetric`` only i <= j is computed and
    mirrored; pass ``symmetric=False`` for a non-symmetric fn such as normalised disagreement."""
    items = list(items)
    n = len(items)
    m = np.empty((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(i if symmetric else 0, n):
            m[i, j] = fn(items[i], items[j])
            if symmetric:
                m[j, i] = m[i, j]
    return m
