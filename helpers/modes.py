"""Modes: comparing runs and checkpoints in function space and weight space (chapter 03).

These are the analyses of Fort, Hu & Lakshminarayanan (seed 004, §4.1, Figs 2-3) and of seed 000
§3, written over cached runs (``helpers.runs.Run``): trajectories of checkpoints, matrices of
pairwise disagreement and cosine similarity, a t-SNE of the checkpoints' softmax outputs, a
nearest-neighbour test of "each seed is its own island", and ensembles of 1..R members.
"""
from __future__ import annotations

import functools
import itertools

import numpy as np

from . import config, metrics, runs, train


def specs(P, seeds: int | None = None) -> list[train.Spec]:
    """One spec per independent seed (1..R) from a chapter's parameters ``P``."""
    base = train.Spec(
        model=P.model, width=P.width, dropout=P.dropout, dataset=P.dataset, n_train=P.n_train,
        n_test=P.n_test, epochs=P.epochs, batch_size=P.batch_size, optimizer=P.optimizer, lr=P.lr,
        momentum=P.momentum, weight_decay=P.weight_decay, schedule=P.schedule,
        warmup_epochs=P.warmup_epochs, milestones=tuple(P.milestones), gamma=P.gamma,
        augment=P.augment, save_epochs=tuple(P.save_epochs), deterministic=P.deterministic,
    )
    return [base.with_seed(s) for s in range(1, (seeds or P.seeds) + 1)]


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
