"""Lottery tickets (chapter 02): iterative magnitude pruning over cached runs, its controls, and the
analyses of Frankle & Carbin (2019; seed 003) and of seed 000 §2.

* :func:`imp` -- iterative magnitude pruning: train the dense network, prune a fraction of the
  surviving weights (:func:`helpers.pruning.magnitude_mask`), *reset* the survivors to their
  initial values θ0 (the same ``seed_init``) or *rewind* them to the dense run's weights at an
  early epoch (``Spec.init_from``), retrain with the mask held fixed (``Spec.mask``: pruned
  weights stay exactly zero), and repeat. Each round is one cached run.
* :func:`controls` -- at every sparsity: the same mask with a fresh random initialization
  ("reinit"), and a random mask of the same per-layer sparsity from θ0 ("random mask").
* :func:`early_stop` -- the paper's learning-speed measure: the iteration of the minimum
  validation loss and the test accuracy there. The saved test subset is split in two: even
  positions are the validation half, odd positions the test half.
* :func:`curve`, :func:`matching_extent`, :func:`seed_overlap` -- the figures' numbers.

The cached-run gates :func:`experiment`, :func:`resnet_experiment` and :func:`width_experiment`
are ``lru_cache``-d: every cell of the chapter starts with one of them, so any cell can run on
its own after the imports and parameters cells.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
from . import config, metrics, models, pruning, runs, train

CHAPTER = "02_lottery_tickets"
REINIT_OFFSET = 1000      # the control's fresh initialization: seed_init + 1000
RANDOM_MASK_OFFSET = 2000  # the random mask's seed: chain seed + 2000 + round


@dataclasses.dataclass
class Round:
    """One network of an IMP chain (or a control): its mask, sparsity and cached run."""

    round: int
    density: float         # fraction of prunable weights remaining (1.0 = dense)
    mask: dict | None      # None for the dense network
    run: runs.Run
    kind: str = "ticket"   # ticket | reinit | random mask


def spec_from(P, prefix: str = "", seed: int = 1, **changes) -> train.Spec:
    """The run spec of a chapter part: keys ``<prefix>model``, ``<prefix>width``, ... of ``P``.

    The Conv-k part (no prefix) keeps ``P.es_points`` evenly spaced epochs (every epoch when it
    equals ``epochs``: early stopping reads the validation loss there); the ResNet part (``rn_``) keeps the initialization, the rewind epoch and the last one
    (its figures use the final accuracy: evaluating a ResNet every epoch costs too much on a CPU)."""
    g = lambda k: getattr(P, prefix + k)  # noqa: E731
    spec = train.Spec(
        model=g("model"), width=g("width"), dataset=P.dataset, n_train=g("n_train"), n_test=P.n_test,
        epochs=g("epochs"), batch_size=g("batch_size"), optimizer=g("optimizer"), lr=g("lr"),
        momentum=P.momentum, weight_decay=g("weight_decay"), schedule=g("schedule"),
        warmup_epochs=g("warmup_epochs"), augment=g("augment"),
        save_epochs=kept_epochs(g("epochs"), P.es_points) if not prefix else (0, P.rn_rewind_epoch, g("epochs")),
    ).with_seed(seed)
    return spec.with_seed(P.seed_base + seed).replace(**changes)


def kept_epochs(epochs: int, points: int) -> tuple:
    """0 and ``points`` evenly spaced epochs up to ``epochs`` (all of them when points >= epochs)."""
    points = max(1, min(points, epochs))
    return tuple(sorted({0} | {round(i * epochs / points) for i in range(1, points + 1)}))


def prunable_weights(state: dict) -> dict:
    return {n: state[n] for n in pruning.prunable(state)}


def imp(base: train.Spec, rounds: int, rate, scope: str, reinit: str = "reset", rewind_epoch: int = 1,
        device="auto") -> list[Round]:
    """Iterative magnitude pruning from the dense run ``base``: ``rounds`` + 1 cached runs.

    ``reinit='reset'`` starts every round from θ0 (the spec's ``seed_init``); ``'rewind'`` from the
    dense run's weights (and batch-norm statistics) at ``rewind_epoch``.
    """
    if reinit not in ("reset", "rewind"):
        raise ValueError(f"unknown reinit {reinit!r}; choose one of: reset, rewind")
    dense = runs.get([base], device=device)[0]
    chain = [Round(0, 1.0, None, dense)]
    start = ""
    if reinit == "rewind":
        start = pruning.store(dense.state(rewind_epoch))
    mask = None
    for r in range(1, rounds + 1):
        mask = pruning.magnitude_mask(prunable_weights(chain[-1].run.state()), mask, rate, scope)
        spec = base.replace(mask=pruning.store(mask), init_from=start)
        chain.append(Round(r, pruning.density(mask), mask, runs.get([spec], device=device)[0]))
    return chain


def control_specs(chain: list[Round]) -> tuple[list, list]:
    """(reinit specs, random-mask specs), one per pruned round of ``chain``."""
    reinit, rand = [], []
    for rd in chain[1:]:
        s = rd.run.spec
        reinit.append(s.replace(seed_init=s.seed_init + REINIT_OFFSET, init_from=""))
        rmask = pruning.random_mask_like(rd.mask, seed=s.seed_init + RANDOM_MASK_OFFSET + rd.round)
        rand.append(s.replace(mask=pruning.store(rmask)))
    return reinit, rand


def controls(chain: list[Round], which=("reinit", "random mask"), device="auto") -> dict:
    """The controls of every pruned round: ``{'reinit': [Round], 'random mask': [Round]}``."""
    reinit, rand = control_specs(chain)
    out = {}
    for kind, specs in (("reinit", reinit), ("random mask", rand)):
        if kind not in which:
            continue
        got = runs.get(specs, device=device)
        out[kind] = [Round(rd.round, rd.density, pruning.load(s.mask), g, kind)
                     for rd, s, g in zip(chain[1:], specs, got)]
    return out


# ----------------------------------------------------------------------------------------------
# measures


def halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(validation, test) positions of the saved test subset: even and odd positions."""
    idx = np.arange(n)
    return idx[0::2], idx[1::2]


def steps_per_epoch(spec: train.Spec, n_train_total: int = 50000) -> int:
    n = spec.n_train or n_train_total
    return n // min(spec.batch_size, n)


def early_stop(run) -> dict:
    """Iteration of the minimum validation loss (over the kept epochs after 0), and the test
    accuracy / loss there; also the final test accuracy. Accuracies in [0, 1]."""
    labels = run.labels
    val, test = halves(len(labels))
    epochs = [e for e in run.epochs if e > 0]
    vloss = [metrics.nll(run.probs(e)[val], labels[val]) for e in epochs]
    best = epochs[int(np.argmin(vloss))]
    p_best, p_final = run.probs(best), run.probs()
    return dict(epoch=best, iteration=best * steps_per_epoch(run.spec),
                acc=metrics.accuracy(p_best[test], labels[test]),
                final_acc=metrics.accuracy(p_final[test], labels[test]),
                val_loss=float(np.min(vloss)))


def curve(rounds: list[Round]) -> dict:
    """Arrays over the rounds: density, early-stop iteration, accuracy there, final accuracy."""
    es = [early_stop(rd.run) for rd in rounds]
    return dict(density=np.array([rd.density for rd in rounds]),
                iteration=np.array([e["iteration"] for e in es]),
                acc=np.array([e["acc"] for e in es]),
                final_acc=np.array([e["final_acc"] for e in es]))


def matching_extent(density, acc, dense_acc: float, tol: float) -> float:
    """The smallest density reached by pruning while every network down to it stays within
    ``tol`` of ``dense_acc`` (accuracy at least dense - tol); densities in decreasing order."""
    order = np.argsort(-np.asarray(density))
    best = 1.0
    for i in order:
        if acc[i] >= dense_acc - tol:
            best = float(density[i])
        else:
            break
    return best


def seed_overlap(chain_a: list[Round], chain_b: list[Round]) -> dict:
    """Per pruned round: overlap of the two chains' masks (|a ∩ b| / |a|), what random masks of
    the same per-layer sparsities would share, the Jaccard index, and the test-half
    disagreement of the two tickets' predictions (and of the two dense networks')."""
    _, test = halves(len(chain_a[0].run.labels))
    out = dict(density=[], overlap=[], random=[], jaccard=[], disagreement=[])
    for a, b in zip(chain_a[1:], chain_b[1:]):
        out["density"].append(a.density)
        out["overlap"].append(pruning.overlap(a.mask, b.mask))
        out["random"].append(pruning.expected_random_overlap(a.mask, b.mask))
        out["jaccard"].append(pruning.jaccard(a.mask, b.mask))
        out["disagreement"].append(metrics.disagreement(a.run.probs()[test], b.run.probs()[test]))
    out = {k: np.array(v) for k, v in out.items()}
    out["dense_disagreement"] = metrics.disagreement(chain_a[0].run.probs()[test], chain_b[0].run.probs()[test])
    return out


def zero_fraction_kept(rd: Round) -> float:
    """Fraction of the pruned weights that are exactly zero in the trained run (1.0 if masks work)."""
    st = rd.run.state()
    pruned = sum(int((~m).sum()) for m in rd.mask.values())
    zeros = sum(int(((st[n] == 0) & ~m).sum()) for n, m in rd.mask.items())
    return zeros / max(1, pruned)


# ----------------------------------------------------------------------------------------------
# cached-run gates: every cell of the chapter starts with one of these


def rates(P):
    """Layer-wise pruning rates by kind (Conv-k) or one global rate."""
    if P.scope == "layer":
        return dict(conv=P.rate_conv, fc=P.rate_fc, output=P.rate_output)
    return P.rate_fc


@functools.lru_cache(maxsize=8)
def experiment(profile: str = "auto", dataset: str = "auto", **overrides):
    """Parameters, the IMP chains of ``P.seeds`` seeds (reset to θ0) and seed 1's controls."""
    P = config.chapter_params(CHAPTER, profile, dataset=dataset, **overrides)
    chains = tuple(tuple(imp(spec_from(P, seed=s), P.rounds, rates(P), P.scope, "reset", device=P.device))
                   for s in range(1, P.seeds + 1))
    ctrl = controls(list(chains[0]), device=P.device)
    return P, chains, {k: tuple(v) for k, v in ctrl.items()}


@functools.lru_cache(maxsize=8)
def resnet_experiment(profile: str = "auto", dataset: str = "auto", **overrides):
    """Parameters and, for the ResNet: the reset chain, the rewind chain, and the rewind chain's
    reinitialized controls (global pruning at ``rn_rate`` a round)."""
    P = config.chapter_params(CHAPTER, profile, dataset=dataset, **overrides)
    base = spec_from(P, "rn_")
    reset = imp(base, P.rn_rounds, P.rn_rate, "global", "reset", device=P.device)
    rewind = imp(base, P.rn_rounds, P.rn_rate, "global", "rewind", P.rn_rewind_epoch, device=P.device)
    reinit = controls(rewind, which=("reinit",), device=P.device)["reinit"]
    return P, tuple(reset), tuple(rewind), tuple(reinit)


@functools.lru_cache(maxsize=8)
def width_experiment(profile: str = "auto", dataset: str = "auto", **overrides):
    """Parameters and ``{width: IMP chain}`` (seed 1, reset) for every width in ``P.widths``."""
    P = config.chapter_params(CHAPTER, profile, dataset=dataset, **overrides)
    chains = {w: tuple(imp(spec_from(P, seed=1, width=w), P.rounds, rates(P), P.scope, "reset", device=P.device))
              for w in P.widths}
    return P, chains


def n_weights(spec: train.Spec) -> int:
    """Number of prunable weights of the spec's network."""
    net = models.build(spec.model, spec.width)
    return sum(p.numel() for n, p in net.named_parameters() if p.dim() >= 2)


def sparsity_axis(ax) -> None:
    """A log-scale x axis of "weights remaining (%)", dense on the left, with plain percent ticks."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    ticks = [t for t in (100, 50, 30, 20, 10, 5, 3, 2, 1, 0.5) if min(lo, hi) <= t <= max(lo, hi)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    if lo < hi:
        ax.invert_xaxis()
    ax.set_xlabel("weights remaining (%, log scale)")
