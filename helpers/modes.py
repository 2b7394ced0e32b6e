"""Modes: comparing runs and checkpoints in function space and weight space (chapter 03).

These are the analyses of Fort, Hu & Lakshminarayanan (seed 004, §4.1, Figs 2-3) and of seed 000
§3, written over cached runs (``helpers.runs.Run``): trajectories of checkpoints, matrices of
pairwise disagreement and cosine similarity, a t-SNE of the checkpoints' softmax outputs, a
nearest-neighbour test of "each seed is its own island", and ensembles of 1..R members.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import time

import numpy as np
import torch

from . import config, corruptions, data, metrics, runs, subspace, train


def specs(P, seeds: int | None = None) -> list[train.Spec]:
    """One spec per independent seed (1..R) from a chapter's parameters ``P``."""
    base = train.Spec(
        model=P.model, width=P.width, dropout=P.dropout, dataset=P.dataset, n_train=P.n_train,
        n_test=P.n_test, epochs=P.epochs, batch_size=P.batch_size, optimizer=P.optimizer, lr=P.lr,
        momentum=P.momentum, weight_decay=P.weight_decay, schedule=P.schedule,
        warmup_epochs=P.warmup_epochs, milestones=tuple(P.milestones), gamma=P.gamma,
        augment=P.augment, deterministic=P.deterministic,
        save_epochs=tuple(sorted(set(P.save_epochs) | set(P.swag_epochs))),
    )
    return [base.with_seed(P.seed_base + s) for s in range(1, (seeds or P.seeds) + 1)]


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


@functools.lru_cache(maxsize=8)
def independent_runs(profile: str = "auto", dataset: str = "auto", **overrides):
    """The chapter's parameters and its R independently seeded runs (trained once, then cached).

    Every cell of the chapter starts with this call, so any cell can run on its own after the
    imports and the parameters cell: the first call trains (or loads from ``data/runs``), later
    calls return the same objects at once.
    """
    P = config.chapter_params("03_modes", profile, dataset=dataset, **overrides)
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


@functools.lru_cache(maxsize=4)
def subspace_study(profile: str = "auto", dataset: str = "auto", **overrides) -> Study:
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
    P, R = independent_runs(profile, dataset=dataset, **overrides)
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

    plane = [sample(0, s, subspace.strength(s, (i + 0.5) / P.plane_samples, rng), _seed(0, s, 900 + i, P.seed_base))
             for s in subspace.SAMPLERS for i in range(P.plane_samples)]
    members, tried = {}, {}
    for s in subspace.SAMPLERS:
        members[s], tried[s] = [], 0
        for r in range(len(R)):
            kept = []
            for i in range(4 * P.samples):
                if len(kept) == P.samples:
                    break
                seed = _seed(r, s, i, P.seed_base)
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


def mc_dropout_disagreement(study: Study) -> dict:
    """MC dropout of the first run (seed 000 §3): mean pairwise disagreement between its passes,
    and between each pass and the deterministic network (fractions); empty without dropout."""
    if not study.mc:
        return {}
    final = study.R[0].probs()
    return dict(pairwise=metrics.mean_pairwise(metrics.disagreement, study.mc),
                to_final=float(np.mean([metrics.disagreement(p, final) for p in study.mc])))


@functools.lru_cache(maxsize=4)
def shift_study(profile: str = "auto", dataset: str = "auto", **overrides) -> list[dict]:
    """Accuracy, Brier score and Jensen-Shannon divergence under dataset shift (Fort et al. Fig 9).

    On ``P.shift_examples`` test images, for every corruption family and intensity 0..5
    (:mod:`helpers.corruptions`), each *method* contributes ``P.shift_members`` members:
    'independent' (the optima of the first runs), one per sampler (accepted samples around the
    first run, re-drawn from their seeds), 'MC dropout' (passes of the first run) and 'single'
    (the first run alone). Returns rows ``dict(family, intensity, method, acc, brier, js,
    member_acc)``: acc and brier of the members' averaged probabilities, js between the members,
    member_acc the members' mean accuracy. Intensity 0 (clean) is computed once, under family 'clean'.
    """
    study = subspace_study(profile, dataset=dataset, **overrides)
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
    return dict(family=fam, intensity=inten, method=name, acc=metrics.accuracy(p, y),
                brier=metrics.brier(p, y), js=metrics.js_divergence(probs) if len(probs) > 1 else 0.0,
                member_acc=float(np.mean([metrics.accuracy(q, y) for q in probs])))


def shift_by_intensity(rows: list[dict], key: str) -> dict:
    """``{method: array over intensity 0..5}`` of ``key`` averaged over the corruption families
    (intensity 0 is the clean test set)."""
    out = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        vals = [np.mean([r[key] for r in rows if r["method"] == m and r["intensity"] == i]) for i in range(6)]
        out[m] = np.array(vals)
    return out
