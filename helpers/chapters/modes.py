"""Modes: comparing runs and checkpoints in function space and weight space (chapter 03).

These are the analyses of Fort, Hu & Lakshminarayanan (seed 004, §4.1, Figs 2-3) and of seed 000
§3, written over cached runs (``helpers.runs.Run``): trajectories of checkpoints, matrices of
pairwise disagreement and cosine similarity, a t-SNE of the checkpoints' softmax outputs, a
nearest-neighbour test of "each seed is its own island", and ensembles of 1..R members.
"""
from __future__ import annotations

import dataclasses
import itertools
import time

import numpy as np
import torch

from .. import (claims, config, corruptions, data, gates, metrics, models, plots, prose, runs,
               stats, subspace, train)


def specs(P, seeds: int | None = None) -> list[train.Spec]:
    """One spec per independent seed (1..R) from a chapter's parameters ``P``; each keeps the
    shown checkpoints and the late iterates of part 2."""
    base = train.spec_from(P, save_epochs=tuple(sorted(set(P.save_epochs) | set(P.swag_epochs))))
    return [base.with_seed(config.seed_base(P) + s) for s in range(1, (seeds or P.seeds) + 1)]


def trajectory_matrix(run, fn, epochs=None, what: str = "probs") -> np.ndarray:
    """``fn`` between every pair of a run's checkpoints: an (E, E) matrix (Fort et al. Fig 2a-b).

    ``what`` is 'probs' (for disagreement) or 'weights' (for cosine similarity).
    """
    epochs = run.epochs if epochs is None else epochs
    items = [run.probs(e) if what == "probs" else run.weights(e) for e in epochs]
    return metrics.pairwise_matrix(fn, items)


def to_final(run, fn, epochs=None, what: str = "probs") -> np.ndarray:
    """``fn`` between each checkpoint and the run's final one."""
    epochs = run.epochs if epochs is None else epochs
    get = run.probs if what == "probs" else run.weights
    final = get(None)
    return np.array([fn(get(e), final) for e in epochs])


def cross_seed_matrix(runs, fn, what: str = "probs", epoch=None) -> np.ndarray:
    """``fn`` between the final solutions of every pair of runs: an (R, R) matrix (Fig 3)."""
    items = [r.probs(epoch) if what == "probs" else r.weights(epoch) for r in runs]
    return metrics.pairwise_matrix(fn, items)


def off_diagonal(m: np.ndarray) -> np.ndarray:
    """The entries of a square matrix above its diagonal."""
    return m[np.triu_indices_from(m, k=1)]


def late_epochs(run, fraction: float = 0.5) -> list[int]:
    """The kept epochs in the last ``fraction`` of training, the final one excluded."""
    return [e for e in run.epochs if run.spec.epochs * (1 - fraction) <= e < run.spec.epochs]


def ensemble_curve(probs_list, labels, max_subsets: int = 50, seed: int = 0) -> dict:
    """Accuracy, NLL and Brier score of ensembles of m = 1..R members (mean and sd over subsets).

    For each size m the members are the average of probabilities of up to ``max_subsets``
    distinct subsets of the R runs (all of them when there are fewer).
    """
    R = len(probs_list)
    rng = np.random.default_rng(seed)
    out = {k: [] for k in ("size", "acc", "acc_sd", "nll", "nll_sd", "brier", "brier_sd")}
    for m in range(1, R + 1):
        subsets = list(itertools.combinations(range(R), m))
        if len(subsets) > max_subsets:
            subsets = [subsets[i] for i in rng.choice(len(subsets), max_subsets, replace=False)]
        vals = {"acc": [], "nll": [], "brier": []}
        for sub in subsets:
            p = metrics.ensemble_probs([probs_list[i] for i in sub])
            vals["acc"].append(metrics.accuracy(p, labels))
            vals["nll"].append(metrics.nll(p, labels))
            vals["brier"].append(metrics.brier(p, labels))
        out["size"].append(m)
        for k, v in vals.items():
            out[k].append(float(np.mean(v)))
            out[f"{k}_sd"].append(float(np.std(v)))
    return {k: np.array(v) for k, v in out.items()}


def example_subset(n_total: int, n: int | None, seed: int = 0) -> np.ndarray:
    """A fixed random choice of ``n`` of ``n_total`` test examples (all when n is None).

    Not the first ``n``: the JPEG pack stores the test set grouped by class, so a prefix would
    hold only one or two classes.
    """
    if n is None or n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def prediction_vectors(runs, epochs, n_examples: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flattened softmax outputs of every (run, epoch) checkpoint on ``n_examples`` test
    examples (a fixed random subset, :func:`example_subset`).

    Returns ``(X, run_index, epoch)`` with ``X`` of shape (len(runs) * len(epochs), n * C),
    Fort et al.'s representation of a function for their t-SNE (§4.1).
    """
    X, who, when = [], [], []
    pick = None
    for i, r in enumerate(runs):
        for e in epochs:
            p = r.probs(e)
            pick = example_subset(len(p), n_examples) if pick is None else pick
            X.append(p[pick].reshape(-1))
            who.append(i)
            when.append(e)
    return np.stack(X), np.array(who), np.array(when)


def tsne(X: np.ndarray, seed: int = 0, perplexity: float | None = None) -> np.ndarray:
    """A 2-D t-SNE embedding of the rows of ``X`` (scikit-learn, PCA initialization)."""
    from sklearn.manifold import TSNE

    perplexity = perplexity or float(min(30, max(2, (len(X) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(X)


def neighbour_purity(X: np.ndarray, groups: np.ndarray) -> float:
    """Fraction of rows whose nearest other row (Euclidean) belongs to the same group.

    The quantitative form of "each seed is its own island": 1.0 when every checkpoint's closest
    function is one from its own trajectory; about 1/R when trajectories are mixed.
    """
    sq = (X ** 2).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * X @ X.T
    np.fill_diagonal(d, np.inf)
    return float((groups[d.argmin(1)] == groups).mean())


CHAPTER = "03_modes"


@gates.gate(CHAPTER)
def independent_runs(P):
    """``(P, R)``: the chapter's parameters and its R independently seeded runs (trained once,
    then cached).

    Every cell of the chapter starts with this call on the notebook's ``P``, so any cell can run
    on its own after the top cells: the first call trains (or loads from ``data/runs``), later
    calls return the same objects at once.
    """
    return P, tuple(runs.get(specs(P), device=P.device))


# --------------------------------------------------------------------------------------------
# Part 2: subspaces around each optimum, the diversity-accuracy plane, ensembles, dataset shift
# (seed 004 §4.2-§5). The samples are cheap next to training (forward passes only), so they are
# recomputed in each process, once: :func:`subspace_study` and :func:`shift_study` are cached
# gates like :func:`independent_runs`.


@dataclasses.dataclass
class Sample:
    """One weight vector drawn around run ``run``'s optimum, and its test-set predictions."""

    sampler: str
    run: int
    strength: float
    seed: int
    probs: np.ndarray         # (n_test, C) float32, the whole test set
    val_acc: float            # accuracy on the validation half (what rejection looks at)

    def vector(self, study) -> "torch.Tensor":
        return study.subspaces[self.run].draw(self.sampler, self.strength, self.seed)


@dataclasses.dataclass
class Study:
    """Everything chapter 03 part 2 computes from the R runs of part 1 (see :func:`subspace_study`)."""

    P: object
    R: tuple
    labels: np.ndarray
    val: np.ndarray           # indices of the validation half of the test set (rejection only)
    test: np.ndarray          # the other half: where ensembles are scored
    subspaces: list
    plane: list               # Samples around R[0], strengths spread evenly over each range
    members: dict             # sampler -> list over runs of accepted Samples
    tried: dict               # sampler -> number of samples drawn for the members
    wa: list                  # per run: probabilities of the weight average of its late iterates
    mc: list                  # MC-dropout passes of R[0] (empty if it has no dropout)
    seconds: float

    def accepted(self, sampler: str) -> int:
        return sum(len(m) for m in self.members[sampler])


def ranges(P) -> dict:
    return {"random": tuple(P.random_range), "dropout": tuple(P.dropout_range), "gauss": tuple(P.gauss_range)}


def _eval_setup(P):
    """The device, the chapter's data on it, and the training images that re-estimate BN statistics."""
    dev = train.pick_device(P.device)
    d = data.on_device(P.dataset, str(dev), P.n_train, P.n_test)
    bn_x = d.train_x[torch.from_numpy(example_subset(len(d.train_x), P.bn_examples, seed=3)).to(dev)]
    return dev, d, bn_x


def _seed(run: int, sampler: str, i: int, base: int = 0) -> int:
    return (100_000 * (run + 1) + 1_000 * (subspace.SAMPLERS.index(sampler) + 1) + i
            + 10_000_000 * base)


@gates.gate(CHAPTER, maxsize=4)
def subspace_study(P) -> Study:
    """Subspace samples around every run of :func:`independent_runs`, with their predictions.

    * ``plane``: ``P.plane_samples`` samples per sampler around the first run, strengths spread
      evenly (stratified) over each sampler's range -- the points of the diversity-accuracy plane;
    * ``members``: per run and sampler, samples drawn with random strengths from the same ranges
      until ``P.samples`` pass the accuracy floor on the validation half of the test set (at most
      4x as many are drawn) -- the subspace ensembles;
    * ``wa``: the weight average of each run's late iterates (``P.swag_epochs``);
    * ``mc``: ``P.mc_samples`` MC-dropout passes of the first run.
    The test set is split once into two fixed halves: rejection looks only at ``val``, ensembles
    are scored only on ``test``.
    """
    t0 = time.perf_counter()
    P, R = independent_runs(P)
    dev, d, bn_x = _eval_setup(P)
    test_x = d.test_x.contiguous(memory_format=torch.channels_last)  # once, not in every evaluate
    labels = R[0].labels
    n = len(labels)
    val = example_subset(n, n // 2, seed=1)
    test = np.setdiff1d(np.arange(n), val)
    subs = [subspace.Subspace.from_run(r, P.swag_epochs, P.rank) for r in R]
    net = R[0].model().to(dev)
    rng = ranges(P)

    def sample(r, s, strength, seed):
        probs = subspace.evaluate(net, subs[r].draw(s, strength, seed), test_x, bn_x)
        return Sample(s, r, strength, seed, probs, metrics.accuracy(probs[val], labels[val]))

    plane = [sample(0, s, subspace.strength(s, (i + 0.5) / P.plane_samples, rng), _seed(0, s, 900 + i, config.seed_base(P)))
             for s in subspace.SAMPLERS for i in range(P.plane_samples)]
    members, tried = {}, {}
    for s in subspace.SAMPLERS:
        members[s], tried[s] = [], 0
        for r in range(len(R)):
            kept = []
            for i in range(4 * P.samples):
                if len(kept) == P.samples:
                    break
                seed = _seed(r, s, i, config.seed_base(P))
                u = float(np.random.default_rng(seed).random())
                smp = sample(r, s, subspace.strength(s, u, rng), seed)
                tried[s] += 1
                if smp.val_acc >= P.accuracy_floor:
                    kept.append(smp)
            members[s].append(kept)
    wa = [subspace.evaluate(net, sub.mean, test_x, bn_x) for sub in subs]
    mc = []
    if P.dropout > 0:
        mc = subspace.mc_dropout(R[0].model().to(dev), test_x, P.mc_samples, seed=7)
    return Study(P, R, labels, val, test, subs, plane, members, tried, wa, mc, time.perf_counter() - t0)


def plane_points(study: Study, samples=None) -> dict:
    """Accuracy and normalised disagreement with the reference (the first run) of each sample,
    by sampler, plus the other runs' optima: the diversity-accuracy plane (Fig 6)."""
    ref, y = study.R[0].probs(), study.labels
    out = {}
    for s in subspace.SAMPLERS:
        pts = [p for p in (samples or study.plane) if p.sampler == s]
        out[s] = (np.array([metrics.accuracy(p.probs, y) for p in pts]),
                  np.array([metrics.normalized_disagreement(ref, p.probs, y) for p in pts]))
    others = [r.probs() for r in study.R[1:]]
    out["independent"] = (np.array([metrics.accuracy(p, y) for p in others]),
                          np.array([metrics.normalized_disagreement(ref, p, y) for p in others]))
    return out


def method_members(study: Study) -> dict:
    """Per method, one probability array per run on the scoring half of the test set: the run's
    optimum ('independent'), its weight average ('WA'), or the mean of its accepted samples (one
    entry per sampler; runs with no accepted sample are left out)."""
    t = study.test
    out = {"independent": [r.probs()[t] for r in study.R], "WA": [w[t] for w in study.wa]}
    for s in subspace.SAMPLERS:
        out[s] = [metrics.ensemble_probs([m.probs[t] for m in ms]) for ms in study.members[s] if ms]
    return out


def tsne_with_samples(study: Study, n_runs: int = 3, per_sampler: int = 5, epochs=None):
    """Rows for a t-SNE of the first ``n_runs`` trajectories together with up to ``per_sampler``
    accepted samples of each sampler around each of those runs (Fort et al. Fig 4).

    Returns ``(X, run_index, kind)``: ``kind`` is the epoch (an int >= 0) for a checkpoint and
    ``-1 - sampler index`` for a sample."""
    P = study.P
    runs_ = study.R[:n_runs]
    epochs = [e for e in P.save_epochs if e > 0] if epochs is None else epochs
    X, who, kind = prediction_vectors(runs_, epochs, n_examples=P.tsne_examples)
    pick = example_subset(len(study.labels), P.tsne_examples)
    rows, w2, k2 = [], [], []
    for j, s in enumerate(subspace.SAMPLERS):
        for r in range(len(runs_)):
            for m in study.members[s][r][:per_sampler]:
                rows.append(m.probs[pick].reshape(-1))
                w2.append(r)
                k2.append(-1 - j)
    if rows:
        X = np.concatenate([X, np.stack(rows)])
        who, kind = np.concatenate([who, w2]), np.concatenate([kind, k2])
    return X, who, kind


def sample_purity(X: np.ndarray, who: np.ndarray, kind: np.ndarray) -> float:
    """For the sample rows of :func:`tsne_with_samples` (kind < 0): the fraction whose nearest
    trajectory checkpoint (kind >= 0, any run; Euclidean, in the full prediction space) belongs
    to the run the sample was drawn around. 1.0: every sample stays in its own run's neighbourhood."""
    s, c = kind < 0, kind >= 0
    if not s.any():
        return float("nan")
    A, B = X[s], X[c]
    d = (A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * A @ B.T
    return float((who[c][d.argmin(1)] == who[s]).mean())


def sample_reach(X: np.ndarray, who: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """For each sample row of :func:`tsne_with_samples` (kind < 0): its distance to its own run's
    last checkpoint over the distance from that checkpoint to the nearest other run's last one
    (Euclidean, in the full prediction space). Below 1/2 a sample is nearer its own optimum than
    halfway to any other run's: how far short of the other modes the samples stop, which the
    nearest-checkpoint purity does not show (a sample drawn around an optimum is nearest to it
    long before it could reach another mode)."""
    s, c = kind < 0, kind >= 0
    runs_ = np.unique(who[c])
    if not s.any() or len(runs_) < 2:
        return np.array([])
    last = {r: X[c & (who == r)][np.argmax(kind[c & (who == r)])] for r in runs_}
    gap = {r: min(np.linalg.norm(last[r] - last[q]) for q in runs_ if q != r) for r in runs_}
    return np.array([np.linalg.norm(x - last[r]) / gap[r] for x, r in zip(X[s], who[s])])


def mc_dropout_disagreement(study: Study) -> dict:
    """MC dropout of the first run (seed 000 §3): mean pairwise disagreement between its passes,
    and between each pass and the deterministic network (fractions); empty without dropout."""
    if not study.mc:
        return {}
    final = study.R[0].probs()
    return dict(pairwise=metrics.mean_pairwise(metrics.disagreement, study.mc),
                to_final=float(np.mean([metrics.disagreement(p, final) for p in study.mc])))


@gates.gate(CHAPTER, maxsize=4)
def shift_study(P) -> list[dict]:
    """Accuracy, Brier score and Jensen-Shannon divergence under dataset shift (Fort et al. Fig 9).

    On ``P.shift_examples`` test images, for every corruption family and intensity 0..5
    (:mod:`helpers.corruptions`), each *method* contributes ``P.shift_members`` members:
    'independent' (the optima of the first runs), one per sampler (accepted samples around the
    first run, re-drawn from their seeds), 'MC dropout' (passes of the first run) and 'single'
    (the first run alone). Returns rows ``dict(family, intensity, method, acc, brier, js,
    member_acc)``: acc and brier of the members' averaged probabilities, js between the members,
    member_acc the members' mean accuracy. Intensity 0 (clean) is computed once, under family 'clean'.
    """
    study = subspace_study(P)
    P, R = study.P, study.R
    dev, _, bn_x = _eval_setup(P)
    ds = data.load(P.dataset)
    te = data.subset_indices(len(ds.test_y), P.n_test, ds.test_y)
    pick = example_subset(len(te), P.shift_examples, seed=2)
    x_raw, y = ds.test_x[te][pick], ds.test_y[te][pick]
    k = P.shift_members
    # every member is a weight vector evaluated in one network of the runs' architecture
    theta0 = [sub.theta0 for sub in study.subspaces]
    methods = {"independent": theta0[:k]}
    for s in subspace.SAMPLERS:
        methods[s] = [m.vector(study) for m in study.members[s][0][:k]]
    methods["single"] = theta0[:1]
    net = R[0].model().to(dev)
    rows = []
    sets = [("clean", 0)] + [(f, i) for f in corruptions.FAMILIES for i in corruptions.INTENSITIES]
    for fam, inten in sets:
        x = data._normalize(x_raw if inten == 0 else corruptions.corrupt(x_raw, fam, inten, seed=11), dev)
        x = x.contiguous(memory_format=torch.channels_last)
        for name, vecs in methods.items():
            if vecs:
                rows.append(_shift_row(fam, inten, name, [subspace.evaluate(net, v, x, bn_x) for v in vecs], y))
        if study.mc:
            subspace.evaluate(net, theta0[0], x, bn_x)  # the first run's weights (and BN) again
            rows.append(_shift_row(fam, inten, "MC dropout", subspace.mc_dropout(net, x, k, seed=13), y))
    return rows


def _shift_row(fam, inten, name, probs, y) -> dict:
    p = metrics.ensemble_probs(probs)
    js_each = js_per_example(probs)
    return dict(family=fam, intensity=inten, method=name, acc=metrics.accuracy(p, y),
                brier=metrics.brier(p, y), js=float(js_each.mean()),
                member_acc=float(np.mean([metrics.accuracy(q, y) for q in probs])),
                brier_each=_brier_each(p, y).astype(np.float32),
                js_each=js_each.astype(np.float32))


def js_per_example(list_of_probs) -> np.ndarray:
    """Per test example, the Jensen-Shannon divergence of the members' predicted distributions
    (nats; the terms whose mean is :func:`helpers.metrics.js_divergence`; 0 for one member)."""
    from scipy.stats import entropy

    p = np.stack([np.asarray(q, dtype=np.float64) for q in list_of_probs])  # (M, N, C)
    return entropy(p.mean(0), axis=-1) - entropy(p, axis=-1).mean(0)


def shift_per_example(rows: list[dict], key: str, methods) -> np.ndarray:
    """(len(methods), 6, n): per test image, ``key + '_each'`` ('brier' or 'js') of each method
    at intensity 0..5, averaged over the corruption families. The mean over the last axis is
    :func:`shift_by_intensity`'s value; every set holds the same n images, so the images are
    the units a bootstrap resamples (all methods and intensities together)."""
    return np.stack([np.stack([np.mean([r[f"{key}_each"] for r in rows if r["method"] == m
                                        and r["intensity"] == i], axis=0, dtype=np.float64)
                               for i in range(6)]) for m in methods])


def shift_estimate(rows: list[dict], key: str, methods, statistic) -> stats.Estimate:
    """``statistic(V)`` of the family-averaged means ``V`` (methods x intensity 0..5, of
    :func:`shift_per_example`), with a bootstrap over the test images (each resample draws
    images once for every method, family and intensity: the comparison is paired)."""
    E = shift_per_example(rows, key, methods)
    shape = E.shape[:2]
    return stats.per_example(lambda *cols: statistic(np.array([c.mean() for c in cols])
                                                     .reshape(shape)),
                             *E.reshape(-1, E.shape[-1]))


def gap_growth_estimate(rows: list[dict], methods) -> stats.Estimate:
    """How much the JS lead of ``methods[0]`` over the largest of the others grows from the
    clean test set to intensity 5, averaged over the corruption families, with a bootstrap over
    the families (the clean gap, one set of images, held fixed). Whether a lead widens under
    shift depends on the kind of shift far more than on the images drawn, so the families are
    the units resampled."""
    fams = sorted({r["family"] for r in rows if r["intensity"] == 5})
    js = {(r["family"], r["method"]): r["js"] for r in rows if r["intensity"] in (0, 5)}
    clean = js_gap(np.array([[js["clean", m]] for m in methods]))[0]
    top = np.array([[js[f, m] for f in fams] for m in methods])  # methods x families

    def growth(idx):
        return js_gap(top[:, idx.astype(np.int64)].mean(1)[:, None])[0] - clean

    return stats.bootstrap((np.arange(len(fams), dtype=np.float64),), growth,
                           unit="corruption families", method="percentile",
                           n_resamples=2000)


def js_gap(V: np.ndarray) -> np.ndarray:
    """Per intensity, the first method's value minus the largest of the others' (rows of ``V``,
    methods x intensities): how far independent runs lead the most diverse other method."""
    return V[0] - V[1:].max(0)


def exponent_estimate(acc, ndis, a_star: float, C: int = 10, grid=None) -> stats.Estimate:
    """The D.3 exponent of :func:`helpers.metrics.fit_diversity_exponent` with a bootstrap over
    the plane's samples: each resample refits e to samples drawn with replacement. A point's
    squared distance to each curve of the grid is computed once; a resample's fit is then the
    grid value that minimises the sum over its points (the same least squares)."""
    acc, ndis = np.asarray(acc, dtype=np.float64), np.asarray(ndis, dtype=np.float64)
    ok = np.isfinite(acc) & np.isfinite(ndis)
    acc, ndis = acc[ok], ndis[ok]
    grid = np.linspace(0.02, 3.0, 300) if grid is None else np.asarray(grid)
    p = np.linspace(0.0, 1.0, 2000)
    cost = np.empty((len(acc), len(grid)))
    for j, e in enumerate(grid):
        a, d = metrics.diversity_family(a_star, C, e, p)
        cost[:, j] = ((acc[:, None] - a[None]) ** 2 + (ndis[:, None] - d[None]) ** 2).min(1)
    return stats.bootstrap((np.arange(len(acc), dtype=np.float64),),
                           lambda i: grid[np.argmin(cost[i.astype(np.int64)].sum(0))],
                           unit="subspace samples", method="percentile", n_resamples=2000)


def shift_by_intensity(rows: list[dict], key: str) -> dict:
    """``{method: array over intensity 0..5}`` of ``key`` averaged over the corruption families
    (intensity 0 is the clean test set)."""
    return {m: np.array([np.mean(v) for v in per]) for m, per in _by_intensity(rows, key).items()}


def _by_intensity(rows: list[dict], key: str) -> dict:
    """``{method: [values of the families at intensity i] for i in 0..5}``."""
    return {m: [[r[key] for r in rows if r["method"] == m and r["intensity"] == i] for i in range(6)]
            for m in dict.fromkeys(r["method"] for r in rows)}


def shift_interval_by_intensity(rows: list[dict], key: str) -> dict:
    """``{method: (lo, hi) arrays over intensity 0..5}``: Student's t interval (95%) of
    :func:`shift_by_intensity`'s mean over the corruption families, the units the chapter's shift
    rows resample (intensity 0, the one clean set, has none: NaN)."""
    out = {}
    for m, per in _by_intensity(rows, key).items():
        ests = [stats.mean_t(v, unit="families") for v in per]
        out[m] = tuple(np.array([getattr(e, end) if e.has_interval else np.nan for e in ests])
                       for end in ("lo", "hi"))
    return out


# --------------------------------------------------------------------------------------------
# uncertainty and the claims table


def neighbour_same(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per row: whether its nearest other row belongs to the same group (the terms of
    :func:`neighbour_purity`, so that it can be averaged run by run)."""
    sq = (X ** 2).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * X @ X.T
    np.fill_diagonal(d, np.inf)
    return groups[d.argmin(1)] == groups


def _by_run(values, who) -> np.ndarray:
    """The mean of ``values`` within each run (``who``: the run of each value)."""
    return np.array([np.mean(values[who == i]) for i in np.unique(who)])


def _brier_each(p, y) -> np.ndarray:
    p = np.asarray(p)
    return ((p - np.eye(p.shape[1])[y]) ** 2).sum(1)


def _correct(p, y) -> np.ndarray:
    return (np.asarray(p).argmax(1) == y).astype(np.float64)


def detectable_sentences(P, R) -> list[str]:
    """What the chapter's R runs can detect: accuracy differences and the seed SD itself."""
    labels = R[0].labels
    acc = 100 * np.array([metrics.accuracy(r.probs(), labels) for r in R])
    k = len(acc)
    sd = stats.sd_ci(acc)
    if k < 2:
        return ["One run: nothing about seeds can be decided at this profile."]
    return [f"With R = {k} runs, the seed-to-seed SD of accuracy ({sd.value:.2f} pp) is known "
            f"only to within {sd.lo:.2f}-{sd.hi:.2f} pp (95%, chi-square); a mean accuracy "
            f"against a fixed figure is decided when they differ by more than "
            f"{stats.detectable_difference(acc.std(ddof=1), k):.2f} pp (80% power, 5% level), "
            f"and two such groups of runs by more than "
            f"{stats.detectable_difference(acc.std(ddof=1), k, k):.2f} pp."]


def accuracy_bar(variant: str) -> float:
    """The accuracy row's bar (%): issue 13's 89% on the JPEG pack, 90% on the original."""
    return 89.0 if variant == "cifar10-jpeg" else 90.0


@gates.gate(CHAPTER, maxsize=0)  # not memoized: a fresh table each call
def claims_table(P):
    """The chapter's claims, every row with its 95% interval and the units it rests on."""
    P, R = independent_runs(P)
    labels = R[0].labels
    n = len(labels)
    acc = 100 * np.array([metrics.accuracy(r.probs(), labels) for r in R])
    sd = stats.sd_ci(acc)
    dis_m = 100 * cross_seed_matrix(R, metrics.disagreement)
    cos_m = cross_seed_matrix(R, metrics.cosine_similarity, what="weights")
    within = late_disagreements(R)
    within_run = np.array([w.mean() if len(w) else np.nan for w in within])
    within_all = np.concatenate(within)
    late_cos = np.array([to_final(r, metrics.cosine_similarity, late_epochs(r),
                                  what="weights").mean() for r in R])
    X, who, _ = prediction_vectors(R, [e for e in P.save_epochs if e > 0],
                                   n_examples=P.tsne_examples)
    members = [r.probs() for r in R]
    ens = metrics.ensemble_probs(members)
    gain_each = 100 * (_correct(ens, labels) - np.mean([_correct(p, labels) for p in members], 0))
    resnet = P.model == "resnet20" and P.n_train is None
    small = P.model == "smallcnn" and P.n_train is None
    why_model = "" if resnet else \
        f"the source's figure is for ResNet20v1 on full CIFAR-10; this run is {P.model}"

    T = claims.ClaimsTable("03_modes", P.profile, R[0].variant, config.seed_base(P))
    T.add("seed 000 §3", "ResNet20v1 test accuracy across seeds", "89.95 ± 0.18 %",
          stats.mean_t(acc), claims.above(accuracy_bar(R[0].variant)),
          fmt="{:.2f} %", testable=resnet,
          note=why_model or "this book's bar: ≥ 89% on the JPEG pack, 90% on the original "
               "(the sources' about 90%, less a point for the JPEG copy)")
    e10 = 10 if all(10 in r.epochs for r in R) else None
    acc10 = 100 * np.array([metrics.accuracy(r.probs(e10), labels) for r in R]) \
        if e10 is not None else np.full(len(R), np.nan)
    T.add("seed 004 §3", "SmallCNN reaches about 64% test accuracy (10 epochs)", "64 %",
          stats.mean_t(acc10), claims.within(64, 5), fmt="{:.2f} %",
          testable=small and e10 is not None,
          note=(f"at the epoch-10 checkpoint of our {P.epochs}-epoch runs, as the source's 10 "
                f"epochs (the learning rate halves every {P.milestones[0] if P.milestones else '-'}"
                " epochs here, every 10 there); our reading of SmallCNN (3x3 'same' "
                "convolutions, ReLU, 2x2 max pooling, dropout before one linear layer) may be "
                "stronger than theirs") if small else "this run is not SmallCNN on full CIFAR-10")
    T.add("seed 000 §3", "Different seeds reach effectively identical accuracy (sd across "
          "seeds)", "± 0.18 pp", sd, claims.below(0.5), fmt="{:.2f} pp",
          note=sd_note(sd, len(acc)) + "; the source's ± read as an SD over its three runs")
    T.add("seed 000 §3", "Cross-seed disagreement of ResNet20v1 (mean over pairs)", "10.97 %",
          stats.pairwise(dis_m), claims.between(9, 13), fmt="{:.2f} %", testable=resnet,
          note=why_model)
    T.add("seed 000 §3", "Within one ResNet20v1 trajectory, checkpoints disagree on only 1-5% "
          "(late checkpoints vs final)", "1-5 %", stats.mean_t(within_run),
          claims.between(1, 5), fmt="{:.2f} %", testable=resnet,
          note=(f"range {within_all.min():.1f}-{within_all.max():.1f} %; by epoch: "
                f"{by_epoch_text(R, within)}; " if len(within_all) else "")
          + (why_model and why_model + f" at {100 - acc.mean():.0f}% test error; "
             "the scale-free form is the next row"))
    T.add("seed 004 Figs 2-3", "Cross-seed disagreement far exceeds within-trajectory "
          "disagreement (ratio of means)", "≈ 10.97 % vs 1-5 %",
          stats.pairwise(dis_m, lambda d, w: d / w, per_run=[within_run]), claims.above(2),
          fmt="{:.1f}x")
    T.add("seed 000 §3 / seed 004 Fig 3", "Weights of different seeds are nearly orthogonal "
          "(mean cosine)", "≈ 0.105", stats.pairwise(cos_m), claims.below(0.2), fmt="{:.3f}",
          note="" if resnet else "the source's figure is for ResNet20v1; cosine similarity "
          "depends on the architecture and on how far training moves the weights from their "
          "initialization")
    T.add("seed 004 Fig 2a", "Late checkpoints of a trajectory point the same way as its final "
          "weights (mean cosine)", "high (Fig 2a)", stats.mean_t(late_cos), claims.above(0.8),
          fmt="{:.3f}")
    T.add("seed 000 §3 / seed 004 Fig 2c", "Each seed is its own island: nearest other "
          "checkpoint is from the same run", "separate clusters (t-SNE)",
          stats.bootstrap_runs(_by_run(neighbour_same(X, who).astype(float), who)),
          claims.above(0.9), fmt="{:.2f}")
    T.add("seed 000 §3", "Ensembles of independent seeds beat their members (gain of the "
          "R-ensemble)", "errors cancel", stats.per_example(np.mean, gain_each),
          claims.above(0.5), fmt="{:+.2f} pp",
          note="the interval covers the test images, for these runs")

    # ---- part 2: subspaces, the diversity-accuracy plane, ensembles, dataset shift, MC dropout
    S = subspace_study(P)
    rows = shift_study(P)
    Xs, whos, kinds = tsne_with_samples(S, n_runs=3, per_sampler=5)
    pl = plane_summary(S)
    acc_all, nd_all, band, share = pl.acc, pl.nd, pl.band, pl.share
    od = pl.points["independent"][1]
    mm = {k: v for k, v in method_members(S).items() if v}
    y = labels[S.test]
    samplers = [s for s in subspace.SAMPLERS if s in mm]
    ind = mm["independent"]
    full = {k: metrics.ensemble_probs(v) for k, v in mm.items()}
    best_R = min(samplers, key=lambda s: metrics.brier(full[s], y))
    best_1 = max(samplers, key=lambda s: np.mean([metrics.accuracy(p, y) for p in mm[s]]))
    pairs_correct = np.mean([_correct(metrics.ensemble_probs([a, b]), y)
                             for a, b in itertools.combinations(ind, 2)], 0)
    one_sampler = np.mean([_correct(p, y) for p in mm[best_1]], 0)
    js = shift_by_intensity(rows, "js")
    others = [k for k in js if k not in ("independent", "single")]
    gap = js["independent"] - np.max([js[k] for k in others], axis=0) if others else None
    brier5 = {k: v[-1] for k, v in shift_by_intensity(rows, "brier").items()}
    mc = mc_dropout_disagreement(S)
    s_rows, c_rows = kinds < 0, kinds >= 0
    if s_rows.any():
        A, B = Xs[s_rows], Xs[c_rows]
        d = (A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * A @ B.T
        own = (whos[c_rows][d.argmin(1)] == whos[s_rows]).astype(float)
        purity_s = stats.bootstrap_runs(_by_run(own, whos[s_rows]))
    else:
        purity_s = stats.point(float("nan"))
    reach = sample_reach(Xs, whos, kinds)
    T.add("seed 004 Fig 4", "Subspace samples stay in their own run's neighbourhood (nearest "
          "trajectory checkpoint is their run's)", "samples do not reach other runs", purity_s,
          claims.above(0.9), fmt="{:.2f}",
          note="" if not len(reach) else
          "nearly true by construction once the modes are apart (a sample drawn around an "
          "optimum is nearest to it); how far the samples go: distance to their own optimum / "
          "from it to the nearest other run's, median "
          f"{np.median(reach):.2f} (largest {reach.max():.2f}; 0.5 is halfway)")
    k_band = int((nd_all[band] >= od.min()).sum())
    T.add("seed 004 Fig 6", "At comparable accuracy (within 3 pp of the optima) no subspace "
          "sample is as diverse as the least diverse independent optimum",
          "optima dominate the plane",
          stats.proportion(k_band, int(band.sum())) if band.any() else None,
          claims.below(0.05), fmt="{:.0%}" + f" of {band.sum()} samples",
          note="" if band.any() else "no subspace sample came within 3 pp of the optima's "
          "accuracy")
    T.add("seed 004 App. D.1", "Even independent optima stay below the uncorrelated (upper) "
          "limit (diversity / limit)", "below the limit",
          stats.mean_t(share, unit="runs (the optima other than the reference; the mean of "
                       "their diversity / limit)"),
          claims.below(1.0), fmt="{:.2f}",
          note=f"on average the {len(share)} optima reach {share.mean():.0%} of the "
          f"uncorrelated limit (each: {share.min():.0%} to {share.max():.0%}): their errors "
          "are strongly correlated, while seed 000 explains why ensembles work by independent "
          "failure modes")
    T.add("seed 004 App. D.3 / Fig S6", "The one-parameter family fits the samples with e < 1 "
          "(mistakes flip before correct answers)", "e = 0.22 (ResNet20v1, CIFAR-100)",
          exponent_estimate(acc_all, nd_all, pl.a_star, 10), claims.below(1.0),
          fmt="e = {:.2f}",
          note="the source's e is for another model and dataset; only e < 1 is tested; the "
          "interval refits e to the plane's samples drawn with replacement (all around the "
          "first run: it covers the samples, not other reference runs)")
    T.add("seed 004 Fig 8", "A second independent run buys more accuracy than averaging one "
          "run's subspace samples (best sampler)", "ensembling > subspace",
          stats.per_example(np.mean, 100 * (pairs_correct - one_sampler)), claims.above(0),
          fmt="{:+.2f} pp", note=f"best sampler at m = 1: {subspace.NAMES[best_1]}, "
          f"{S.P.samples} samples per run; the interval covers the test images")
    T.add("seed 004 Fig 8", "Subspace sampling and ensembling are complementary: R-ensemble "
          "with samples beats the plain R-ensemble (Brier, best sampler)", "complementary",
          stats.per_example(np.mean, _brier_each(full["independent"], y)
                            - _brier_each(full[best_R], y)),
          claims.above(0), fmt="Brier {:+.4f} better",
          note=f"best sampler: {subspace.NAMES[best_R]}, R = {len(R)}; the best of "
          f"{len(samplers)} samplers is picked, which favours the claim")
    T.add("seed 004 §5 / Fig 8", "Weight averaging of late iterates is complementary to "
          "ensembling (R-ensemble of WA vs of final weights, Brier)", "WA helps within each mode",
          stats.per_example(np.mean, _brier_each(full["independent"], y)
                            - _brier_each(full["WA"], y)),
          claims.above(0), fmt="Brier {:+.4f} better")
    if others:
        closest = sorted({plots.METHOD_STYLE[max(others, key=lambda k: js[k][i])]["label"]
                          for i in range(6)})
        fam = _family_gaps(rows, others)
        bad = [f"{f} at intensity {i}" for (f, i), g in fam.items() if g <= 0]
        gaps = ["independent"] + others
        min_gap = shift_estimate(rows, "js", gaps, lambda V: js_gap(V).min())
        growth = gap_growth_estimate(rows, gaps)
    T.add("seed 004 Fig 9", "Members of independent runs disagree most under shift, on average "
          "over corruption families: JS divergence above every subspace method at every "
          "intensity", "highest for independent runs", min_gap if others else None,
          claims.above(0), fmt="min gap {:+.4f} nats",
          note=("the smallest gap over intensities 0-5; closest: " + ", ".join(closest)
                + "; family by family, another method is above at "
                + (", ".join(bad) if bad else "no intensity")
                + "; the interval covers the test images, for these members")
          if others else "")
    T.add("seed 004 Fig 9", "The JS gap between independent runs and the most diverse other "
          "method grows with shift (intensity 5 minus clean, family average)", "gap grows",
          growth if others else None, claims.above(0), fmt="{:+.4f} nats",
          note=(f"gap clean {gap[0]:+.4f}, intensity 5 {gap[-1]:+.4f} nats; the families "
                "are the units: they differ far more than the images' noise (an interval "
                "over the test images alone turned the verdict on fresh seeds)")
          if others else "")
    brier_methods = ["independent"] + [k for k in brier5 if k != "independent"]
    T.add("seed 004 Fig 9", "Under the strongest shift the ensemble of independent runs has "
          "the lowest Brier score of all methods (family average)", "ensembles best under shift",
          shift_estimate(rows, "brier", brier_methods, lambda V: V[1:, -1].min() - V[0, -1]),
          claims.above(0), fmt="Brier {:+.4f} better",
          note="intensity 5; the interval covers the test images, for these members")
    mc_pair = (100 * stats.pair_matrix(metrics.disagreement, S.mc)) if mc else None
    T.add("seed 000 §3", "MC dropout stays in its mode: passes disagree on only 1-5% "
          "(ResNet20v1)", "1-5 %", stats.pairwise(mc_pair, n_resamples=1000) if mc else None,
          claims.between(1, 5), fmt="{:.2f} %", testable=resnet, note=why_model or "")
    T.add("seed 000 §3", "MC-dropout diversity is well below cross-seed diversity (ratio of "
          "mean disagreements)", "≈ 10.97 % vs 1-5 %",
          stats.pairwise([dis_m, mc_pair], lambda a, b: a / b if b else np.nan,
                         n_resamples=1000) if mc else None, claims.above(2), fmt="{:.1f}x",
          note="passes of one run, resampled like runs" if mc else "this model has no dropout")
    return T


def _family_gaps(rows: list[dict], others) -> dict:
    """``{(family, intensity): JS of 'independent' minus the largest other method's}``."""
    out = {}
    for f in dict.fromkeys(r["family"] for r in rows):
        for i in range(1, 6):
            js = {r["method"]: r["js"] for r in rows if r["family"] == f and r["intensity"] == i}
            if "independent" in js and any(k in js for k in others):
                out[(f, i)] = js["independent"] - max(js[k] for k in others if k in js)
    return out


# --------------------------------------------------------------------------------------------
# the diversity-accuracy plane in one object, and the sentences the notebook prints


@dataclasses.dataclass
class Plane:
    """The diversity-accuracy plane around the first run (Fort et al. Fig 6, App. D)."""

    points: dict         # plane_points(study)
    a_star: float        # the reference's accuracy
    acc: np.ndarray      # every plane sample's accuracy (all samplers)
    nd: np.ndarray       # and its normalised disagreement with the reference
    e: float             # the fitted D.3 exponent
    share: np.ndarray    # each other optimum's diversity / the uncorrelated limit
    band: np.ndarray     # samples within 3 pp of the least accurate optimum


def plane_summary(study: Study) -> Plane:
    """Everything the chapter reads off the diversity-accuracy plane of ``study``."""
    pts = plane_points(study)
    a_star = metrics.accuracy(study.R[0].probs(), study.labels)
    acc = np.concatenate([pts[s][0] for s in subspace.SAMPLERS])
    nd = np.concatenate([pts[s][1] for s in subspace.SAMPLERS])
    oa, od = pts["independent"]
    upper = metrics.diversity_limits(a_star, 10)[0]
    return Plane(pts, a_star, acc, nd, metrics.fit_diversity_exponent(acc, nd, a_star, 10),
                 od / upper(oa), acc >= oa.min() - 0.03)


def profile_sentence(profile: str) -> str:
    """How the chapter's preset at ``profile`` trains its runs, in words, read from
    :mod:`helpers.config` (so the introduction cannot go stale when a preset changes)."""
    Q = config.chapter_params(CHAPTER, profile)
    opt = (f"SGD at {Q.lr:g} with momentum {Q.momentum:g} and weight decay {Q.weight_decay:g}"
           if Q.optimizer == "sgd" else f"{Q.optimizer.capitalize()} at {Q.lr:g}")
    schedule = {"cosine": (f"{prose.plural(Q.warmup_epochs, 'warmup epoch')} then cosine "
                           "decay" if Q.warmup_epochs else "cosine decay"),
                "halving": (f"the rate multiplied by {Q.gamma:g} every "
                            f"{prose.plural(Q.milestones[0], 'epoch')}"
                            if Q.milestones else "a constant rate")}.get(Q.schedule, Q.schedule)
    images = ("all 50,000 training images" if Q.n_train is None
              else f"a {Q.n_train:,}-image subset")
    dropout = f" (dropout {Q.dropout:g})" if Q.dropout else ""
    return (f"{Q.seeds} independent runs of {models.display_name(Q.model)}{dropout} on {images} "
            f"{'with crops and flips' if Q.augment else 'without augmentation'}: {opt}, "
            f"batch {Q.batch_size}, {schedule}, for {prose.plural(Q.epochs, 'epoch')} in "
            f"{Q.precision}")


def describe_runs(P, R) -> str:
    """The runs' setup: model, data, schedule, checkpoints and training time."""
    ms = f" milestones {list(P.milestones)}" if P.milestones else ""
    return "\n".join([
        f"profile: {P.profile}; model: {P.model} (width {P.width}); training images: "
        f"{P.n_train or 'all'}; epochs: {P.epochs}; batch {P.batch_size}; {P.optimizer} lr "
        f"{P.lr}{f' momentum {P.momentum}' if P.optimizer == 'sgd' else ''}, schedule "
        f"{P.schedule}{ms}, warmup {P.warmup_epochs} epochs, weight decay {P.weight_decay}, augmentation "
        f"{'on' if P.augment else 'off'}, dropout {P.dropout}, deterministic kernels "
        f"{'on' if P.deterministic else 'off'}, precision {P.precision}",
        f"R = {len(R)} runs; checkpoints shown at epochs {list(P.save_epochs)}; late iterates "
        f"kept for part 2: epochs {list(P.swag_epochs)}; test examples: {len(R[0].labels)}",
        f"training time per run: {np.mean([r.meta['seconds'] for r in R]):.0f} s on "
        f"{R[0].meta['device_name']}"])


def accuracy_text(R) -> str:
    """Each seed's final test accuracy, and their mean and SD."""
    acc = 100 * np.array([metrics.accuracy(r.probs(), r.labels) for r in R])
    lines = [f"seed {r.spec.seed_init}: test accuracy {a:.2f}%" for r, a in zip(R, acc)]
    return "\n".join(lines + [f"mean ± sd over {len(R)} seeds: {acc.mean():.2f}% ± "
                              f"{acc.std(ddof=1):.2f}%"])


def cross_seed_text(R) -> str:
    """Cross-seed disagreement (mean, range, 95% interval) and weight cosine similarity."""
    dis = 100 * cross_seed_matrix(R, metrics.disagreement)
    d = off_diagonal(dis)
    c = off_diagonal(cross_seed_matrix(R, metrics.cosine_similarity, what="weights"))
    err = 100 * (1 - np.mean([metrics.accuracy(r.probs(), r.labels) for r in R]))
    ci = stats.pairwise(dis)
    return (f"cross-seed disagreement: mean {d.mean():.2f}% (range {d.min():.2f}-"
            f"{d.max():.2f}%), while the test error is {err:.2f}%\n"
            f"95% interval of the mean disagreement (bootstrap over the {len(R)} runs, "
            f"resampling runs, not pairs): {ci.lo:.2f}-{ci.hi:.2f}%\n"
            f"cross-seed cosine similarity: mean {c.mean():.3f} (range {c.min():.3f} to "
            f"{c.max():.3f})")


def late_disagreements(R) -> list[np.ndarray]:
    """Per run, the disagreement (%) of each late checkpoint (:func:`late_epochs`) with the
    run's final model."""
    return [100 * to_final(r, metrics.disagreement, late_epochs(r)) for r in R]


def by_epoch_text(R, within) -> str:
    """The mean over runs of ``within`` (:func:`late_disagreements`) at each late epoch: the
    levels that the within-trajectory mean mixes."""
    per = {}
    for r, w in zip(R, within):
        for e, d in zip(late_epochs(r), w):
            per.setdefault(e, []).append(d)
    return ", ".join(f"{e}: {np.mean(v):.1f}%" for e, v in sorted(per.items()))


def sd_note(sd, runs: int) -> str:
    """How well ``runs`` runs pin down an SD (``sd``: its chi-square interval, ``stats.sd_ci``):
    the interval's ends as factors of the SD."""
    return (f"{runs} runs: the SD is known only to within a factor of about "
            f"{sd.value / sd.lo:.1f} below and {sd.hi / sd.value:.1f} above (the interval)")


def within_text(R) -> str:
    """Late-checkpoint-to-final disagreement against cross-seed disagreement."""
    within = late_disagreements(R)
    w = np.concatenate(within)
    a = 100 * off_diagonal(cross_seed_matrix(R, metrics.disagreement))
    return (f"within a trajectory (checkpoints in the last half of training vs final): "
            f"{w.min():.2f}-{w.max():.2f}% (mean {w.mean():.2f}%, {len(w)} pairs)\n"
            f"  mean by epoch of the checkpoint: {by_epoch_text(R, within)}\n"
            f"across seeds: {a.min():.2f}-{a.max():.2f}% (mean {a.mean():.2f}%, {len(a)} "
            f"pairs); ratio of means {a.mean() / w.mean():.1f}x")


def late_purity(X, who, when) -> tuple[float, int, int]:
    """Nearest-neighbour purity of the later half of the kept checkpoints (by count, not by
    epoch), and that half's first and last epoch."""
    ep = np.unique(when)
    late = when >= ep[len(ep) // 2]
    return float(neighbour_purity(X[late], who[late])), int(ep[len(ep) // 2]), int(ep[-1])


def purity_text(X, who, when, R) -> str:
    """Nearest-neighbour purity of the checkpoints: all after epoch 0, and the later half of the
    kept checkpoints (:func:`late_purity`)."""
    p_late, first, last = late_purity(X, who, when)
    return (f"nearest-neighbour purity (same run), all checkpoints after epoch 0: "
            f"{neighbour_purity(X, who):.2f}; the later half of the kept checkpoints (epochs "
            f"{first} to {last}): {p_late:.2f}; chance about {1 / len(R):.2f}")


def ensemble_text(curve) -> str:
    """Accuracy and NLL of the ensembles of each size."""
    return "\n".join(f"m = {m}: accuracy {100 * a:.2f}%, NLL {n:.3f}"
                     for m, a, n in zip(curve["size"], curve["acc"], curve["nll"]))


def study_text(S: Study) -> str:
    """Part 2's setup: late iterates, strengths, the floor and the two halves of the test set."""
    P = S.P
    return (f"late iterates: epochs {list(P.swag_epochs)} ({len(P.swag_epochs)} per run); "
            f"low-rank Gaussian rank {len(S.subspaces[0].components)}\n"
            f"strengths: random t in {P.random_range} (log-uniform), p_keep in "
            f"{P.dropout_range}, Gaussian scale in {P.gauss_range} (log-uniform)\n"
            f"accuracy floor {P.accuracy_floor:.2f} on the validation half ({len(S.val)} "
            f"images); ensembles scored on {len(S.test)} images")


def sampler_table(S: Study):
    """Per sampler: the plane samples' accuracy range, members kept of drawn, the members'
    mean accuracy and disagreement with their own optimum (a :class:`plots.TextTable`)."""
    y, rows = S.labels, []
    for s in subspace.SAMPLERS:
        pa = [metrics.accuracy(p.probs, y) for p in S.plane if p.sampler == s]
        ms = [m for run_ms in S.members[s] for m in run_ms]
        acc = [metrics.accuracy(m.probs, y) for m in ms] or [np.nan]
        dis = [metrics.disagreement(m.probs, S.R[m.run].probs()) for m in ms] or [np.nan]
        rows.append([subspace.NAMES[s], f"{100 * min(pa):.1f}-{100 * max(pa):.1f}%",
                     f"{S.accepted(s)} / {S.tried[s]}", f"{100 * np.mean(acc):.2f}%",
                     f"{100 * np.mean(dis):.2f}%"])
    return plots.TextTable(["sampler", "plane samples: accuracy range", "members kept / drawn",
                            "mean member acc", "disagreement w/ own optimum"], rows)


def wa_text(S: Study) -> str:
    """The weight averages' accuracy against the final weights', and the time the study took."""
    y = S.labels
    wa = np.mean([metrics.accuracy(w, y) for w in S.wa])
    fin = np.mean([metrics.accuracy(r.probs(), y) for r in S.R])
    return (f"weight average of the late iterates: {100 * wa:.2f}% vs final weights "
            f"{100 * fin:.2f}% (mean over {len(S.R)} runs)\n"
            f"forward passes for all samples: {S.seconds:.0f} s")


def sample_purity_text(X, who, kind, R) -> str:
    """How many samples, and the share whose nearest checkpoint is their own run's."""
    return (f"{int((kind < 0).sum())} samples; nearest trajectory checkpoint from the run "
            f"they were drawn around: {sample_purity(X, who, kind):.2f} (chance about "
            f"{1 / min(3, len(R)):.2f})")


def plane_text(S: Study) -> str:
    """The plane's numbers: a*, e, the optima's accuracy, diversity and share of the limit."""
    pl = plane_summary(S)
    oa, od = pl.points["independent"]
    top = pl.nd[pl.band].max() if pl.band.any() else float("nan")
    return (f"reference accuracy a* = {100 * pl.a_star:.2f}%; fitted D.3 exponent e = "
            f"{pl.e:.2f} (source: 0.22, ResNet20v1 on CIFAR-100)\n"
            f"independent optima ({len(oa)}): accuracy {100 * oa.min():.2f}-"
            f"{100 * oa.max():.2f}%, normalised diversity {od.min():.2f}-{od.max():.2f}, i.e. "
            f"on average {100 * pl.share.mean():.0f}% of the uncorrelated limit at their "
            f"accuracy (each {100 * pl.share.min():.0f}-{100 * pl.share.max():.0f}%)\n"
            f"subspace samples within 3 pp of the optima's accuracy: {pl.band.sum()}; their "
            f"normalised diversity at most {top:.2f}")


def method_curves(S: Study) -> dict:
    """Per method, :func:`ensemble_curve` on the scoring half of the test set (Fig 8)."""
    yt = S.labels[S.test]
    return {k: ensemble_curve(v, yt) for k, v in method_members(S).items() if v}


def method_table(curves: dict):
    """Accuracy, Brier and NLL of each method at m = 1 and m = R (a :class:`plots.TextTable`)."""
    R = len(next(iter(curves.values()))["size"])
    rows = [[plots.METHOD_STYLE[k]["label"], f"{100 * c['acc'][0]:.2f}%",
             f"{100 * c['acc'][-1]:.2f}%", f"{c['brier'][0]:.4f}", f"{c['brier'][-1]:.4f}",
             f"{c['nll'][0]:.3f}", f"{c['nll'][-1]:.3f}"] for k, c in curves.items()]
    return plots.TextTable(["method", "acc m=1", f"acc m={R}", "Brier m=1", f"Brier m={R}",
                            "NLL m=1", f"NLL m={R}"], rows)


def shift_text(rows: list[dict], P) -> str:
    """The shift study's size, and per family at intensity 5: the ensemble's and the single
    model's accuracy, and the JS divergence of independent members against the largest
    subspace method's."""
    n = len(next(r["js_each"] for r in rows))
    out = [f"{n} test images per corrupted set; {P.shift_members} members per method; "
           f"families: {', '.join(corruptions.FAMILIES)}"]
    for fam in corruptions.FAMILIES:
        r5 = {r["method"]: r for r in rows if r["family"] == fam and r["intensity"] == 5}
        js = max(v["js"] for k, v in r5.items() if k not in ("independent", "single"))
        out.append(f"  {fam:<15} intensity 5: ensemble acc "
                   f"{100 * r5['independent']['acc']:.1f}%, single model "
                   f"{100 * r5['single']['acc']:.1f}%; JS independent "
                   f"{r5['independent']['js']:.3f} vs largest subspace {js:.3f}")
    return "\n".join(out)


def mc_text(S: Study) -> str:
    """MC-dropout disagreement (pass vs pass, pass vs network) against cross-seed's."""
    mc = mc_dropout_disagreement(S)
    if not mc:
        return "this model was trained without dropout: nothing to sample"
    cross = 100 * off_diagonal(cross_seed_matrix(S.R, metrics.disagreement)).mean()
    return (f"MC dropout, {len(S.mc)} passes of seed {S.R[0].spec.seed_init}: pass vs pass "
            f"{mc['pairwise'] * 100:.2f}%, pass vs deterministic network "
            f"{mc['to_final'] * 100:.2f}%; across seeds {cross:.2f}% "
            f"({cross / (100 * mc['pairwise']):.1f}x)")


# --------------------------------------------------------------------------------------------
# the page's prose: three captions and the closing section, worded from this run (glued into the
# page by helpers.prose, so that a page executed at any profile or on other seeds says what its
# own figures and claims table show)


def epochs_text(epochs) -> str:
    """'20', '20 and 30', '20, 30 and 35-39': sorted epochs, runs of consecutive ones joined."""
    epochs, spans = sorted(epochs), []
    for e in epochs:
        if spans and e == spans[-1][1] + 1:
            spans[-1][1] = e
        else:
            spans.append([e, e])
    return prose.join([f"{a}" if a == b else f"{a}-{b}" for a, b in spans])


def epoch_range(first: int, last: int) -> str:
    """'epoch 2' or 'epochs 10-40'."""
    return f"epoch {first}" if first == last else f"epochs {first}-{last}"


def epoch_levels(R) -> dict:
    """Figure 4 read epoch by epoch: every kept checkpoint after initialization and before the
    last epoch, against the band of cross-seed disagreements (their range over the pairs).

    Returns ``band`` ``(lo, hi)`` (%), the epochs whose checkpoints all lie ``below`` the band,
    all ``above`` it, or some in it (``inside``), and ``low``: the epochs at which every run's
    checkpoint disagrees with its final model on at most 5% (seed 000's 1-5%)."""
    cross = 100 * off_diagonal(cross_seed_matrix(R, metrics.disagreement))
    lo, hi = float(cross.min()), float(cross.max())
    per: dict = {}
    for r in R:
        ep = [e for e in r.epochs if 0 < e < r.spec.epochs]
        for e, d in zip(ep, 100 * to_final(r, metrics.disagreement, ep)):
            per.setdefault(e, []).append(float(d))
    out = dict(band=(lo, hi), below=[], inside=[], above=[], low=[])
    for e, v in sorted(per.items()):
        out["below" if max(v) < lo else "above" if min(v) > hi else "inside"].append(e)
        if max(v) <= 5:
            out["low"].append(e)
    return out


def lr_share(spec: train.Spec, epoch: int, n_train: int) -> float:
    """The learning rate at the start of ``epoch`` as a share of the recipe's rate."""
    steps = train.epoch_steps(spec, n_train)
    return train.lr_at(spec, epoch * steps, steps) / spec.lr


def figure4_reading(R) -> str:
    """Figure 4's caption, last sentence: where this run's checkpoints lie against the band."""
    L = epoch_levels(R)
    lo, hi = L["band"]
    last = R[0].spec.epochs
    below, inside, above = L["below"], L["inside"], L["above"]
    tail = [e for e in below if all(x in below for x in L["below"] + L["inside"] + L["above"]
                                    if x > e)]
    parts = []
    if tail and tail[0] == below[0]:
        parts.append(f"the checkpoints stay below the band from epoch {tail[0]} on")
    elif below:
        parts.append(f"the checkpoints of epoch{'s' * (len(below) > 1)} {epochs_text(below)} lie "
                     "below the band")
    else:
        parts.append(f"no checkpoint before epoch {last} lies below the band")
    if inside:
        parts.append(f"those of epoch{'s' * (len(inside) > 1)} {epochs_text(inside)} reach into it")
    if above:
        parts.append(f"those of epoch{'s' * (len(above) > 1)} {epochs_text(above)} lie above it")
    return (f"In this run (the band: {lo:.1f}-{hi:.1f}% of the test images) "
            + prose.join(parts) + ".")


def figure6_reading(X, who, when, R) -> str:
    """Figure 6's caption, last sentence: whether the trajectories keep apart, by the
    nearest-neighbour purity in the original space (the claims row decides it with an
    interval)."""
    p = neighbour_purity(X, who)
    p_late, first, last = late_purity(X, who, when)
    look = ("keep to their own regions" if p >= 0.9 else "mix" if p < 0.5 else "partly mix")
    return (f"In this run they {look}: the nearest neighbour of {p:.0%} of the checkpoints is "
            f"from their own run ({p_late:.0%} of those of {epoch_range(first, last)}; "
            f"chance about {1 / len(R):.0%}).")


def figure10_reading(curves: dict) -> str:
    """Figure 10's caption, last sentence: which lines score better or worse than the plain
    ensemble at every ensemble size, in accuracy and in Brier score."""
    base = curves["independent"]
    worse, better, mixed = [], [], []
    for k, c in curves.items():
        if k == "independent":
            continue
        name = plots.METHOD_STYLE[k]["label"]
        acc = np.asarray(c["acc"]) - np.asarray(base["acc"])
        brier = np.asarray(base["brier"]) - np.asarray(c["brier"])   # > 0: better
        if (acc < 0).all() and (brier < 0).all():
            worse.append(name)
        elif (acc > 0).all() and (brier > 0).all():
            better.append(name)
        else:
            mixed.append(name)
    parts = []
    if worse:
        parts.append(f"{prose.join(worse)} score{'s' * (len(worse) == 1)} worse than the plain "
                     "ensemble at every $m$, in accuracy and in Brier score")
    if better:
        parts.append(f"{prose.join(better)} score{'s' * (len(better) == 1)} better at every $m$ "
                     "in both")
    if mixed:
        parts.append(f"{prose.join(mixed)} {'is' if len(mixed) == 1 else 'are'} better at some "
                     "sizes or by one score and worse at others")
    return "In this run " + "; ".join(parts) + "."


@dataclasses.dataclass
class Facts:
    """What the closing section reads besides the claims table (see :func:`facts`)."""

    profile: str
    model: str
    variant: str
    runs: int
    epochs: int
    schedule: str
    optimizer: str
    warmup: float
    dropout: float
    acc_mean: float      # mean test accuracy of the runs, %
    acc_sd: float        # its SD across the runs, pp
    ensemble_acc: float  # the ensemble of all runs, %
    levels: dict         # epoch_levels(R)
    lr_share: dict       # epoch -> the learning rate there as a share of the recipe's
    purity_late: float   # nearest-neighbour purity of the later half of the kept checkpoints
    late_from: int       # ... its first epoch
    samples_near: int    # Figure 8's samples (around the first three runs)
    m1_opt: float        # accuracy at m = 1 on the scoring half: the optimum, %
    m1_avg: tuple        # (lowest, highest) of the WA and the samplers' averages there, %
    wa_acc: float        # the weight average of the late iterates, mean over runs, %
    swag_epochs: tuple
    share: tuple         # the optima's diversity / the uncorrelated limit: (mean, lowest, highest)
    batchnorm: bool      # whether the network has batch norm
    milestones: tuple = ()   # the schedule's milestones (halving: its period)
    band_top: float = float("nan")   # the highest normalised diversity of the plane's samples
    #                                  within 3 pp of the optima's accuracy
    optima_nd: tuple = (float("nan"),) * 2   # the optima's normalised diversity: lowest, highest
    member_drop: tuple = (float("nan"),) * 2   # accepted samples' mean accuracy minus their runs'
    #                                            final accuracy, pp (whole test set): per sampler,
    #                                            the lowest and the highest


def facts(P) -> Facts:
    """The :class:`Facts` of this run (from the memoized runs and studies: nothing is trained
    or sampled again)."""
    P, R = independent_runs(P)
    S = subspace_study(P)
    labels = R[0].labels
    acc = 100 * np.array([metrics.accuracy(r.probs(), labels) for r in R])
    ens = 100 * metrics.accuracy(metrics.ensemble_probs([r.probs() for r in R]), labels)
    X, who, when = prediction_vectors(R, [e for e in P.save_epochs if e > 0], P.tsne_examples)
    p_late, late_from, _ = late_purity(X, who, when)
    _, _, kind = tsne_with_samples(S, n_runs=3, per_sampler=5)
    curves = method_curves(S)
    averages = [100 * c["acc"][0] for k, c in curves.items() if k != "independent"]
    n_train = P.n_train or len(data.load(P.dataset).train_y)
    levels = epoch_levels(R)
    pl = plane_summary(S)
    sh, od = pl.share, pl.points["independent"][1]
    drops = []
    for smp in subspace.SAMPLERS:
        ms = [m for run_ms in S.members[smp] for m in run_ms]
        if ms:
            drops.append(100 * np.mean([metrics.accuracy(m.probs, labels)
                                        - metrics.accuracy(R[m.run].probs(), labels) for m in ms]))
    shown = levels["below"] + levels["inside"] + levels["above"]
    return Facts(
        profile=P.profile, model=P.model, variant=R[0].variant, runs=len(R), epochs=P.epochs,
        schedule=P.schedule, optimizer=P.optimizer, warmup=P.warmup_epochs, dropout=P.dropout,
        acc_mean=float(acc.mean()), acc_sd=float(acc.std(ddof=1)) if len(acc) > 1 else float("nan"),
        ensemble_acc=float(ens), levels=levels,
        lr_share={e: lr_share(R[0].spec, e, n_train) for e in shown + [P.epochs - 1]},
        purity_late=p_late, late_from=late_from,
        samples_near=int((kind < 0).sum()),
        m1_opt=100 * curves["independent"]["acc"][0],
        m1_avg=(min(averages), max(averages)) if averages else (float("nan"),) * 2,
        wa_acc=100 * float(np.mean([metrics.accuracy(w, labels) for w in S.wa])),
        swag_epochs=tuple(P.swag_epochs),
        share=(float(sh.mean()), float(sh.min()), float(sh.max())) if len(sh) else (float("nan"),) * 3,
        batchnorm=any(isinstance(m, torch.nn.BatchNorm2d) for m in R[0].model().modules()),
        milestones=tuple(P.milestones),
        band_top=float(pl.nd[pl.band].max()) if pl.band.any() else float("nan"),
        optima_nd=(float(od.min()), float(od.max())) if len(od) else (float("nan"),) * 2,
        member_drop=(min(drops), max(drops)) if drops else (float("nan"),) * 2)


ACC, SD, DIS = ("ResNet20v1 test accuracy", "Different seeds reach", "Cross-seed disagreement of")
WITHIN, RATIO = "Within one ResNet20v1 trajectory", "Cross-seed disagreement far exceeds"
COS, LATE_COS, ISLAND = "Weights of different seeds", "Late checkpoints of a", "Each seed is its own"
ENSEMBLE, SMALL = "Ensembles of independent seeds", "SmallCNN reaches"
NEAR, PLANE, UPPER = "Subspace samples stay", "At comparable accuracy", "Even independent optima"
D3, SECOND = "The one-parameter family", "A second independent run"
COMPLEMENT, WA = "Subspace sampling and ensembling", "Weight averaging of late"
JS, JS_GROWS, BRIER = "Members of independent runs", "The JS gap between", "Under the strongest"
MC, MC_RATIO = "MC dropout stays", "MC-dropout diversity"

CLOSING_KEYS = ("close_summary", "close_scale", "close_trajectory", "close_islands", "close_part2",
                "close_complement", "close_correlated", "close_rest")


def _recipe(F: Facts) -> str:
    """'SGD with momentum, a 2-epoch warmup, cosine decay to zero' and the like."""
    opt = "SGD with momentum" if F.optimizer == "sgd" else F.optimizer.capitalize()
    warm = f", a {F.warmup:g}-epoch warmup" if F.warmup else ""
    every = f" every {F.milestones[0]} epochs" if F.milestones else " on a schedule"
    sched = {"cosine": ", cosine decay to zero", "halving": f", the rate halved{every}",
             "step": ", a step schedule", "const": ", a constant rate"}.get(
        F.schedule, f", schedule {F.schedule}")
    return opt + warm + sched


def _pct_span(r: claims.Claim, decimals: int = 0) -> str:
    """A row's interval as '26-34%' (a share, or with ``decimals`` a value already in %)."""
    if not r.interval:
        return "none"
    lo, hi = r.interval
    if not decimals:
        lo, hi = 100 * lo, 100 * hi
    return f"{lo:.{decimals}f}-{hi:.{decimals}f}%"


def _contains(r: claims.Claim, value: float) -> bool:
    return bool(r.interval) and r.interval[0] <= value <= r.interval[1]


def _zero_hits_needed(share: float = 0.05) -> int:
    """Samples with no hit that bound a share below ``share`` (Clopper-Pearson, 95%)."""
    return int(np.ceil(np.log(0.025) / np.log(1 - share)))


def closing_reading(P, T: claims.ClaimsTable, F: Facts) -> dict:
    """The paragraphs of 'What this shows' (:data:`CLOSING_KEYS`) from the claims table ``T`` and
    the run's :class:`Facts` ``F``: each sentence that reports a result is the one its row's
    verdict calls for."""
    if T.untested():
        return dict.fromkeys(CLOSING_KEYS, T.untested())
    H, D, I, N = claims.HOLDS, claims.DIFFERS, claims.INCONCLUSIVE, claims.NOT_TESTABLE
    say, find = T.say, T.find
    model, data_name = models.display_name(F.model), data.PROSE_NAMES.get(F.variant, F.variant)
    resnet = find(ACC).verdict != N
    chance = f"{1 / F.runs:.0%}"
    last = F.epochs

    # -- what was run
    dis = find(DIS)
    err = 100 - F.acc_mean
    ratio = dis.measured / err if err else float("nan")
    how_often = ("nearly as often as each run is wrong" if 0.75 <= ratio < 1 else
                 "more often than each run is wrong" if ratio >= 1 else
                 f"{ratio:.0%} as often as each run is wrong")
    jpeg = " (the sources use CIFAR-10 itself)" if F.variant == "cifar10-jpeg" else ""
    sd_source = resnet and _contains(find(SD), 0.18)
    summary = (
        f"This page is the `{F.profile}` edition: {F.runs} runs of {model}"
        + (f", the sources' network, on {data_name}{jpeg}" if resnet else f" on {data_name}") + ". "
        f"They reach {F.acc_mean:.2f}% ± {F.acc_sd:.2f}% (mean ± SD"
        + ("; the source's three runs, 89.95% ± 0.18%" if resnet else "") + ") and two of them "
        f"disagree on {dis.measured:.2f}% of the test images on average (95% interval "
        f"{_pct_span(dis, 2)}" + ("; the source, 10.97%" if resnet else
                                  "; the source's 10.97% is ResNet20v1's")
        + f"), {how_often} (mean test error {err:.2f}%). "
        + say(SD, {H: "The SD across seeds, {m}, passes the test ({test}) over its whole interval "
                      "({ci})" + (", which contains the source's 0.18 pp." if sd_source else "."),
                   D: "The SD across seeds, {m}, is above the test's bound ({test}) over its whole "
                      "interval ({ci}): these seeds do not reach the same accuracy.",
                   I: "Whether the SD across seeds, {m}, stays below the test's bound ({test}) is "
                      "undecided (interval {ci})."})
        + f" The ensemble of all {F.runs} reaches {F.ensemble_acc:.2f}%, "
        + say(ENSEMBLE, {H: "{m} over its members on average (interval {ci}): their errors differ "
                            "enough to cancel.",
                         D: "only {m} over its members on average (interval {ci}, against a test of "
                            "{test}).",
                         I: "{m} over its members on average, an interval ({ci}) that straddles the "
                            "test's {test}."}))

    # -- against the sources' scale
    shape = ("the rows about ResNet20v1's figures are not testable, and those about the shape of "
             "the phenomenon (the same accuracy, different functions) are tested.")
    if resnet:
        bar = accuracy_bar(F.variant)
        pairs = ((DIS, "the cross-seed disagreement", "10.97%", 10.97),
                 (SD, "the SD across seeds", "0.18 pp", 0.18))
        lands = [(what, fig) for start, what, fig, v in pairs if _contains(find(start), v)]
        misses = [(what, fig) for start, what, fig, v in pairs if not _contains(find(start), v)]
        agree = ""
        if lands:
            agree += (f" Our interval{'s' * (len(lands) > 1)} of {prose.join([w for w, _ in lands])} "
                      f"contain{'s' * (len(lands) == 1)} the source's "
                      f"{prose.join([f for _, f in lands])}.")
        if misses:
            agree += (f" Our interval{'s' * (len(misses) > 1)} of {prose.join([w for w, _ in misses])} "
                      f"do{'es' * (len(misses) == 1)} not contain the "
                      f"source's {prose.join([f for _, f in misses])}.")
        scale = (
            f"Each run trains for {F.epochs} epochs ({_recipe(F)}) on {data_name}; Fort et al. "
            "train ResNet20v1 with Adam and the learning-rate schedule of the Keras example they "
            "cite (seed 004 §3; the paper prints neither the schedule nor the epochs), and seed 000 "
            "gives no schedule. "
            + say(ACC, {D: f"The mean accuracy misses the {bar:g}% bar that we set for this copy of "
                           f"the data by {bar - F.acc_mean:.1f} points; this run does not isolate the "
                           "cause (the training's length, its precision, the recipe or the data).",
                        H: f"The mean accuracy clears the {bar:g}% bar that we set for this copy of "
                           "the data ({m}, interval {ci}).",
                        I: f"Whether the mean accuracy clears the {bar:g}% bar that we set for this "
                           "copy of the data is undecided ({m}, interval {ci})."})
            + agree
            + (f" The cross-seed cosine of the weights ({find(COS).measured_text}) "
               + ("agrees with the source's 0.105." if _contains(find(COS), 0.105) else
                  "does not agree with the source's 0.105 (below).")))
    else:
        scale = (f"At this profile the runs are {model} trained for {F.epochs} epochs ({_recipe(F)}) "
                 f"on {data_name}, not ResNet20v1: " + shape)
        if find(SMALL).verdict != N:
            scale += " " + say(SMALL, {
                H: "At its epoch-10 checkpoint SmallCNN reaches {m} (interval {ci}), within the "
                   "test's band around Fort et al.'s 64% after 10 epochs.",
                D: "At its epoch-10 checkpoint SmallCNN reaches {m} (interval {ci}), outside the "
                   "test's band around Fort et al.'s 64% after 10 epochs ({test}); the row's note "
                   "gives our reading.",
                I: "At its epoch-10 checkpoint SmallCNN reaches {m} (interval {ci}), undecided "
                   "against the test's band around Fort et al.'s 64% after 10 epochs ({test})."})

    # -- within a trajectory
    L = {k: [e for e in v if e >= last / 2] if k != "band" else v for k, v in F.levels.items()}
    high = L["above"] + L["inside"]
    below_not_low = [e for e in L["below"] if e not in L["low"]]

    def ep(es):
        return f"epoch{'s' * (len(es) > 1)} {epochs_text(es)}"
    groups = [(L["above"], "more than other runs do"),
              (L["inside"], "about as much as other runs do (they reach into the band of "
                            "cross-seed disagreement)"),
              (below_not_low, "less than other runs do, but on more than 5% in some runs"),
              (L["low"], "on at most 5% in every run")]
    levels = [f"{'the checkpoints' if i == 0 else 'those'} of {ep(es)} disagree with "
              f"{'their final model' if i == 0 else 'it'} {what}"
              for i, (es, what) in enumerate((es, what) for es, what in groups if es)]
    e_hi = max(high) if high else None
    w, lc = find(WITHIN), find(LATE_COS)
    w_m, w_ci = (f"{w.measured:.2f}%", _pct_span(w, 2)) if w.measured is not None else ("n/a", "none")
    lc_m, lc_ci = (f"{lc.measured:.4f}", f"{lc.interval[0]:.4f} to {lc.interval[1]:.4f}") \
        if lc.interval else (lc.measured_text, "none")
    trajectory = (
        say(WITHIN, {H: "Seed 000 puts the disagreement between checkpoints of one run at 1-5%, and "
                        "so do these runs: the checkpoints of the second half of training disagree "
                        f"with their final model on {w_m} on average (interval {w_ci}).",
                     D: "Seed 000 puts the disagreement between checkpoints of one run at 1-5%. We "
                        "test the checkpoints of the second half of training against the final "
                        f"model, as we fixed before training, and that gives {w_m} (interval "
                        f"{w_ci}), so the row differs.",
                     I: "Whether the checkpoints of the second half of training disagree with their "
                        "final model on only 1-5%, as seed 000 says, is undecided "
                        f"({w_m}, interval {w_ci}).",
                     N: "Seed 000's 1-5% within one trajectory is a ResNet20v1 figure, not testable "
                        "at this profile."})
        + " " + say(RATIO, {H: "Across seeds the runs disagree {m} as much as within a trajectory "
                               "(interval {ci}), more than twice, as the test asks.",
                            D: "The ratio of the cross-seed to the within-trajectory disagreement is "
                               "{m} (interval {ci}), against the > 2 the test asks.",
                            I: "Whether the runs disagree more than twice as much across seeds as "
                               "within a trajectory is undecided ({m}, interval {ci})."})
        + " " + say(LATE_COS, {H: "In weight space the late checkpoints point the same way as their "
                                  f"final weights (mean cosine {lc_m}, interval {lc_ci}).",
                               D: "In weight space the late checkpoints do not point the same way as "
                                  f"their final weights (mean cosine {lc_m}, interval {lc_ci}).",
                               I: "Whether the late checkpoints point the same way as their final "
                                  f"weights is undecided (mean cosine {lc_m}, interval {lc_ci})."})
        + (" Figure 4 shows the levels the within-trajectory mean mixes: " + "; ".join(levels) + "."
           if levels else "")
        + (f" Our reading: at epoch {e_hi}, the latest checkpoint that reaches the band, the "
           f"learning rate is still {F.lr_share[e_hi]:.0%} of its peak ({F.lr_share[last - 1]:.1%} "
           "in the last epoch), so a run keeps changing its predictions until late."
           if e_hi is not None else "")
        + (" Seed 000 gives neither its schedule nor which checkpoints it compared; Fort et al.'s "
           "ResNet20v1 follows the schedule of a Keras example that the paper cites but does not "
           "print, and their trajectory figure (Fig 2) is of a SmallCNN whose rate halves every "
           "10 epochs." if resnet and w.verdict != H else ""))

    # -- islands
    near = find(NEAR)
    if near.measured is None or near.measured != near.measured:
        near_text = "no sample was accepted around the first three runs"
    elif near.measured == 1:
        near_text = (f"each of the {F.samples_near} samples drawn around the first three runs has "
                     "its nearest checkpoint, among those three runs', in its own run (Figure 8; "
                     "chance 1/3)")
    else:
        near_text = (f"{near.measured:.0%} of the {F.samples_near} samples drawn around the first "
                     "three runs have their nearest checkpoint, among those three runs', in their "
                     f"own run (interval {_pct_span(near)}; Figure 8; chance 1/3)")
    low_text = (f"the checkpoints of {ep(F.levels['low'])} agree with their run's final model to "
                "within 5% (Figure 4)" if F.levels["low"] else
                "no checkpoint before the last agrees with its final model to within 5% (Figure 4)")
    isl = find(ISLAND)
    isl_m, isl_ci = f"{isl.measured:.0%}", _pct_span(isl)
    where = (f"{isl_m} of the checkpoints after initialization (interval {isl_ci}; chance about "
             f"{chance}) and for {F.purity_late:.0%} of those of {epoch_range(F.late_from, last)}")
    islands = (
        say(ISLAND, {H: "Each seed is its own island: measured in the original space, a checkpoint's "
                        f"nearest neighbour comes from its own run for {where}. One level down too, ",
                     D: "The trajectories are not islands: measured in the original space, a "
                        f"checkpoint's nearest neighbour comes from its own run for {where} (the "
                        "later half of the kept checkpoints), so the island row differs. Modes are "
                        "still there, one level down: ",
                     I: "Whether each seed is its own island is undecided: a checkpoint's nearest "
                        f"neighbour comes from its own run for {where}. One level down, "})
        + f"two final models disagree on {dis.measured:.2f}% of the images while {low_text}, and "
        f"{near_text}.")

    # -- part 2
    core_rows = (SECOND, JS, JS_GROWS, BRIER)
    core = [find(x).verdict for x in core_rows]
    plane = find(PLANE)
    bound = f"{float(plane.test.split()[-1]):.0%}"   # the test '< 0.05' as a share
    second, js, brier = find(SECOND), find(JS), find(BRIER)
    best = second.note.split("best sampler at m = 1: ")[-1].split(",")[0] \
        if "best sampler at m = 1: " in second.note else ""
    with_best = f" with the best sampler ({best}" if best else " (with the best sampler"
    sec_m = f"{abs(second.measured):.2f} pp" if second.measured is not None else "n/a"
    js_m = f"{js.measured:+.4f} nats" if js.measured is not None else "n/a"
    br_m = f"{brier.measured:.4f}" if brier.measured is not None else "n/a"
    lo_nd, hi_nd = F.optima_nd
    if plane.measured is None:
        plane_text = "No subspace sample came within 3 points of the optima's accuracy."
    else:
        plane_text = say(PLANE, {
            H: "The independent optima dominate the plane: among the subspace samples within 3 "
               "points of their accuracy, the share as diverse as the least diverse optimum is {m} "
               "(interval {ci}).",
            D: "The optima do not dominate the plane: among the subspace samples within 3 points of "
               "their accuracy, the share as diverse as the least diverse optimum is {m} (interval "
               "{ci}).",
            I: "Among the subspace samples within 3 points of the optima's accuracy, the share as "
               "diverse as the least diverse optimum is {m} (interval {ci}), and the interval does "
               f"not reach below {bound}, so the row is inconclusive."})
        if plane.measured == 0 and F.band_top == F.band_top:
            plane_text += (f" None comes close: their normalised diversity is at most "
                           f"{F.band_top:.2f}, against the optima's {lo_nd:.2f}-{hi_nd:.2f}"
                           + (f"; with no sample as diverse, {_zero_hits_needed()} samples would "
                              f"bound the share below {bound}." if plane.verdict == I else "."))
    part2 = (
        "Part 2 puts the cheap alternatives to a second run to the test. "
        + say(D3, {H: "Around one optimum the samplers trade accuracy for diversity (Figure 9) along "
                      "Appendix D.3's family with an exponent below 1 ({m}, interval {ci}; the "
                      "source fits 0.22 to ResNet20v1 on CIFAR-100, and only e < 1 is tested): a "
                      "sample is more likely to change the predictions the reference got wrong than "
                      "those it got right.",
                   D: "Around one optimum the exponent of Appendix D.3's family fitted to the "
                      "samples is not below 1 ({m}, interval {ci}; Figure 9).",
                   I: "Whether the exponent of Appendix D.3's family fitted to the samples is below 1 "
                      "is undecided ({m}, interval {ci}; Figure 9)."})
        + " " + plane_text
        + " " + say(SECOND, {H: f"A two-run ensemble is {sec_m} more accurate than one run's "
                                f"averaged samples{with_best}; interval {{ci}}; Figure 10);",
                             D: "A two-run ensemble is not more accurate than one run's averaged "
                                f"samples{with_best}; {{m}}, interval {{ci}}; Figure 10);",
                             I: "Whether a two-run ensemble is more accurate than one run's averaged "
                                "samples is undecided ({m}, interval {ci}; Figure 10);"})
        + " " + say(JS, {H: "averaged over the five corruption families, the independent members' JS "
                            "divergence is above every other method's at every intensity (smallest "
                            f"gap {js_m}, interval {{ci}});",
                         D: "the independent members' JS divergence is not above every other "
                            f"method's at every intensity (smallest gap {js_m}, interval {{ci}});",
                         I: "whether the independent members' JS divergence is above every other "
                            f"method's at every intensity is undecided (smallest gap {js_m}, "
                            "interval {ci});"})
        + " " + say(JS_GROWS, {H: "their lead grows from the clean images to the strongest intensity "
                                  "({m}; the interval {ci} resamples the five families);",
                               D: "their lead does not grow from the clean images to the strongest "
                                  "intensity ({m}, interval {ci} over the families);",
                               I: "whether their lead grows with shift is undecided ({m}, interval "
                                  "{ci} over the families);"})
        + " and " + say(BRIER, {H: "under the strongest shift the ensemble of independent runs has "
                                   "the lowest Brier score of the methods compared here (independent "
                                   "members against samples of each sampler around the first run, "
                                   f"and one model), {br_m} below the next (interval {{ci}}; "
                                   "Figure 11).",
                                D: "under the strongest shift the ensemble of independent runs does "
                                   "not have the lowest Brier score of the methods compared here "
                                   "({m}, interval {ci}; Figure 11).",
                                I: "whether the ensemble of independent runs has the lowest Brier "
                                   "score of the methods compared here under the strongest shift is "
                                   "undecided ({m}, interval {ci}; Figure 11)."})
        + (" This is the heart of Fort et al.'s argument, and these four rows hold here."
           if core == [H] * len(core_rows) else
           f" This is the heart of Fort et al.'s argument; here {core.count(H)} of these four rows "
           f"hold, {core.count(D)} differ and {core.count(I)} "
           f"{'is' if core.count(I) == 1 else 'are'} undecided."))

    # -- complementarity
    lo, hi = F.m1_avg
    rel = ("less accurate than" if hi < F.m1_opt else "more accurate than" if lo > F.m1_opt
           else "on both sides of")
    k = len(F.swag_epochs)
    c, wa = find(COMPLEMENT), find(WA)

    def worse(r):   # a 'Brier ... better' row as how much worse, with its interval
        a, b = r.interval or (float("nan"),) * 2
        return f"by {-r.measured:.4f} (interval {-b:.4f} to {-a:.4f})"

    def better(r):
        a, b = r.interval or (float("nan"),) * 2
        return f"by {r.measured:.4f} (interval {a:.4f} to {b:.4f})"

    d_lo, d_hi = F.member_drop
    moving = [e for e in F.swag_epochs if e < last]
    complement = (
        say(COMPLEMENT, {H: "Replacing each run's optimum by the average of its subspace samples "
                            f"improved the {F.runs}-member ensemble's Brier score {better(c)}, with "
                            "the best sampler,",
                         D: "Replacing each run's optimum by the average of its subspace samples "
                            f"made the {F.runs}-member ensemble's Brier score worse, not better, "
                            f"{worse(c)}, even with the best sampler,",
                         I: "Whether replacing each run's optimum by the average of its subspace "
                            f"samples improved the {F.runs}-member ensemble's Brier score is "
                            "undecided ({m}, interval {ci}),"})
        + " and " + say(WA, {H: f"replacing it by the weight average of its last {k} iterates "
                                f"improved it{' too' if c.verdict == H else ''}, {better(wa)}.",
                             D: f"replacing it by the weight average of its last {k} iterates made "
                                f"it worse {worse(wa)}.",
                             I: "whether replacing it by the weight average of its last "
                                f"{k} iterates improved it is undecided ({{m}}, interval {{ci}})."})
        + f" At $m = 1$ the averages are {rel} the optimum ({lo:.1f}-{hi:.1f}% against "
        f"{F.m1_opt:.2f}% on the held-out half of the test set)."
        + (f" The accepted samples are on average {-d_hi:.1f} to {-d_lo:.1f} points less accurate "
           "than their optimum (each sampler's mean, on the whole test set)." if d_hi < 0 else "")
        + (f" Our reading: the learning rate is down to {F.lr_share[last - 1]:.1%} of its peak in "
           f"the last epoch, but the iterates of {ep(moving)} are still moving (Figure 4), so "
           "their average lies behind the final weights (on the whole test set the weight average "
           f"scores {F.wa_acc:.2f}% against the final weights' {F.acc_mean:.2f}%)."
           if D in (c.verdict, wa.verdict) and F.wa_acc < F.acc_mean and moving
           and F.lr_share[last - 1] < 0.02 else "")
        + " The sampler strengths are our choice (the source gives none): narrowing "
        "`random_range`, `dropout_range` or `gauss_range` tests a milder version.")

    # -- correlated errors
    mean, lo_s, hi_s = F.share
    correlated = say(UPPER, {
        H: "Seed 000 explains why ensembles work by independent failure modes; our independent "
           f"optima reach {mean:.0%} of the uncorrelated limit of Appendix D.1 on average (interval "
           f"{_pct_span(find(UPPER))}; each {100 * lo_s:.0f}-{hi_s:.0%}): their errors are "
           + ("strongly correlated" if mean < 0.7 else "correlated")
           + (", and ensembling helps anyway." if find(ENSEMBLE).verdict == H else "."),
        D: "Our independent optima reach the uncorrelated limit of Appendix D.1 ({m}, interval "
           "{ci}): their errors are as independent as seed 000's explanation of ensembles assumes.",
        I: "Whether our independent optima stay below the uncorrelated limit of Appendix D.1 is "
           "undecided ({m}, interval {ci})."})

    # -- the rows this profile cannot test, and MC dropout
    rest = []
    if not resnet:
        n = sum(find(x).verdict == N for x in (ACC, DIS, WITHIN, MC))
        rest.append(f"The {n} rows about ResNet20v1's figures are not testable at this profile, "
                    f"whose network is {model}.")
    if find(SMALL).verdict == N:
        rest.append("The 64% row belongs to Fort et al.'s SmallCNN on full CIFAR-10, which this "
                    "profile does not train.")
    if F.dropout == 0:
        rest.append(f"{model} as trained here has no dropout (seed 004 lists dropout only for its "
                    "SmallCNN and MediumCNN), so the MC-dropout rows are not testable.")
    else:
        rest.append(say(MC_RATIO, {
            H: "MC-dropout passes of one network disagree {m} less often than independent runs do "
               "(interval {ci}): dropout samples within a mode.",
            D: "MC-dropout passes of one network disagree nearly as often as independent runs do "
               "(cross-seed over MC: {m}, interval {ci}, against {test}).",
            I: "Whether MC-dropout passes disagree well below independent runs is undecided ({m}, "
               "interval {ci})."}))
        mc = find(MC)
        rest.append(say(MC, {H: "Its passes disagree on {m} (interval {ci}), inside seed 000's 1-5%.",
                             D: "Its passes disagree on {m} (interval {ci}), outside seed 000's 1-5%.",
                             I: "Whether its passes disagree on only 1-5% is undecided ({m}, "
                                "interval {ci}).",
                             N: "Its passes disagree on {m} (interval {ci}); seed 000's 1-5% is "
                                "ResNet20v1's, so that row is not tested."})
                    if mc.measured is not None else "")
    cos = find(COS)
    if resnet and not _contains(cos, 0.105) and cos.measured > 0.105:
        close = cos.interval and cos.verdict == H and float(cos.test.split()[-1]) - cos.interval[1] < 0.02
        rest.append(f"The weights' cosine across seeds ({cos.measured_text}) "
                    + (f"passes its test, {cos.test}, "
                       + (f"by little (interval up to {cos.interval[1]:.3f}), " if close else "")
                       + "but " if cos.verdict == H else "")
                    + "is higher than the source's 0.105; we have not isolated why"
                    + (" (batch-norm scales, which start at 1 in every run, are one component all "
                       "runs share)." if F.batchnorm else "."))
    return dict(zip(CLOSING_KEYS, (summary, scale, trajectory, islands, part2, complement,
                                   correlated, " ".join(x for x in rest if x)
                                   or "Every row is tested at this profile.")))
